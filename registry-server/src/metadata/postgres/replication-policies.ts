// The replication policies area of the PostgreSQL metadata store (ReplicationPolicyMetadata): its
// statements, bound to the store's connections by store.ts. Rows and the listing are in
// rows/replication-policies.ts; sqlite/replication-policies.ts is the same area on SQLite.

import type { ReplicationPolicy } from "../../replication/replication-policy.ts";
import type { ReplicationPolicyMetadata } from "../replication-store.ts";
import {
  filtersText,
  REPLICATION_POLICY_COLUMNS,
  replicationPolicyListing,
  toReplicationPolicy,
  triggerText,
  type ReplicationPolicyRow,
} from "../rows/replication-policies.ts";
import { required } from "../rows/sql.ts";
import { conflict, listing, type Db, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

function nameTaken(error: unknown, name: string | undefined): unknown {
  return conflict(error, "replication_policies_name_key", `replication policy ${name ?? ""} already exists`);
}

async function getPolicy(db: Db, id: number): Promise<ReplicationPolicy | undefined> {
  const row = await db.row<ReplicationPolicyRow>(
    `SELECT ${REPLICATION_POLICY_COLUMNS} FROM replication_policies WHERE id = $1`,
    id,
  );
  return row && toReplicationPolicy(row, POSTGRES);
}

export function replicationPolicyArea(read: Run, write: Run): ReplicationPolicyMetadata {
  return {
    create: (policy, at) =>
      write(async (db) => {
        try {
          const row = await db.row<ReplicationPolicyRow>(
            `INSERT INTO replication_policies (name, description, creator, src_registry_id, dest_registry_id,
               dest_namespace, dest_namespace_replace_count, trigger_json, filters_json, replicate_deletion,
               override, enabled, speed_kbps, copy_by_chunk, single_active, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
               RETURNING ${REPLICATION_POLICY_COLUMNS}`,
            policy.name,
            policy.description,
            policy.creator,
            policy.srcRegistryId ?? null,
            policy.destRegistryId ?? null,
            policy.destNamespace,
            policy.destNamespaceReplaceCount,
            triggerText(policy.trigger),
            filtersText(policy.filters),
            policy.replicateDeletion,
            policy.override,
            policy.enabled,
            policy.speedKbps,
            policy.copyByChunk,
            policy.singleActiveReplication,
            at,
          );
          return toReplicationPolicy(required(row, "INSERT INTO replication_policies"), POSTGRES);
        } catch (error) {
          throw nameTaken(error, policy.name);
        }
      }),
    get: (id) => read((db) => getPolicy(db, id)),
    getByName: (name) =>
      read(async (db) => {
        const row = await db.row<ReplicationPolicyRow>(
          `SELECT ${REPLICATION_POLICY_COLUMNS} FROM replication_policies WHERE name = $1`,
          name,
        );
        return row && toReplicationPolicy(row, POSTGRES);
      }),
    list: (query, window) =>
      read((db) =>
        listing(db, replicationPolicyListing(POSTGRES, query), window, (row: ReplicationPolicyRow) =>
          toReplicationPolicy(row, POSTGRES),
        ),
      ),
    listEnabled: (triggerType) =>
      read(async (db) =>
        (
          await db.rows<ReplicationPolicyRow>(
            `SELECT ${REPLICATION_POLICY_COLUMNS} FROM replication_policies WHERE enabled ORDER BY id`,
          )
        )
          .map((row) => toReplicationPolicy(row, POSTGRES))
          .filter((policy) => triggerType === undefined || policy.trigger.type === triggerType),
      ),
    update: (id, changes, at) =>
      write(async (db) => {
        const current = await getPolicy(db, id);
        if (!current) return undefined;
        const src = changes.srcRegistryId === undefined ? current.srcRegistryId : changes.srcRegistryId;
        const dest = changes.destRegistryId === undefined ? current.destRegistryId : changes.destRegistryId;
        try {
          const row = await db.row<ReplicationPolicyRow>(
            `UPDATE replication_policies SET name = $1, description = $2, src_registry_id = $3,
               dest_registry_id = $4, dest_namespace = $5, dest_namespace_replace_count = $6, trigger_json = $7,
               filters_json = $8, replicate_deletion = $9, override = $10, enabled = $11, speed_kbps = $12,
               copy_by_chunk = $13, single_active = $14, updated_at = $15
               WHERE id = $16 RETURNING ${REPLICATION_POLICY_COLUMNS}`,
            changes.name ?? current.name,
            changes.description ?? current.description,
            src ?? null,
            dest ?? null,
            changes.destNamespace ?? current.destNamespace,
            changes.destNamespaceReplaceCount ?? current.destNamespaceReplaceCount,
            triggerText(changes.trigger ?? current.trigger),
            filtersText(changes.filters ?? current.filters),
            changes.replicateDeletion ?? current.replicateDeletion,
            changes.override ?? current.override,
            changes.enabled ?? current.enabled,
            changes.speedKbps ?? current.speedKbps,
            changes.copyByChunk ?? current.copyByChunk,
            changes.singleActiveReplication ?? current.singleActiveReplication,
            at,
            id,
          );
          return row && toReplicationPolicy(row, POSTGRES);
        } catch (error) {
          throw nameTaken(error, changes.name);
        }
      }),
    delete: (id) => write(async (db) => (await db.run("DELETE FROM replication_policies WHERE id = $1", id)) > 0),
    usingRegistry: (registryId) =>
      read(async (db) =>
        (
          await db.rows<{ id: number }>(
            "SELECT id FROM replication_policies WHERE src_registry_id = $1 OR dest_registry_id = $1 ORDER BY id",
            registryId,
          )
        ).map((row) => row.id),
      ),
  };
}
