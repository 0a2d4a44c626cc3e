/**
 * The components as a Pulumi component package, for YAML, Python, Go, C# and Java programs: the
 * classes the package's plugin (provider/ at the package's root) serves as `airlock:index:<Class>`.
 * TypeScript programs use airlock/components instead.
 *
 * @module airlock/pulumi-package
 */

export { RegistryServer, type LocalServerArgs, type RegistryServerArgs } from "./registry-server";
export {
  Project,
  ProxyProject,
  RegistryEndpoint,
  RobotAccount,
  type CveAllowlistArgs,
  type EndpointCredentialArgs,
  type ProjectArgs,
  type ProjectSecurityArgs,
  type ProxyProjectArgs,
  type RegistryEndpointArgs,
  type RobotAccessArgs,
  type RobotAccountArgs,
  type RobotPermissionArgs,
} from "./registry-content";
export { ProjectAction, RegistryEndpointKind, RegistryTarget, RobotPermissionKind } from "./schema-enums";
