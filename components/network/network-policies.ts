// The firewall rules as Kubernetes NetworkPolicies: one policy denies everything to and from
// every pod of the registry's namespace, then one policy per rule opens exactly that path for the
// registry's pods. Policies add up, so a rule that goes away takes its policy, and only its
// path, with it. Pure functions: the component creates what they return.

import type * as k8s from "@pulumi/kubernetes";
import type { FirewallRule, RulePeer } from "./derive-rules";

type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;
type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;

export interface NetworkPolicyManifest {
  /** The policy's name in the namespace. */
  name: string;
  /** Why it exists (the rule's purpose), as an annotation. */
  purpose: string;
  spec: NetworkPolicySpec;
}

/** The name of the policy that denies everything not allowed by another one. */
export const DEFAULT_DENY_POLICY = "default-deny";

/** A namespace, by the label the API server sets on every namespace. */
function namespaceSelector(namespace: string) {
  return { matchLabels: { "kubernetes.io/metadata.name": namespace } };
}

function peers(peer: RulePeer): NetworkPolicyPeer[] {
  if ("cidrs" in peer) return peer.cidrs.map((cidr) => ({ ipBlock: { cidr } }));
  return peer.namespaces.map((namespace) => ({
    namespaceSelector: namespaceSelector(namespace),
    ...(peer.podLabels && { podSelector: { matchLabels: peer.podLabels } }),
  }));
}

/**
 * The policies of a namespace: default deny first, then one per rule, selecting the pods with
 * `podLabels` (the registry's).
 */
export function networkPolicyManifests(
  rules: readonly FirewallRule[],
  podLabels: Record<string, string>,
): NetworkPolicyManifest[] {
  const manifests: NetworkPolicyManifest[] = [
    {
      name: DEFAULT_DENY_POLICY,
      purpose: "deny by default: only the paths opened by the other policies exist",
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
  ];
  for (const rule of rules) {
    const ports = rule.ports.map(({ protocol, port }) => ({ protocol, port }));
    manifests.push({
      name: rule.name,
      purpose: rule.purpose,
      spec:
        rule.direction === "ingress"
          ? {
              podSelector: { matchLabels: podLabels },
              policyTypes: ["Ingress"],
              ingress: [{ from: peers(rule.peer), ports }],
            }
          : {
              podSelector: { matchLabels: podLabels },
              policyTypes: ["Egress"],
              egress: [{ to: peers(rule.peer), ports }],
            },
    });
  }
  return manifests;
}
