// The DMZ guide's first rule: the production zone is reached from the proxy zone only, never from
// the internet. So a load balancer in the production zone must be internal: on AWS, a load
// balancer tagged with the production zone (components/aws/ tags every one) and not `internal`;
// on Kubernetes, a Service of type LoadBalancer in a production namespace without the annotation
// that makes the cloud's load balancer internal.

import { AIRLOCK_TAGS } from "../../components/aws/aws-tags";
import { isOf, kubernetesMetadata, stringMap, type PolicySubject } from "./policy-subject";

export interface ProductionZoneConfig {
  /** Namespaces of the production zone on Kubernetes. Default `["production"]`. */
  productionNamespaces?: string[];
}

export const DEFAULT_PRODUCTION_NAMESPACES = ["production"];

/** Annotations that make a Service's cloud load balancer internal, with the values that do. */
const INTERNAL_ANNOTATIONS: Record<string, (value: string) => boolean> = {
  "service.beta.kubernetes.io/aws-load-balancer-internal": (v) => v === "true" || v === "0.0.0.0/0",
  "service.beta.kubernetes.io/aws-load-balancer-scheme": (v) => v === "internal",
  "networking.gke.io/load-balancer-type": (v) => v.toLowerCase() === "internal",
  "cloud.google.com/load-balancer-type": (v) => v.toLowerCase() === "internal",
  "service.beta.kubernetes.io/azure-load-balancer-internal": (v) => v === "true",
  "service.beta.kubernetes.io/openstack-internal-load-balancer": (v) => v === "true",
};

/** Why the resource is a public load balancer in the production zone; [] when it is not one. */
export function publicProductionLoadBalancer(subject: PolicySubject, config: ProductionZoneConfig = {}): string[] {
  if (isOf(subject, "awsLoadBalancer")) {
    const zone = stringMap(subject.props["tags"])[AIRLOCK_TAGS.zone];
    if (zone !== "production" || subject.props["internal"] === true) return [];
    return [
      `load balancer ${subject.name} is in the production zone and internet-facing: set internal: true ` +
        "(the production zone is reached from the proxy zone only)",
    ];
  }
  if (isOf(subject, "kubernetesService")) {
    const spec = subject.props["spec"];
    if (spec === null || typeof spec !== "object" || (spec as Record<string, unknown>)["type"] !== "LoadBalancer") {
      return [];
    }
    const { namespace, annotations } = kubernetesMetadata(subject.props);
    const production = config.productionNamespaces ?? DEFAULT_PRODUCTION_NAMESPACES;
    if (!production.includes(namespace)) return [];
    const internal = Object.entries(INTERNAL_ANNOTATIONS).some(([key, isInternal]) => {
      const value = annotations[key];
      return value !== undefined && isInternal(value);
    });
    if (internal) return [];
    return [
      `Service ${subject.name} in the production namespace ${namespace} is a public load balancer: use ` +
        "ClusterIP behind the Ingress, or annotate it internal (e.g. service.beta.kubernetes.io/aws-load-balancer-internal)",
    ];
  }
  return [];
}
