/**
 * The AWS target's building blocks as a library: `import { AwsRegistry, DmzNetwork, … } from
 * "airlock/components/aws"`. RegistryServer deploys AwsRegistry for `target: aws`; the parts
 * (network, security groups, bucket, database, service) are here for programs that compose their
 * own.
 *
 * @module airlock/components/aws
 */

export { AwsRegistry, INTERFACE_ENDPOINT_SERVICES, type AwsRegistryArgs } from "./aws-registry";
export {
  AwsRegistryError,
  awsReplicaProblem,
  fargateMemoryFits,
  loadBalancerType,
  validateAwsRegistryArgs,
  type AwsEphemeralStorage,
  type AwsLoadBalancerSettings,
  type AwsMetadata,
  type AwsPostgresMetadata,
  type AwsRdsMetadata,
  type AwsS3Storage,
  type AwsSqliteMetadata,
  type AwsStorage,
  type AwsTlsSettings,
  type AwsZonesArgs,
} from "./aws-registry-args";
export { AIRLOCK_TAGS, AWS_ZONES, type AwsZone } from "./aws-tags";
export { BlobBucket, type BlobBucketArgs } from "./blob-bucket";
export { DmzNetwork, type DmzNetworkArgs } from "./dmz-network";
export { DmzSecurityGroups, type DmzSecurityGroupsArgs } from "./dmz-security-groups";
export {
  bucketTlsOnlyPolicy,
  ecsTasksTrustPolicy,
  executionRolePolicy,
  taskRolePolicy,
  type PolicyDocument,
  type PolicyStatement,
} from "./iam-policies";
export { RegistryDatabase, databaseUrl, type RegistryDatabaseArgs } from "./registry-database";
export { RegistryLoadBalancer, loadBalancerProtocols, type RegistryLoadBalancerArgs } from "./registry-load-balancer";
export { RegistryService, type RegistryServiceArgs } from "./registry-service";
export {
  deriveSecurityRules,
  securityRuleInputs,
  type SecurityGroupName,
  type SecurityPeer,
  type SecurityRule,
  type SecurityRuleInputs,
} from "./security-rules";
export { planSubnets, type PlannedSubnet } from "./subnet-plan";
export {
  registryContainerDefinitions,
  taskServerConfigYaml,
  taskServerSettings,
  type ContainerDefinition,
  type TaskConfigSettings,
  type TaskContainerSettings,
} from "./task-definition";
export { TaskRoles, type TaskRolesArgs } from "./task-roles";
export { TaskSecrets, type TaskSecretReferences, type TaskSecretsArgs } from "./task-secrets";
export { awsRegistryArgs, awsTargetArgs, type AwsTargetArgs } from "./aws-stack-target";
