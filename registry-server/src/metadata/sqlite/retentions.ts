// The retentions area of the SQLite metadata store (RetentionMetadata): its statements, bound to
// the store's connections by store.ts. Rows are in rows/retentions.ts; postgres/retentions.ts is
// the same area on PostgreSQL.

import type { RetentionMetadata, RetentionPolicyRecord } from "../lifecycle-store.ts";
import { RETENTION_COLUMNS, toRetention, type RetentionRow } from "../rows/retentions.ts";
import { required } from "../rows/sql.ts";
import { SQLITE } from "./dialect.ts";
import { conflict, type Db, type Run } from "./statements.ts";

function getRetention(db: Db, column: "id" | "project_id", value: number): RetentionPolicyRecord | undefined {
  const row = db.row<RetentionRow>(`SELECT ${RETENTION_COLUMNS} FROM retention_policies WHERE ${column} = ?`, value);
  return row && toRetention(row, SQLITE);
}

export function retentionArea(read: Run, write: Run): RetentionMetadata {
  return {
    create: (projectId, policy, at) =>
      write((db) => {
        try {
          const row = db.row<RetentionRow>(
            `INSERT INTO retention_policies (project_id, policy, created_at, updated_at) VALUES (?, ?, ?, ?)
               RETURNING ${RETENTION_COLUMNS}`,
            projectId,
            policy,
            at.getTime(),
            at.getTime(),
          );
          return toRetention(required(row, "insert into retention_policies"), SQLITE);
        } catch (error) {
          throw conflict(error, "retention_policies.project_id", `project ${projectId} has a retention policy already`);
        }
      }),
    get: (id) => read((db) => getRetention(db, "id", id)),
    forProject: (projectId) => read((db) => getRetention(db, "project_id", projectId)),
    update: (id, policy, at) =>
      write((db) => {
        const row = db.row<RetentionRow>(
          `UPDATE retention_policies SET policy = ?, updated_at = ? WHERE id = ? RETURNING ${RETENTION_COLUMNS}`,
          policy,
          at.getTime(),
          id,
        );
        return row && toRetention(row, SQLITE);
      }),
    delete: (id) => write((db) => db.run("DELETE FROM retention_policies WHERE id = ?", id) > 0),
  };
}
