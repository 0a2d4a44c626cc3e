// The replication policies area's rows (ReplicationPolicyMetadata in replication-store.ts), as
// both backends read them: a policy with its filters and trigger as JSON text (the domain's
// shapes, written only by the store), and the listing with Harbor's `q` on the name and `sort`.

import type { ReplicationFilter, ReplicationPolicy, ReplicationTrigger } from "../../replication/replication-policy.ts";
import type { ReplicationPolicyQuery, ReplicationPolicySortKey } from "../replication-store.ts";
import {
  Conditions,
  orderBy,
  type Dialect,
  type ListingQuery,
  type RowReader,
  type StoredBool,
  type StoredTime,
} from "./sql.ts";

export interface ReplicationPolicyRow {
  id: number;
  name: string;
  description: string;
  creator: string;
  src_registry_id: number | null;
  dest_registry_id: number | null;
  dest_namespace: string;
  dest_namespace_replace_count: number;
  trigger_json: string;
  filters_json: string;
  replicate_deletion: StoredBool;
  override: StoredBool;
  enabled: StoredBool;
  speed_kbps: number;
  copy_by_chunk: StoredBool;
  single_active: StoredBool;
  created_at: StoredTime;
  updated_at: StoredTime;
}

export const REPLICATION_POLICY_COLUMNS =
  "id, name, description, creator, src_registry_id, dest_registry_id, dest_namespace, " +
  "dest_namespace_replace_count, trigger_json, filters_json, replicate_deletion, override, enabled, speed_kbps, " +
  "copy_by_chunk, single_active, created_at, updated_at";

export function toReplicationPolicy(row: ReplicationPolicyRow, r: RowReader): ReplicationPolicy {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    creator: row.creator,
    ...(row.src_registry_id !== null && { srcRegistryId: row.src_registry_id }),
    ...(row.dest_registry_id !== null && { destRegistryId: row.dest_registry_id }),
    destNamespace: row.dest_namespace,
    destNamespaceReplaceCount: row.dest_namespace_replace_count,
    trigger: JSON.parse(row.trigger_json) as ReplicationTrigger,
    filters: JSON.parse(row.filters_json) as ReplicationFilter[],
    replicateDeletion: r.flag(row.replicate_deletion),
    override: r.flag(row.override),
    enabled: r.flag(row.enabled),
    speedKbps: row.speed_kbps,
    copyByChunk: r.flag(row.copy_by_chunk),
    singleActiveReplication: r.flag(row.single_active),
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
  };
}

/** The trigger as stored: only a scheduled trigger keeps its cron. */
export function triggerText(trigger: ReplicationTrigger): string {
  return JSON.stringify(
    trigger.type === "scheduled" ? { type: trigger.type, cron: trigger.cron ?? "" } : { type: trigger.type },
  );
}

export function filtersText(filters: readonly ReplicationFilter[]): string {
  return JSON.stringify(filters);
}

const ORDER: Readonly<Record<ReplicationPolicySortKey, string>> = {
  id: "id",
  name: "name",
  creation_time: "created_at",
  update_time: "updated_at",
};

/** Harbor's default: the newest first. */
const NEWEST_FIRST = [
  { key: "creation_time", desc: true },
  { key: "id", desc: true },
] as const;

export function replicationPolicyListing<V>(d: Dialect<V>, query: ReplicationPolicyQuery): ListingQuery<V> {
  const where = new Conditions(d).text("name", query.name);
  const sort = query.sort.length > 0 ? query.sort : NEWEST_FIRST;
  return { columns: REPLICATION_POLICY_COLUMNS, from: "replication_policies", where, order: orderBy(sort, ORDER) };
}
