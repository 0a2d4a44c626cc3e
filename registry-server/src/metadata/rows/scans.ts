// The scanning areas' rows (scan-store.ts), as both backends read them: scan reports without their
// text, and CVE allowlists.

import type {
  CveAllowlistRecord,
  ScannerStamp,
  ScanReportRecord,
  ScanStatus,
  VulnerabilitySummary,
} from "../scan-store.ts";
import { Conditions, type Dialect, type RowReader, type Statement, type StoredJson, type StoredTime } from "./sql.ts";

export interface ScanReportRow {
  uuid: string;
  digest: string;
  registration_uuid: string;
  mime_type: string;
  status: string;
  scanner: StoredJson<ScannerStamp> | null;
  start_time: StoredTime | null;
  end_time: StoredTime | null;
  severity: string | null;
  summary: StoredJson<VulnerabilitySummary> | null;
  database_updated_at: StoredTime | null;
  execution_id: number | string | null;
  task_id: number | string | null;
  message: string | null;
}

/** Every column but the report's text. */
export const SCAN_REPORT_COLUMNS =
  "uuid, digest, registration_uuid, mime_type, status, scanner, start_time, end_time, severity, summary, " +
  "database_updated_at, execution_id, task_id, message";

export function toScanReport(row: ScanReportRow, r: RowReader): ScanReportRecord {
  return {
    uuid: row.uuid,
    digest: row.digest,
    registrationUuid: row.registration_uuid,
    mimeType: row.mime_type,
    status: row.status as ScanStatus,
    ...(row.scanner !== null && { scanner: r.json<ScannerStamp>(row.scanner) }),
    ...(row.start_time !== null && { startTime: r.date(row.start_time) }),
    ...(row.end_time !== null && { endTime: r.date(row.end_time) }),
    ...(row.severity !== null && { severity: row.severity }),
    ...(row.summary !== null && { summary: r.json<VulnerabilitySummary>(row.summary) }),
    ...(row.database_updated_at !== null && { databaseUpdatedAt: r.date(row.database_updated_at) }),
    ...(row.execution_id !== null && { executionId: Number(row.execution_id) }),
    ...(row.task_id !== null && { taskId: Number(row.task_id) }),
    ...(row.message !== null && { message: row.message }),
  };
}

/** The reports of `digests`, narrowed to a registration and MIME types when given. */
export function scanReportsOf<V>(
  d: Dialect<V>,
  digests: readonly string[],
  filter: { readonly registrationUuid?: string; readonly mimeTypes?: readonly string[] },
): Statement<V> {
  const where = new Conditions(d).among("digest", digests);
  if (filter.registrationUuid !== undefined) where.equals("registration_uuid", filter.registrationUuid);
  where.among("mime_type", filter.mimeTypes);
  return {
    sql: `SELECT ${SCAN_REPORT_COLUMNS} FROM scan_reports ${where.toString()} ORDER BY digest, mime_type`,
    params: where.params,
  };
}

export interface CveAllowlistRow {
  id: number | string;
  project_id: number | string;
  items: StoredJson<string[]>;
  expires_at: StoredTime | null;
  created_at: StoredTime;
  updated_at: StoredTime;
}

export const CVE_ALLOWLIST_COLUMNS = "id, project_id, items, expires_at, created_at, updated_at";

export function toCveAllowlist(row: CveAllowlistRow, r: RowReader): CveAllowlistRecord {
  return {
    id: Number(row.id),
    projectId: Number(row.project_id),
    items: r.json<string[]>(row.items),
    ...(row.expires_at !== null && { expiresAt: r.date(row.expires_at) }),
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
  };
}

/**
 * The Success reports of manifests, with the project of the repository holding each (a digest in
 * two repositories counts in both): what the metrics add up per project.
 */
export function projectSummaries<V>(d: Dialect<V>, mimeTypes: readonly string[]): Statement<V> {
  const where = new Conditions(d).equals("r.status", "Success").among("r.mime_type", mimeTypes);
  where.add("r.summary IS NOT NULL");
  return {
    sql: `SELECT ${d.firstSegment("m.repository")} AS project, r.summary AS summary
            FROM scan_reports r JOIN manifests m ON m.digest = r.digest ${where.toString()}`,
    params: where.params,
  };
}

/** Sums summaries' severity counts per project name. */
export function addSeverities(
  totals: Record<string, Record<string, number>>,
  project: string,
  summary: VulnerabilitySummary,
): void {
  const counts = (totals[project] ??= {});
  for (const [severity, count] of Object.entries(summary.summary)) {
    counts[severity] = (counts[severity] ?? 0) + count;
  }
}
