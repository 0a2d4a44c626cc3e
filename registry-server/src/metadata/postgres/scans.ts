// The scanning areas of the PostgreSQL metadata store (scan-store.ts): reports and CVE allowlists,
// bound to the store's connections by store.ts. Rows are in rows/scans.ts; sqlite/scans.ts is
// the same areas on SQLite.

import { randomUUID } from "node:crypto";
import {
  addSeverities,
  CVE_ALLOWLIST_COLUMNS,
  projectSummaries,
  SCAN_REPORT_COLUMNS,
  scanReportsOf,
  toCveAllowlist,
  toScanReport,
  type CveAllowlistRow,
  type ScanReportRow,
} from "../rows/scans.ts";
import { required } from "../rows/sql.ts";
import type { CveAllowlistMetadata, ScanReportMetadata, VulnerabilitySummary } from "../scan-store.ts";
import { POSTGRES } from "./dialect.ts";
import { type Run } from "./connection.ts";

/** Statuses a report ends in, as SQL. */
const ENDED = "('Success', 'Error', 'Stopped')";

export function scanReportArea(read: Run, write: Run): ScanReportMetadata {
  return {
    // One statement: a report under way keeps its row (the WHERE of the upsert fails, nothing
    // is returned), an ended one is replaced by a new one with a new id.
    begin: (key, executionId, at) =>
      write(async (db) => {
        const row = await db.row<ScanReportRow>(
          `INSERT INTO scan_reports (uuid, digest, registration_uuid, mime_type, status, execution_id, start_time)
             VALUES ($1, $2, $3, $4, 'Pending', $5, $6)
             ON CONFLICT (digest, registration_uuid, mime_type) DO UPDATE SET
               uuid = excluded.uuid, status = 'Pending', execution_id = excluded.execution_id,
               start_time = excluded.start_time, end_time = NULL, scanner = NULL, severity = NULL,
               summary = NULL, report = NULL, database_updated_at = NULL, task_id = NULL, message = NULL
             WHERE scan_reports.status IN ${ENDED}
             RETURNING ${SCAN_REPORT_COLUMNS}`,
          randomUUID(),
          key.digest,
          key.registrationUuid,
          key.mimeType,
          executionId,
          at,
        );
        return row && toScanReport(row, POSTGRES);
      }),
    start: (uuid, taskId, scanner, at) =>
      write(
        async (db) =>
          (await db.run(
            `UPDATE scan_reports SET status = 'Running', task_id = $1, scanner = $2, start_time = $3
               WHERE uuid = $4 AND status NOT IN ${ENDED}`,
            taskId,
            scanner === undefined ? null : JSON.stringify(scanner),
            at,
            uuid,
          )) > 0,
      ),
    finish: (uuid, outcome, at) =>
      write(
        async (db) =>
          (await db.run(
            `UPDATE scan_reports SET status = $1, report = $2, severity = $3, summary = $4,
               scanner = coalesce($5, scanner), database_updated_at = $6, message = $7, end_time = $8
               WHERE uuid = $9 AND status NOT IN ${ENDED}`,
            outcome.status,
            outcome.report ?? null,
            outcome.severity ?? null,
            outcome.summary === undefined ? null : JSON.stringify(outcome.summary),
            outcome.scanner === undefined ? null : JSON.stringify(outcome.scanner),
            outcome.databaseUpdatedAt ?? null,
            outcome.message ?? null,
            at,
            uuid,
          )) > 0,
      ),
    get: (uuid) =>
      read(async (db) => {
        const row = await db.row<ScanReportRow>(
          `SELECT ${SCAN_REPORT_COLUMNS} FROM scan_reports WHERE uuid = $1`,
          uuid,
        );
        return row && toScanReport(row, POSTGRES);
      }),
    reportText: (uuid) =>
      read(
        async (db) =>
          (await db.row<{ report: string | null }>("SELECT report FROM scan_reports WHERE uuid = $1", uuid))?.report ??
          undefined,
      ),
    forDigests: (digests, filter = {}) =>
      read(async (db) => {
        if (digests.length === 0) return [];
        const statement = scanReportsOf(POSTGRES, digests, filter);
        return (await db.rows<ScanReportRow>(statement.sql, ...statement.params)).map((row) =>
          toScanReport(row, POSTGRES),
        );
      }),
    unfinished: (executionId) =>
      read(async (db) =>
        (
          await db.rows<ScanReportRow>(
            `SELECT ${SCAN_REPORT_COLUMNS} FROM scan_reports WHERE execution_id = $1 AND status NOT IN ${ENDED}`,
            executionId,
          )
        ).map((row) => toScanReport(row, POSTGRES)),
      ),
    countByStatus: (executionIds) =>
      read(async (db) => {
        const rows =
          executionIds === undefined
            ? await db.rows<{ status: string; n: number | string }>(
                "SELECT status, count(*) AS n FROM scan_reports GROUP BY status",
              )
            : executionIds.length === 0
              ? []
              : await db.rows<{ status: string; n: number | string }>(
                  `SELECT status, count(*) AS n FROM scan_reports WHERE ${POSTGRES.inList("execution_id", "$1", "bigint")}
                     GROUP BY status`,
                  POSTGRES.list(executionIds),
                );
        return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
      }),
    severityByProject: (mimeTypes) =>
      read(async (db) => {
        const totals: Record<string, Record<string, number>> = {};
        const statement = projectSummaries(POSTGRES, mimeTypes);
        for (const row of await db.rows<{ project: string; summary: string | VulnerabilitySummary }>(
          statement.sql,
          ...statement.params,
        )) {
          addSeverities(totals, row.project, POSTGRES.json<VulnerabilitySummary>(row.summary));
        }
        return totals;
      }),
    deleteOrphans: (limit) =>
      write(
        async (db) =>
          await db.run(
            `DELETE FROM scan_reports WHERE uuid IN (
               SELECT uuid FROM scan_reports r WHERE r.status IN ${ENDED}
                 AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = r.digest) LIMIT $1)`,
            limit,
          ),
      ),
  };
}

export function cveAllowlistArea(read: Run, write: Run): CveAllowlistMetadata {
  return {
    get: (projectId) =>
      read(async (db) => {
        const row = await db.row<CveAllowlistRow>(
          `SELECT ${CVE_ALLOWLIST_COLUMNS} FROM cve_allowlists WHERE project_id = $1`,
          projectId,
        );
        return row && toCveAllowlist(row, POSTGRES);
      }),
    put: (projectId, items, expiresAt, at) =>
      write(async (db) => {
        const row = await db.row<CveAllowlistRow>(
          `INSERT INTO cve_allowlists (project_id, items, expires_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (project_id) DO UPDATE SET
               items = excluded.items, expires_at = excluded.expires_at, updated_at = excluded.updated_at
             RETURNING ${CVE_ALLOWLIST_COLUMNS}`,
          projectId,
          JSON.stringify(items),
          expiresAt ?? null,
          at,
        );
        return toCveAllowlist(required(row, "upsert into cve_allowlists"), POSTGRES);
      }),
    delete: (projectId) =>
      write(async (db) => (await db.run("DELETE FROM cve_allowlists WHERE project_id = $1", projectId)) > 0),
  };
}
