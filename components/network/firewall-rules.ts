// FirewallRules: the paths in and out of the registry, derived from the declared zones, upstream
// endpoints and egress proxy (derive-rules.ts), and enforced by the target. On Kubernetes: one
// NetworkPolicy denying everything in the registry's namespace, and one per rule opening its
// path for the registry's pods (network-policies.ts).

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  deriveFirewallRules,
  type BackendService,
  type EgressProxySettings,
  type FirewallRule,
  type UpstreamEndpoint,
} from "./derive-rules";
import { networkPolicyManifests } from "./network-policies";
import type { DeclaredZones } from "./network-zones";

export interface FirewallRulesArgs {
  /** The zones (NetworkZones.declared). Known when the program runs: each rule is a resource. */
  zones: DeclaredZones;
  /** The upstream registry endpoints the registry pulls from; each one needs a path out. */
  upstreams: UpstreamEndpoint[];
  /** The egress proxy settings, which decide which upstreams go through the proxy. */
  egress: EgressProxySettings;
  /** The registry's port. */
  port: number;
  /** Whether an ingress controller publishes the registry (its namespace may reach it). */
  ingress: boolean;
  /** Whether Prometheus scrapes the registry (its namespace may reach it). */
  monitoring: boolean;
  /** Services outside the cluster the registry needs (S3, PostgreSQL), with their CIDRs. */
  backends?: BackendService[];
  /** Where to enforce the rules on Kubernetes: the registry's namespace and its pods' labels. */
  kubernetes: {
    /** The registry's namespace; the default-deny policy covers every pod in it. */
    namespace: pulumi.Input<string>;
    /** Labels that select the registry's pods. */
    podLabels: Record<string, string>;
  };
}

export class FirewallRules extends pulumi.ComponentResource {
  /** The rules, as derived: what a review of the preview should read. */
  public readonly rules: FirewallRule[];
  /** The NetworkPolicies, default deny first. */
  public readonly networkPolicies: k8s.networking.v1.NetworkPolicy[];

  constructor(name: string, args: FirewallRulesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:network:FirewallRules", name, {}, opts);
    this.rules = deriveFirewallRules({
      zones: args.zones,
      upstreams: args.upstreams,
      egress: args.egress,
      port: args.port,
      ingress: args.ingress,
      monitoring: args.monitoring,
      backends: args.backends ?? [],
    });
    this.networkPolicies = networkPolicyManifests(this.rules, args.kubernetes.podLabels).map(
      (manifest) =>
        new k8s.networking.v1.NetworkPolicy(
          `${name}-${manifest.name}`,
          {
            metadata: {
              name: manifest.name,
              namespace: args.kubernetes.namespace,
              labels: { "app.kubernetes.io/managed-by": "airlock" },
              annotations: { "airlock.dev/purpose": manifest.purpose },
            },
            spec: manifest.spec,
          },
          { parent: this },
        ),
    );
    this.registerOutputs({ rules: this.rules });
  }
}
