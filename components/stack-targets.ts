// From the validated stack configuration to the RegistryServer's arguments: which target, with
// which settings, secrets wrapped as secrets. Pure, so that tests build the DMZ stack's resource
// graph from Pulumi.dmz.yaml itself.

import * as pulumi from "@pulumi/pulumi";
import { awsTargetArgs } from "./aws/aws-stack-target";
import { outboundDestinations } from "./stack-outbound";
import type { KubernetesTargetArgs, RegistryServerArgs } from "./registry-server";
import type { StackConfig } from "./stack-config";

/** The server's mirror section: only the rules that are set (an empty section changes its file). */
function mirrorSettings(config: StackConfig): NonNullable<RegistryServerArgs["mirror"]> {
  return {
    ...(config.mirror.defaultProject !== undefined && { defaultProject: config.mirror.defaultProject }),
    ...(Object.keys(config.mirror.namespaces).length > 0 && { namespaces: config.mirror.namespaces }),
    ...(Object.keys(config.mirror.hosts).length > 0 && { hosts: config.mirror.hosts }),
  };
}

function kubernetesTarget(config: StackConfig): KubernetesTargetArgs {
  const k8s = config.kubernetes;
  const storage = k8s.storage;
  const metadata = k8s.metadata;
  return {
    // The schema requires the image for this target; "" only ever reaches a local stack.
    image: k8s.image ?? "",
    imagePullPolicy: k8s.imagePullPolicy,
    imagePullSecrets: k8s.imagePullSecrets,
    namespace: k8s.namespace,
    createNamespace: k8s.createNamespace,
    replicas: k8s.replicas,
    port: k8s.port,
    storage:
      storage.type === "filesystem"
        ? {
            type: "filesystem",
            size: storage.size,
            ...(storage.storageClass !== undefined && { storageClass: storage.storageClass }),
          }
        : {
            ...storage,
            ...(storage.secretAccessKey !== undefined && { secretAccessKey: pulumi.secret(storage.secretAccessKey) }),
          },
    metadata:
      metadata.type === "sqlite"
        ? metadata
        : { ...metadata, ...(metadata.password !== undefined && { password: pulumi.secret(metadata.password) }) },
    tls: k8s.tls,
    ...(k8s.ingress && { ingress: k8s.ingress }),
    resources: k8s.resources,
    monitoring: k8s.monitoring,
    ...(k8s.apiUrl !== undefined && { apiUrl: k8s.apiUrl }),
  };
}

/**
 * The RegistryServer's arguments for the stack's target.
 * @param stateDir the local target's default state directory (`.airlock/<stack>`)
 */
export function registryServerArgs(config: StackConfig, stateDir: string): RegistryServerArgs {
  const shared = {
    target: config.target,
    adminUsername: config.adminUsername,
    ...(config.adminPassword !== undefined && { adminPassword: pulumi.secret(config.adminPassword) }),
    upstream: config.upstream,
    mirror: mirrorSettings(config),
  };
  if (config.target === "aws") {
    return { ...shared, logLevel: config.aws.logLevel, aws: awsTargetArgs(config) };
  }
  if (config.target !== "kubernetes") {
    const local = config.local;
    return {
      ...shared,
      local: {
        port: local.port,
        bindAddress: local.bindAddress,
        hostnames: local.hostnames,
        stateDir: local.stateDir ?? stateDir,
        ...(local.dataDir !== undefined && { dataDir: local.dataDir }),
        logLevel: local.logLevel,
        removeDataOnDestroy: local.removeDataOnDestroy,
      },
    };
  }
  return {
    ...shared,
    logLevel: config.kubernetes.logLevel,
    kubernetes: kubernetesTarget(config),
    ...(config.kubernetes.zones && {
      network: {
        zones: config.kubernetes.zones,
        upstreams: outboundDestinations(config),
      },
    }),
  };
}
