// The components, as a library for other platform teams' Pulumi programs.

export { LocalRegistry, type LocalRegistryArgs } from "./local/local-registry";
export {
  ServerProcess,
  type MirrorSettings,
  type ServerProcessArgs,
  type UpstreamSettings,
} from "./local/server-process";
export { CertificateAuthority, type CertificateAuthorityArgs } from "./tls/certificate-authority";
export { TlsCertificate, type TlsCertificateArgs } from "./tls/tls-certificate";
export { GeneratedPassword, type GeneratedPasswordArgs } from "./secrets/generated-password";
export { parseStackConfig, stackConfigSchema, StackConfigError, type StackConfig } from "./stack-config";
export { type RegistryConnection } from "./registry/api-client";
export { Project, type ProjectArgs } from "./registry/project";
export { ProjectMember, type ProjectMemberArgs, type ProjectRole } from "./registry/project-member";
export { RobotAccount, projectAccess, type RobotAccountArgs, type RobotPermission } from "./registry/robot-account";
export { User, type UserArgs } from "./registry/user";
export { DeclaredContent, type DeclaredContentArgs, type RobotCredentials } from "./registry/declared-content";
export {
  RegistryEndpoint,
  REGISTRY_ENDPOINT_TYPES,
  type RegistryEndpointArgs,
  type RegistryEndpointType,
} from "./registry/registry-endpoint";
export { ProxyProject, type ProxyProjectArgs } from "./registry/proxy-project";
export { Preheat, type PreheatArgs } from "./registry/preheat";
export {
  DeclaredProxyCache,
  type DeclaredProxyCacheArgs,
  type DeclaredProxyProject,
  type DeclaredRegistryEndpoint,
} from "./registry/declared-proxy-cache";
export {
  RegistryPullSecret,
  dockerConfigJson,
  registryHost,
  validatePullSecretArgs,
  type RegistryPullSecretArgs,
} from "./kubernetes/pull-secret";
