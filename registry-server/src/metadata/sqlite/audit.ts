// The audit log area of the SQLite metadata store (AuditMetadata): its statements, bound to the
// store's connections by store.ts. Rows, the listing and the purge's conditions are in
// rows/audit.ts; postgres/audit.ts is the same area on PostgreSQL.

import type { AuditMetadata } from "../identity-store.ts";
import { auditListing, purgeConditions, toAudit, type AuditRow } from "../rows/audit.ts";
import { windowNumber } from "../rows/sql.ts";
import { SQLITE } from "./dialect.ts";
import { listing, type Run } from "./statements.ts";

export function auditArea(read: Run, write: Run): AuditMetadata {
  return {
    append: (entry) =>
      write((db) => {
        db.run(
          `INSERT INTO audit_logs (username, resource, resource_type, operation, success, project_id, op_time)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          entry.username,
          entry.resource,
          entry.resourceType,
          entry.operation,
          entry.success ? 1 : 0,
          entry.projectId ?? null,
          entry.opTime.getTime(),
        );
      }),
    list: (filter, window) =>
      read((db) => listing(db, auditListing(SQLITE, filter), window, (row: AuditRow) => toAudit(row, SQLITE))),
    countPurgeable: (purge) =>
      read((db) => {
        const where = purgeConditions(SQLITE, purge);
        return db.count(`SELECT count(*) AS n FROM audit_logs ${where.toString()}`, ...where.params);
      }),
    deletePurgeable: (purge, limit) =>
      write((db) => {
        const where = purgeConditions(SQLITE, purge);
        const max = where.bind(windowNumber(limit));
        return db.run(
          `DELETE FROM audit_logs WHERE id IN
             (SELECT id FROM audit_logs ${where.toString()} ORDER BY op_time, id LIMIT ${max})`,
          ...where.params,
        );
      }),
  };
}
