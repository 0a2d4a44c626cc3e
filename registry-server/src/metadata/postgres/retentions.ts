// The retentions area of the PostgreSQL metadata store (RetentionMetadata): its statements, bound
// to the store's connections by store.ts. Rows are in rows/retentions.ts; sqlite/retentions.ts is
// the same area on SQLite.

import type { RetentionMetadata, RetentionPolicyRecord } from "../lifecycle-store.ts";
import { RETENTION_COLUMNS, toRetention, type RetentionRow } from "../rows/retentions.ts";
import { required } from "../rows/sql.ts";
import { conflict, type Db, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

async function getRetention(
  db: Db,
  column: "id" | "project_id",
  value: number,
): Promise<RetentionPolicyRecord | undefined> {
  const row = await db.row<RetentionRow>(
    `SELECT ${RETENTION_COLUMNS} FROM retention_policies WHERE ${column} = $1`,
    value,
  );
  return row && toRetention(row, POSTGRES);
}

export function retentionArea(read: Run, write: Run): RetentionMetadata {
  return {
    create: (projectId, policy, at) =>
      write(async (db) => {
        try {
          const row = await db.row<RetentionRow>(
            `INSERT INTO retention_policies (project_id, policy, created_at, updated_at) VALUES ($1, $2, $3, $3)
               RETURNING ${RETENTION_COLUMNS}`,
            projectId,
            policy,
            at,
          );
          return toRetention(required(row, "insert into retention_policies"), POSTGRES);
        } catch (error) {
          throw conflict(
            error,
            "retention_policies_project_key",
            `project ${projectId} has a retention policy already`,
          );
        }
      }),
    get: (id) => read((db) => getRetention(db, "id", id)),
    forProject: (projectId) => read((db) => getRetention(db, "project_id", projectId)),
    update: (id, policy, at) =>
      write(async (db) => {
        const row = await db.row<RetentionRow>(
          `UPDATE retention_policies SET policy = $1, updated_at = $2 WHERE id = $3 RETURNING ${RETENTION_COLUMNS}`,
          policy,
          at,
          id,
        );
        return row && toRetention(row, POSTGRES);
      }),
    delete: (id) => write(async (db) => (await db.run("DELETE FROM retention_policies WHERE id = $1", id)) > 0),
  };
}
