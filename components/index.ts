/**
 * The components, as a library for other platform teams' Pulumi programs: `RegistryServer` on
 * every target, the registry's content as resources, TLS, secrets, zones and firewall rules.
 *
 * @module airlock/components
 */

export { LocalRegistry, type LocalRegistryArgs } from "./local/local-registry";
export { ServerProcess, type ServerProcessArgs } from "./local/server-process";
export { renderServerConfig, serverConfigText } from "./server-config/render-server-config";
export type { ServerConfigFile } from "./server-config/server-config-file";
export {
  LOG_LEVELS,
  type MirrorSettings,
  type ServerMetadataSettings,
  type ServerSettings,
  type ServerStorageSettings,
  type UpstreamSettings,
} from "./server-config/server-settings";
export { MAX_WORKERS, workersForCpuLimit, workersForTaskCpu } from "./server-config/workers";
export { isProjectName, PROJECT_NAME, PROJECT_NAME_MAX_LENGTH, PROJECT_NAME_RULE } from "./project-name";
export { CertificateAuthority, type CertificateAuthorityArgs } from "./tls/certificate-authority";
export { TlsCertificate, type TlsCertificateArgs } from "./tls/tls-certificate";
export { GeneratedPassword, type GeneratedPasswordArgs } from "./secrets/generated-password";
export {
  parseStackConfig,
  stackConfigSchema,
  StackConfigError,
  type ParsedStackConfig,
  type StackConfig,
} from "./stack-config";
export { type RegistryConnection } from "./registry/api-client";
export { Project, type ProjectArgs, type ProjectSecurityArgs } from "./registry/project";
export { SEVERITIES, type CveAllowlist, type Severity } from "./registry/project-security";
export { SystemCveAllowlist, type SystemCveAllowlistArgs } from "./registry/system-cve-allowlist";
export { Scanner, SCANNER_AUTH_TYPES, type ScannerArgs, type ScannerAuth } from "./registry/scanner";
export { ProjectMember, type ProjectMemberArgs, type ProjectRole } from "./registry/project-member";
export {
  RobotAccount,
  projectAccess,
  type RobotAccess,
  type RobotAccountArgs,
  type RobotPermission,
} from "./registry/robot-account";
export type { DeclaredMember, DeclaredRobot } from "./registry/project-access";
export { User, type UserArgs } from "./registry/user";
export {
  DeclaredContent,
  type DeclaredContentArgs,
  type DeclaredImmutableTagRule,
  type DeclaredProject,
  type DeclaredRetention,
  type DeclaredUser,
  type DeclaredWebhook,
  type DeclaredWebhookTarget,
  type RobotCredentials,
} from "./registry/declared-content";
export {
  ReplicationPolicy,
  REPLICATION_RESOURCES,
  type LabelSelector,
  type ReplicationFilters,
  type ReplicationFiltersArgs,
  type ReplicationPolicyArgs,
  type ReplicationResource,
  type ReplicationTrigger,
  type ReplicationTriggerArgs,
} from "./registry/replication-policy";
export {
  WebhookPolicy,
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_PAYLOAD_FORMATS,
  WEBHOOK_TARGET_TYPES,
  type WebhookEventType,
  type WebhookPayloadFormat,
  type WebhookPolicyArgs,
  type WebhookTargetArgs,
  type WebhookTargetType,
} from "./registry/webhook-policy";
export {
  DeclaredReplication,
  type DeclaredReplicationArgs,
  type DeclaredReplicationPolicy,
} from "./registry/declared-replication";
export {
  RetentionPolicy,
  HARBOR_PROXY_EXPIRY_DAYS,
  proxyExpiryRules,
  type RetentionPolicyArgs,
  type RetentionRule,
  type RetentionRuleArgs,
} from "./registry/retention-policy";
export { ImmutableTagRule, type ImmutableTagRuleArgs } from "./registry/immutable-tag-rule";
export { GarbageCollectionSchedule, type GarbageCollectionScheduleArgs } from "./registry/gc-schedule";
export { AuditLogPurgeSchedule, type AuditLogPurgeScheduleArgs } from "./registry/audit-purge-schedule";
export { normaliseSchedule, SCHEDULE_TYPE_CRON, type NormalisedSchedule } from "./registry/schedule";
export { type PatternSelector } from "./registry/pattern-selector";
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
export {
  RegistryServer,
  RegistryServerError,
  REGISTRY_SERVER_TARGETS,
  validateRegistryServerArgs,
  type KubernetesTargetArgs,
  type LocalTargetArgs,
  type RegistryServerArgs,
  type RegistryServerTarget,
} from "./registry-server";
export { KubernetesRegistry, type KubernetesRegistryArgs } from "./kubernetes/kubernetes-registry";
export {
  KubernetesSettingsError,
  replicaProblem,
  validateKubernetesSettings,
  type FilesystemStorage,
  type IngressSettings,
  type MetadataSettings,
  type MonitoringSettings,
  type PostgresMetadata,
  type ResourceSettings,
  type S3Storage,
  type ShapeSettings,
  type SqliteMetadata,
  type StorageSettings,
  type TlsSettings,
} from "./kubernetes/registry-settings";
export { alertRules, type AlertRule, type AlertSettings } from "./kubernetes/monitoring";
export { ingressAnnotations, type IngressAnnotationSettings } from "./kubernetes/ingress";
export { registryPodTemplate, type PodTemplateSettings } from "./kubernetes/pod-template";
export { kubernetesServerSettings, serverConfig, type ServerConfigSettings } from "./kubernetes/server-config";
export { ServerKeys, type ServerKeysArgs } from "./secrets/server-keys";
export {
  NetworkZones,
  NetworkZonesError,
  declareZones,
  type ClusterZone,
  type DeclaredZones,
  type InternetZone,
  type NetworkZonesArgs,
  type ProductionZone,
  type ProxyZone,
} from "./network/network-zones";
export { FirewallRules, type FirewallRulesArgs } from "./network/firewall-rules";
export {
  deriveFirewallRules,
  ingressSourceRanges,
  proxyForUpstream,
  FirewallRulesError,
  type BackendService,
  type FirewallInputs,
  type FirewallRule,
  type RulePeer,
  type UpstreamEndpoint,
} from "./network/derive-rules";
export type { EgressProxySettings } from "./network/egress-proxy";
export { networkPolicyManifests, type NetworkPolicyManifest } from "./network/network-policies";
