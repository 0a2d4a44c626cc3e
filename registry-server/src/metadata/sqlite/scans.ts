// The scanning areas of the SQLite metadata store (scan-store.ts): reports and CVE allowlists,
// bound to the store's connections by store.ts. Rows are in rows/scans.ts; postgres/scans.ts is
// the same areas on PostgreSQL.

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
import { SQLITE } from "./dialect.ts";
import { type Run } from "./statements.ts";

/** Statuses a report ends in, as SQL. */
const ENDED = "('Success', 'Error', 'Stopped')";

export function scanReportArea(read: Run, write: Run): ScanReportMetadata {
  return {
    // One statement: a report under way keeps its row (the WHERE of the upsert fails, nothing
    // is returned), an ended one is replaced by a new one with a new id.
    begin: (key, executionId, at) =>
      write((db) => {
        const row = db.row<ScanReportRow>(
          `INSERT INTO scan_reports (uuid, digest, registration_uuid, mime_type, status, execution_id, start_time)
             VALUES (?, ?, ?, ?, 'Pending', ?, ?)
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
          at.getTime(),
        );
        return row && toScanReport(row, SQLITE);
      }),
    start: (uuid, taskId, scanner, at) =>
      write(
        (db) =>
          db.run(
            `UPDATE scan_reports SET status = 'Running', task_id = ?, scanner = ?, start_time = ?
               WHERE uuid = ? AND status NOT IN ${ENDED}`,
            taskId,
            scanner === undefined ? null : JSON.stringify(scanner),
            at.getTime(),
            uuid,
          ) > 0,
      ),
    finish: (uuid, outcome, at) =>
      write(
        (db) =>
          db.run(
            `UPDATE scan_reports SET status = ?, report = ?, severity = ?, summary = ?,
               scanner = coalesce(?, scanner), database_updated_at = ?, message = ?, end_time = ?
               WHERE uuid = ? AND status NOT IN ${ENDED}`,
            outcome.status,
            outcome.report ?? null,
            outcome.severity ?? null,
            outcome.summary === undefined ? null : JSON.stringify(outcome.summary),
            outcome.scanner === undefined ? null : JSON.stringify(outcome.scanner),
            outcome.databaseUpdatedAt === undefined ? null : outcome.databaseUpdatedAt.getTime(),
            outcome.message ?? null,
            at.getTime(),
            uuid,
          ) > 0,
      ),
    get: (uuid) =>
      read((db) => {
        const row = db.row<ScanReportRow>(`SELECT ${SCAN_REPORT_COLUMNS} FROM scan_reports WHERE uuid = ?`, uuid);
        return row && toScanReport(row, SQLITE);
      }),
    reportText: (uuid) =>
      read(
        (db) =>
          db.row<{ report: string | null }>("SELECT report FROM scan_reports WHERE uuid = ?", uuid)?.report ??
          undefined,
      ),
    forDigests: (digests, filter = {}) =>
      read((db) => {
        if (digests.length === 0) return [];
        const statement = scanReportsOf(SQLITE, digests, filter);
        return db.rows<ScanReportRow>(statement.sql, ...statement.params).map((row) => toScanReport(row, SQLITE));
      }),
    unfinished: (executionId) =>
      read((db) =>
        db
          .rows<ScanReportRow>(
            `SELECT ${SCAN_REPORT_COLUMNS} FROM scan_reports WHERE execution_id = ? AND status NOT IN ${ENDED}`,
            executionId,
          )
          .map((row) => toScanReport(row, SQLITE)),
      ),
    countByStatus: (executionIds) =>
      read((db) => {
        const rows =
          executionIds === undefined
            ? db.rows<{ status: string; n: number | string }>(
                "SELECT status, count(*) AS n FROM scan_reports GROUP BY status",
              )
            : executionIds.length === 0
              ? []
              : db.rows<{ status: string; n: number | string }>(
                  `SELECT status, count(*) AS n FROM scan_reports WHERE ${SQLITE.inList("execution_id", "?", "bigint")}
                     GROUP BY status`,
                  SQLITE.list(executionIds),
                );
        return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
      }),
    severityByProject: (mimeTypes) =>
      read((db) => {
        const totals: Record<string, Record<string, number>> = {};
        const statement = projectSummaries(SQLITE, mimeTypes);
        for (const row of db.rows<{ project: string; summary: string | VulnerabilitySummary }>(
          statement.sql,
          ...statement.params,
        )) {
          addSeverities(totals, row.project, SQLITE.json<VulnerabilitySummary>(row.summary));
        }
        return totals;
      }),
    deleteOrphans: (limit) =>
      write((db) =>
        db.run(
          `DELETE FROM scan_reports WHERE uuid IN (
               SELECT uuid FROM scan_reports r WHERE r.status IN ${ENDED}
                 AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = r.digest) LIMIT ?)`,
          limit,
        ),
      ),
  };
}

export function cveAllowlistArea(read: Run, write: Run): CveAllowlistMetadata {
  return {
    get: (projectId) =>
      read((db) => {
        const row = db.row<CveAllowlistRow>(
          `SELECT ${CVE_ALLOWLIST_COLUMNS} FROM cve_allowlists WHERE project_id = ?`,
          projectId,
        );
        return row && toCveAllowlist(row, SQLITE);
      }),
    put: (projectId, items, expiresAt, at) =>
      write((db) => {
        const row = db.row<CveAllowlistRow>(
          `INSERT INTO cve_allowlists (project_id, items, expires_at, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (project_id) DO UPDATE SET
               items = excluded.items, expires_at = excluded.expires_at, updated_at = excluded.updated_at
             RETURNING ${CVE_ALLOWLIST_COLUMNS}`,
          projectId,
          JSON.stringify(items),
          expiresAt === undefined ? null : expiresAt.getTime(),
          at.getTime(),
          at.getTime(),
        );
        return toCveAllowlist(required(row, "upsert into cve_allowlists"), SQLITE);
      }),
    delete: (projectId) => write((db) => db.run("DELETE FROM cve_allowlists WHERE project_id = ?", projectId) > 0),
  };
}
