// The replication policies area of the metadata store: Harbor's replication policies
// (`/api/v2.0/replication/policies`), each the domain's ReplicationPolicy
// (replication/replication-policy.ts) under an integer id the store assigns and never hands out
// again.
//
// Names are unique (ConflictError otherwise). Exactly one side of a policy is another registry,
// an endpoint of the registries area: the schema refuses a row naming both or neither, and an
// endpoint a policy names cannot be deleted (callers check `usingRegistry` first, as Harbor
// refuses it with 412). Filters and the trigger are kept as JSON text, the domain's shapes.
//
// Every backend runs the shared contract suite in test/contracts/replication-store-contract.ts.

import type { SortKey, TextMatch } from "./artifact-store.ts";
import type { Listing, Window } from "./identity-store.ts";
import type { ReplicationPolicy, ReplicationTriggerType } from "../replication/replication-policy.ts";

/** What a new policy is made of: all but what the store assigns. */
export type NewReplicationPolicy = Omit<ReplicationPolicy, "id" | "createdAt" | "updatedAt">;

/**
 * Fields to change; the others keep their value. `srcRegistryId: null` (or `destRegistryId`)
 * makes this registry that side; a change must leave exactly one side another registry.
 */
export type ReplicationPolicyChanges = {
  readonly [
    K in keyof Omit<NewReplicationPolicy, "creator" | "srcRegistryId" | "destRegistryId">
  ]?: NewReplicationPolicy[K];
} & {
  readonly srcRegistryId?: number | null;
  readonly destRegistryId?: number | null;
};

/** Harbor's sort keys for the listing (its column names). */
export type ReplicationPolicySortKey = "id" | "name" | "creation_time" | "update_time";

export interface ReplicationPolicyQuery {
  /** Equal to the name, or (fuzzy) containing it whatever the ASCII case. */
  readonly name?: TextMatch;
  /** In order; Harbor's default, newest first, when empty. Ties by id. */
  readonly sort: readonly SortKey<ReplicationPolicySortKey>[];
}

export interface ReplicationPolicyMetadata {
  /** ConflictError when the name is taken. */
  create(policy: NewReplicationPolicy, at: Date): Promise<ReplicationPolicy>;
  get(id: number): Promise<ReplicationPolicy | undefined>;
  getByName(name: string): Promise<ReplicationPolicy | undefined>;
  list(query: ReplicationPolicyQuery, window: Window): Promise<Listing<ReplicationPolicy>>;
  /**
   * The enabled policies (of one trigger type when given), by id: what a trigger looks at on
   * every push or deletion, one indexed read.
   */
  listEnabled(triggerType?: ReplicationTriggerType): Promise<ReplicationPolicy[]>;
  /**
   * Applies the changes and moves the update time; undefined when there is no such policy;
   * ConflictError when the name is taken.
   */
  update(id: number, changes: ReplicationPolicyChanges, at: Date): Promise<ReplicationPolicy | undefined>;
  /** False when there was none. */
  delete(id: number): Promise<boolean>;
  /** Ids of the policies replicating from or to the registry endpoint, ascending. */
  usingRegistry(registryId: number): Promise<number[]>;
}
