// What a stack declares of replication: the policies that push this registry's content to other
// registries (a second site, a disaster-recovery copy) or pull theirs in, each through one of
// the stack's registry endpoints, named. A separate component from DeclaredContent because the
// endpoints are DeclaredProxyCache's: the program declares this one after both, with the
// endpoints' ids, and after the projects (a policy that runs on create copies what they hold).
// Reusable by any program with a connection.

import * as pulumi from "@pulumi/pulumi";
import type { RegistryConnection } from "./api-client";
import {
  ReplicationPolicy,
  type ReplicationFiltersArgs,
  type ReplicationPolicyArgs,
  type ReplicationTriggerArgs,
} from "./replication-policy";

/** A replication policy; the fields are ReplicationPolicyArgs's, the endpoint given by its name. */
export interface DeclaredReplicationPolicy {
  /** Unique in the registry. */
  name: string;
  description?: string | undefined;
  /** The name of the endpoint pushed to; or: */
  destinationRegistry?: string | undefined;
  /** the name of the endpoint pulled from. */
  sourceRegistry?: string | undefined;
  destinationNamespace?: string | undefined;
  destinationNamespaceReplaceCount?: number | undefined;
  trigger?: ReplicationTriggerArgs | undefined;
  filters?: ReplicationFiltersArgs | undefined;
  override?: boolean | undefined;
  replicateDeletion?: boolean | undefined;
  copyByChunk?: boolean | undefined;
  speedKbps?: number | undefined;
  enabled?: boolean | undefined;
  singleActiveReplication?: boolean | undefined;
  runOnCreate?: boolean | undefined;
}

export interface DeclaredReplicationArgs {
  /** The registry to manage (from RegistryServer's `connection`); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /**
   * Endpoint ids by name (DeclaredProxyCache's `registryIds`). A policy naming an endpoint not
   * listed here refers to it by name: the provider looks the name up in the registry.
   */
  registryIds: Record<string, pulumi.Input<number>>;
  /** The policies. */
  replications: DeclaredReplicationPolicy[];
}

export class DeclaredReplication extends pulumi.ComponentResource {
  /** Policy ids by name. */
  public readonly policyIds: Record<string, pulumi.Output<number>> = {};

  constructor(name: string, args: DeclaredReplicationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:registry:DeclaredReplication", name, {}, opts);
    const endpoint = (registry: string): pulumi.Input<number | string> => args.registryIds[registry] ?? registry;
    for (const declared of args.replications) {
      const { destinationRegistry, sourceRegistry, ...rest } = declared;
      // Undefined fields left out: the provider fills the defaults.
      const given = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
      const policy = new ReplicationPolicy(
        `${name}-replication-${declared.name}`,
        {
          ...(given as Omit<ReplicationPolicyArgs, "connection">),
          connection: args.connection,
          ...(destinationRegistry !== undefined && { destinationRegistry: endpoint(destinationRegistry) }),
          ...(sourceRegistry !== undefined && { sourceRegistry: endpoint(sourceRegistry) }),
        },
        { parent: this },
      );
      this.policyIds[declared.name] = policy.policyId;
    }
    this.registerOutputs({ policyIds: this.policyIds });
  }
}
