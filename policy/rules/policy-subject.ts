// What the rules of the policy pack see of a resource, and the type tokens they look for. The
// rules are pure functions over this view, so unit tests call them with plain objects while the
// pack (policy/index.ts) hands them the analyzer's resources. In a preview a value may be unknown:
// reading it throws the policy SDK's UnknownValueError, which reports the policy as not run for
// that resource (advisory) instead of guessing; so each rule reads only the fields it judges.

/** A resource as the analyzer shows it: its type token, its name and its inputs. */
export interface PolicySubject {
  type: string;
  name: string;
  props: Record<string, unknown>;
}

/**
 * Type tokens. Dynamic resources appear to an analyzer under `pulumi-nodejs:dynamic/<module>:<Type>`,
 * the custom token their constructor gives (components/registry/), with their inputs plus the
 * serialised provider under `__provider`.
 */
export const TYPES = {
  awsLoadBalancer: ["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"],
  awsListener: ["aws:lb/listener:Listener", "aws:alb/listener:Listener"],
  awsTargetGroup: ["aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup"],
  ecsService: ["aws:ecs/service:Service"],
  kubernetesService: ["kubernetes:core/v1:Service"],
  kubernetesIngress: ["kubernetes:networking.k8s.io/v1:Ingress"],
  kubernetesDeployment: ["kubernetes:apps/v1:Deployment"],
  kubernetesConfigMap: ["kubernetes:core/v1:ConfigMap"],
  registryEndpoint: ["pulumi-nodejs:dynamic/registry:RegistryEndpoint"],
  robotAccount: ["pulumi-nodejs:dynamic/registry:RobotAccount"],
  registryProject: ["pulumi-nodejs:dynamic/registry:Project", "pulumi-nodejs:dynamic/registry:ProxyProject"],
  webhookPolicy: ["pulumi-nodejs:dynamic/registry:WebhookPolicy"],
} as const;

export type TypeGroup = keyof typeof TYPES;

/** Whether the resource is of one of the group's types. */
export function isOf(subject: Pick<PolicySubject, "type">, group: TypeGroup): boolean {
  return (TYPES[group] as readonly string[]).includes(subject.type);
}

/** Every type token the rules look at, for the pack's resource policies. */
export function typesOf(...groups: TypeGroup[]): string[] {
  return groups.flatMap((group) => [...TYPES[group]]);
}

/** The value as an object, or undefined when it is something else. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The value as an array of objects (other items left out), or [] when it is no array. */
export function asRecords(value: unknown): Array<Record<string, unknown>> {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item: unknown) => {
    const record = asRecord(item);
    return record ? [record] : [];
  });
}

/** String entries of a map (tags, labels, annotations); other values left out. */
export function stringMap(value: unknown): Record<string, string> {
  return Object.fromEntries(
    Object.entries(asRecord(value) ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}

/** A Kubernetes object's metadata: namespace, labels, annotations. */
export function kubernetesMetadata(props: Record<string, unknown>): {
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  const metadata = asRecord(props["metadata"]) ?? {};
  const namespace = metadata["namespace"];
  return {
    namespace: typeof namespace === "string" ? namespace : "default",
    labels: stringMap(metadata["labels"]),
    annotations: stringMap(metadata["annotations"]),
  };
}
