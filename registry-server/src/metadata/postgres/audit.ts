// The audit log area of the PostgreSQL metadata store (AuditMetadata): its statements, bound to
// the store's connections by store.ts. Rows, the listing and the purge's conditions are in
// rows/audit.ts; sqlite/audit.ts is the same area on SQLite.

import type { AuditMetadata } from "../identity-store.ts";
import { auditListing, purgeConditions, toAudit, type AuditRow } from "../rows/audit.ts";
import { windowNumber } from "../rows/sql.ts";
import { listing, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

export function auditArea(read: Run, write: Run): AuditMetadata {
  return {
    append: (entry) =>
      write(async (db) => {
        await db.run(
          `INSERT INTO audit_logs (username, resource, resource_type, operation, success, project_id, op_time)
             VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          entry.username,
          entry.resource,
          entry.resourceType,
          entry.operation,
          entry.success,
          entry.projectId ?? null,
          entry.opTime,
        );
      }),
    list: (filter, window) =>
      read((db) => listing(db, auditListing(POSTGRES, filter), window, (row: AuditRow) => toAudit(row, POSTGRES))),
    countPurgeable: (purge) =>
      read(async (db) => {
        const where = purgeConditions(POSTGRES, purge);
        return db.count(`SELECT count(*) AS n FROM audit_logs ${where.toString()}`, ...where.params);
      }),
    deletePurgeable: (purge, limit) =>
      write(async (db) => {
        const where = purgeConditions(POSTGRES, purge);
        const max = where.bind(windowNumber(limit));
        return db.run(
          `DELETE FROM audit_logs WHERE id IN
             (SELECT id FROM audit_logs ${where.toString()} ORDER BY op_time, id LIMIT ${max})`,
          ...where.params,
        );
      }),
  };
}
