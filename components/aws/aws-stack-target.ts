// From the validated stack configuration (`airlock:aws` and the shared keys) to AwsRegistry's
// arguments, secrets wrapped as secrets. Pure, so that tests build the sample AWS stack's
// resource graph from Pulumi.aws-dmz.yaml itself, and so that RegistryServer can hand the `aws`
// target to AwsRegistry the way it hands `kubernetes` to KubernetesRegistry.

import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../stack-config";
import { outboundDestinations } from "../stack-outbound";
import type { AwsRegistryArgs } from "./aws-registry-args";

/** AwsRegistry's settings less what RegistryServer passes to every target. */
export type AwsTargetArgs = Omit<
  AwsRegistryArgs,
  "adminUsername" | "adminPassword" | "upstream" | "mirror" | "logLevel"
>;

/** The `airlock:aws` section as AwsRegistry's own settings (the schema has required what it needs). */
export function awsTargetArgs(config: StackConfig): AwsTargetArgs {
  const aws = config.aws;
  const { storage, metadata, tls } = aws;
  return {
    image: aws.image ?? "",
    ...(aws.imageRepositoryArn !== undefined && { imageRepositoryArn: aws.imageRepositoryArn }),
    region: aws.region ?? "",
    availabilityZones: aws.availabilityZones,
    vpcCidr: aws.vpcCidr,
    replicas: aws.replicas,
    cpu: aws.cpu,
    memory: aws.memory,
    architecture: aws.architecture,
    port: aws.port,
    storage,
    metadata: metadata.type === "postgres" ? { ...metadata, url: pulumi.secret(metadata.url) } : metadata,
    tls: {
      ...(tls.certificateArn !== undefined && { certificateArn: tls.certificateArn }),
      ...(tls.certificatePem !== undefined && { certificatePem: tls.certificatePem }),
      ...(tls.privateKeyPem !== undefined && { privateKeyPem: pulumi.secret(tls.privateKeyPem) }),
      ...(tls.caCertificate !== undefined && { caCertificate: tls.caCertificate }),
    },
    loadBalancer: aws.loadBalancer ?? { hostName: "" },
    zones: aws.zones,
    upstreams: outboundDestinations(config),
    logRetentionDays: aws.logRetentionDays,
    ...(aws.kmsKeyArn !== undefined && { kmsKeyArn: aws.kmsKeyArn }),
    interfaceEndpoints: aws.interfaceEndpoints,
    ...(aws.natGateway !== undefined && { natGateway: aws.natGateway }),
    tags: aws.tags,
    ...(aws.apiUrl !== undefined && { apiUrl: aws.apiUrl }),
  };
}

/** AwsRegistry's whole arguments for the stack: the target's settings and the shared keys. */
export function awsRegistryArgs(config: StackConfig): AwsRegistryArgs {
  return {
    ...awsTargetArgs(config),
    adminUsername: config.adminUsername,
    ...(config.adminPassword !== undefined && { adminPassword: pulumi.secret(config.adminPassword) }),
    logLevel: config.aws.logLevel,
    upstream: config.upstream,
    // Only the rules that are set: an empty section would change the server's configuration file.
    mirror: {
      ...(config.mirror.defaultProject !== undefined && { defaultProject: config.mirror.defaultProject }),
      ...(Object.keys(config.mirror.namespaces).length > 0 && { namespaces: config.mirror.namespaces }),
      ...(Object.keys(config.mirror.hosts).length > 0 && { hosts: config.mirror.hosts }),
    },
  };
}
