// More than one replica of the registry only when they share their state: blobs in S3 and
// metadata in PostgreSQL. On a filesystem or in SQLite each replica would hold its own copy, and
// a manifest pushed through one would be missing from the next. The components refuse this
// before declaring anything (replicaProblem, awsReplicaProblem); the pack catches programs that
// set it up by other means.
//   AWS         an ECS service tagged as the registry (components/aws/ tags its storage and
//               metadata) with a desiredCount above one
//   Kubernetes  a Deployment of the registry (app.kubernetes.io/name: airlock-registry) with more
//               than one replica, whose pods mount a PersistentVolumeClaim or whose ConfigMap's
//               server configuration lacks storage.s3 or metadata.postgres

import { parse } from "yaml";
import { AIRLOCK_TAGS } from "../../components/aws/aws-tags";
import { CONFIG_KEY } from "../../components/kubernetes/server-config";
import { asRecord, asRecords, isOf, kubernetesMetadata, stringMap, type PolicySubject } from "./policy-subject";

/** The label the Kubernetes target puts on the registry's objects. */
export const REGISTRY_APP_LABEL = { key: "app.kubernetes.io/name", value: "airlock-registry" } as const;

function ecsServiceProblems(subject: PolicySubject): string[] {
  const tags = stringMap(subject.props["tags"]);
  if (tags[AIRLOCK_TAGS.component] !== "registry") return [];
  const count = subject.props["desiredCount"];
  if (typeof count !== "number" || count <= 1) return [];
  const storage = tags[AIRLOCK_TAGS.storage] ?? "unknown";
  const metadata = tags[AIRLOCK_TAGS.metadata] ?? "unknown";
  if (storage === "s3" && metadata === "postgres") return [];
  return [
    `ECS service ${subject.name} runs ${count} replicas with ${storage} storage and ${metadata} metadata: ` +
      "more than one replica needs S3 storage and PostgreSQL metadata",
  ];
}

/** What the server configuration in a ConfigMap's config.yaml says, or undefined without one. */
function configuredState(configMap: PolicySubject): { s3: boolean; postgres: boolean } | undefined {
  const text = asRecord(configMap.props["data"])?.[CONFIG_KEY];
  if (typeof text !== "string") return undefined;
  const config = asRecord(parse(text)) ?? {};
  return {
    s3: asRecord(asRecord(config["storage"])?.["s3"]) !== undefined,
    postgres: asRecord(asRecord(config["metadata"])?.["postgres"]) !== undefined,
  };
}

function deploymentProblems(deployment: PolicySubject, all: PolicySubject[]): string[] {
  const { namespace, labels } = kubernetesMetadata(deployment.props);
  if (labels[REGISTRY_APP_LABEL.key] !== REGISTRY_APP_LABEL.value) return [];
  const spec = asRecord(deployment.props["spec"]) ?? {};
  const replicas = spec["replicas"];
  if (typeof replicas !== "number" || replicas <= 1) return [];
  const problems: string[] = [];
  const podSpec = asRecord(asRecord(spec["template"])?.["spec"]) ?? {};
  const claims = asRecords(podSpec["volumes"]).filter((volume) => volume["persistentVolumeClaim"] !== undefined);
  if (claims.length > 0) {
    problems.push(
      `Deployment ${deployment.name} runs ${replicas} replicas on a PersistentVolumeClaim (filesystem storage): ` +
        "more than one replica needs S3 storage and PostgreSQL metadata",
    );
  }
  // The registry's ConfigMap: same namespace, same instance label.
  const instance = labels["app.kubernetes.io/instance"];
  const configs = all.filter((other) => {
    if (!isOf(other, "kubernetesConfigMap")) return false;
    const meta = kubernetesMetadata(other.props);
    return (
      meta.namespace === namespace &&
      meta.labels[REGISTRY_APP_LABEL.key] === REGISTRY_APP_LABEL.value &&
      meta.labels["app.kubernetes.io/instance"] === instance
    );
  });
  for (const config of configs) {
    const state = configuredState(config);
    if (state && !(state.s3 && state.postgres)) {
      const missing = [!state.s3 && "storage.s3", !state.postgres && "metadata.postgres"].filter(Boolean).join(" and ");
      problems.push(
        `Deployment ${deployment.name} runs ${replicas} replicas but its configuration (${config.name}) has no ${missing}: ` +
          "more than one replica needs S3 storage and PostgreSQL metadata",
      );
    }
  }
  return problems;
}

/**
 * The resources of the stack that run several replicas over state they cannot share, each with
 * why; [] when none does.
 */
export function replicasWithoutSharedState<T extends PolicySubject>(
  resources: T[],
): Array<{ resource: T; message: string }> {
  return resources.flatMap((resource) => {
    const messages = isOf(resource, "ecsService")
      ? ecsServiceProblems(resource)
      : isOf(resource, "kubernetesDeployment")
        ? deploymentProblems(resource, resources)
        : [];
    return messages.map((message) => ({ resource, message }));
  });
}
