// The audit log's rows (AuditMetadata in identity-store.ts), as both backends read them, the
// listing of entries with its filter (Harbor's audit log query), and the entries a purge selects.

import type { AuditFilter, AuditPurge, AuditRecord } from "../identity-store.ts";
import {
  Conditions,
  among,
  type Dialect,
  type ListingQuery,
  type RowReader,
  type StoredBool,
  type StoredTime,
} from "./sql.ts";

export interface AuditRow {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  success: StoredBool;
  project_id: number | null;
  op_time: StoredTime;
}

export const AUDIT_COLUMNS = "id, username, resource, resource_type, operation, success, project_id, op_time";

export function toAudit(row: AuditRow, r: RowReader): AuditRecord {
  return {
    id: row.id,
    username: row.username,
    resource: row.resource,
    resourceType: row.resource_type,
    operation: row.operation,
    success: r.flag(row.success),
    ...(row.project_id !== null && { projectId: row.project_id }),
    opTime: r.date(row.op_time),
  };
}

/** Entries newest first under `filter`. */
export function auditListing<V>(d: Dialect<V>, filter: AuditFilter): ListingQuery<V> {
  const where = new Conditions(d);
  if (filter.projectId !== undefined) where.equals("project_id", filter.projectId);
  where.among("project_id", filter.projectIds);
  if (filter.username !== undefined) where.equals("username", filter.username);
  where.among("operation", filter.operations);
  where.among("resource_type", filter.resourceTypes);
  if (filter.resource !== undefined) where.contains("resource", filter.resource);
  const { from, to } = filter;
  if (from !== undefined) where.add((p) => `op_time >= ${p(d.time(from))}`);
  if (to !== undefined) where.add((p) => `op_time <= ${p(d.time(to))}`);
  return { columns: AUDIT_COLUMNS, from: "audit_logs", where, order: "op_time DESC, id DESC" };
}

/**
 * The entries `purge` selects: older than its time, and of one of its operations or event types
 * (`<operation>_<resource type>`); with both lists empty, none.
 */
export function purgeConditions<V>(d: Dialect<V>, purge: AuditPurge): Conditions<V> {
  return new Conditions(d)
    .add((p) => `op_time < ${p(d.time(purge.before))}`)
    .add(
      (p) =>
        `(${among(d, "operation", purge.operations, p)} OR ` +
        `${among(d, "operation || '_' || resource_type", purge.eventTypes, p)})`,
    );
}
