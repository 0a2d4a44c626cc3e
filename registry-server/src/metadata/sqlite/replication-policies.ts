// The replication policies area of the SQLite metadata store (ReplicationPolicyMetadata): its
// statements, bound to the store's connections by store.ts. Rows and the listing are in
// rows/replication-policies.ts; postgres/replication-policies.ts is the same area on PostgreSQL.

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
import { SQLITE } from "./dialect.ts";
import { conflict, listing, type Db, type Run } from "./statements.ts";

function nameTaken(error: unknown, name: string | undefined): unknown {
  return conflict(error, "replication_policies.name", `replication policy ${name ?? ""} already exists`);
}

function getPolicy(db: Db, id: number): ReplicationPolicy | undefined {
  const row = db.row<ReplicationPolicyRow>(
    `SELECT ${REPLICATION_POLICY_COLUMNS} FROM replication_policies WHERE id = ?`,
    id,
  );
  return row && toReplicationPolicy(row, SQLITE);
}

const flag = (value: boolean): number => (value ? 1 : 0);

export function replicationPolicyArea(read: Run, write: Run): ReplicationPolicyMetadata {
  return {
    create: (policy, at) =>
      write((db) => {
        try {
          const row = db.row<ReplicationPolicyRow>(
            `INSERT INTO replication_policies (name, description, creator, src_registry_id, dest_registry_id,
               dest_namespace, dest_namespace_replace_count, trigger_json, filters_json, replicate_deletion,
               override, enabled, speed_kbps, copy_by_chunk, single_active, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
            flag(policy.replicateDeletion),
            flag(policy.override),
            flag(policy.enabled),
            policy.speedKbps,
            flag(policy.copyByChunk),
            flag(policy.singleActiveReplication),
            at.getTime(),
            at.getTime(),
          );
          return toReplicationPolicy(required(row, "INSERT INTO replication_policies"), SQLITE);
        } catch (error) {
          throw nameTaken(error, policy.name);
        }
      }),
    get: (id) => read((db) => getPolicy(db, id)),
    getByName: (name) =>
      read((db) => {
        const row = db.row<ReplicationPolicyRow>(
          `SELECT ${REPLICATION_POLICY_COLUMNS} FROM replication_policies WHERE name = ?`,
          name,
        );
        return row && toReplicationPolicy(row, SQLITE);
      }),
    list: (query, window) =>
      read((db) =>
        listing(db, replicationPolicyListing(SQLITE, query), window, (row: ReplicationPolicyRow) =>
          toReplicationPolicy(row, SQLITE),
        ),
      ),
    listEnabled: (triggerType) =>
      read((db) =>
        db
          .rows<ReplicationPolicyRow>(
            `SELECT ${REPLICATION_POLICY_COLUMNS} FROM replication_policies WHERE enabled = 1 ORDER BY id`,
          )
          .map((row) => toReplicationPolicy(row, SQLITE))
          .filter((policy) => triggerType === undefined || policy.trigger.type === triggerType),
      ),
    update: (id, changes, at) =>
      write((db) => {
        const current = getPolicy(db, id);
        if (!current) return undefined;
        const src = changes.srcRegistryId === undefined ? current.srcRegistryId : changes.srcRegistryId;
        const dest = changes.destRegistryId === undefined ? current.destRegistryId : changes.destRegistryId;
        try {
          const row = db.row<ReplicationPolicyRow>(
            `UPDATE replication_policies SET name = ?, description = ?, src_registry_id = ?, dest_registry_id = ?,
               dest_namespace = ?, dest_namespace_replace_count = ?, trigger_json = ?, filters_json = ?,
               replicate_deletion = ?, override = ?, enabled = ?, speed_kbps = ?, copy_by_chunk = ?,
               single_active = ?, updated_at = ?
               WHERE id = ? RETURNING ${REPLICATION_POLICY_COLUMNS}`,
            changes.name ?? current.name,
            changes.description ?? current.description,
            src ?? null,
            dest ?? null,
            changes.destNamespace ?? current.destNamespace,
            changes.destNamespaceReplaceCount ?? current.destNamespaceReplaceCount,
            triggerText(changes.trigger ?? current.trigger),
            filtersText(changes.filters ?? current.filters),
            flag(changes.replicateDeletion ?? current.replicateDeletion),
            flag(changes.override ?? current.override),
            flag(changes.enabled ?? current.enabled),
            changes.speedKbps ?? current.speedKbps,
            flag(changes.copyByChunk ?? current.copyByChunk),
            flag(changes.singleActiveReplication ?? current.singleActiveReplication),
            at.getTime(),
            id,
          );
          return row && toReplicationPolicy(row, SQLITE);
        } catch (error) {
          throw nameTaken(error, changes.name);
        }
      }),
    delete: (id) => write((db) => db.run("DELETE FROM replication_policies WHERE id = ?", id) > 0),
    usingRegistry: (registryId) =>
      read((db) =>
        db
          .rows<{ id: number }>(
            "SELECT id FROM replication_policies WHERE src_registry_id = ? OR dest_registry_id = ? ORDER BY id",
            registryId,
            registryId,
          )
          .map((row) => row.id),
      ),
  };
}
