// The jobs area of the SQLite metadata store: its tables (a schema step appended to
// sqlite-store.ts's migrations) and its queries, which sqlite-store.ts wires to its connections
// and transactions. Claims and schedule advances are single statements: SQLite's one writer at a
// time (across processes too) makes each of them atomic.

import type { Listing, Window } from "./identity-store.ts";
import {
  MAX_LOG_LINE_LENGTH,
  MAX_LOG_LINES,
  type ExecutionEnd,
  type ExecutionRecord,
  type ExecutionStatus,
  type ExecutionTrigger,
  type JobMetadata,
  type NewExecution,
  type NewSchedule,
  type ScheduleRecord,
} from "./job-store.ts";
import { StatementCache } from "./sqlite-statements.ts";

export const JOBS_SCHEMA = `
  CREATE TABLE job_executions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor_type TEXT NOT NULL,
    vendor_id INTEGER NOT NULL,
    trigger_kind TEXT NOT NULL,
    parameters TEXT NOT NULL CHECK (json_valid(parameters)),
    status TEXT NOT NULL CHECK (status IN ('Pending', 'Running', 'Stopped', 'Error', 'Success')),
    status_message TEXT NOT NULL,
    extra_attrs TEXT NOT NULL CHECK (json_valid(extra_attrs)),
    attempts INTEGER NOT NULL,
    stop_requested INTEGER NOT NULL CHECK (stop_requested IN (0, 1)),
    owner TEXT,
    lease_until INTEGER,
    not_before INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    started_at INTEGER,
    ended_at INTEGER
  ) STRICT;
  CREATE INDEX job_executions_by_vendor ON job_executions (vendor_type, vendor_id, id);
  -- What workers poll: the few executions not yet ended.
  CREATE INDEX job_executions_open ON job_executions (status, id) WHERE status IN ('Pending', 'Running');

  CREATE TABLE job_logs (
    id INTEGER PRIMARY KEY,
    execution_id INTEGER NOT NULL REFERENCES job_executions (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    line TEXT NOT NULL
  ) STRICT;
  CREATE INDEX job_logs_by_execution ON job_logs (execution_id, id);

  CREATE TABLE job_schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor_type TEXT NOT NULL,
    vendor_id INTEGER NOT NULL,
    cron_type TEXT NOT NULL,
    cron TEXT NOT NULL,
    parameters TEXT NOT NULL CHECK (json_valid(parameters)),
    next_run_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (vendor_type, vendor_id)
  ) STRICT;
`;

interface ExecutionRow {
  id: number;
  vendor_type: string;
  vendor_id: number;
  trigger_kind: string;
  parameters: string;
  status: string;
  status_message: string;
  extra_attrs: string;
  attempts: number;
  stop_requested: number;
  owner: string | null;
  lease_until: number | null;
  not_before: number | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  ended_at: number | null;
}

interface ScheduleRow {
  id: number;
  vendor_type: string;
  vendor_id: number;
  cron_type: string;
  cron: string;
  parameters: string;
  next_run_at: number;
  created_at: number;
  updated_at: number;
}

const EXECUTION_COLUMNS =
  "id, vendor_type, vendor_id, trigger_kind, parameters, status, status_message, extra_attrs, attempts, " +
  "stop_requested, owner, lease_until, not_before, created_at, updated_at, started_at, ended_at";
const SCHEDULE_COLUMNS = "id, vendor_type, vendor_id, cron_type, cron, parameters, next_run_at, created_at, updated_at";

function toExecution(row: ExecutionRow): ExecutionRecord {
  const optionalDate = (value: number | null): Date | undefined => (value === null ? undefined : new Date(value));
  const leaseUntil = optionalDate(row.lease_until);
  const notBefore = optionalDate(row.not_before);
  const startedAt = optionalDate(row.started_at);
  const endedAt = optionalDate(row.ended_at);
  return {
    id: row.id,
    vendorType: row.vendor_type,
    vendorId: row.vendor_id,
    trigger: row.trigger_kind as ExecutionTrigger,
    parameters: JSON.parse(row.parameters) as Record<string, unknown>,
    status: row.status as ExecutionStatus,
    statusMessage: row.status_message,
    extraAttrs: JSON.parse(row.extra_attrs) as Record<string, unknown>,
    attempts: row.attempts,
    stopRequested: row.stop_requested === 1,
    ...(row.owner !== null && { owner: row.owner }),
    ...(leaseUntil && { leaseUntil }),
    ...(notBefore && { notBefore }),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    ...(startedAt && { startedAt }),
    ...(endedAt && { endedAt }),
  };
}

function toSchedule(row: ScheduleRow): ScheduleRecord {
  return {
    id: row.id,
    vendorType: row.vendor_type,
    vendorId: row.vendor_id,
    cronType: row.cron_type,
    cron: row.cron,
    parameters: JSON.parse(row.parameters) as Record<string, unknown>,
    nextRunAt: new Date(row.next_run_at),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function required<R>(row: R | undefined, what: string): R {
  if (row === undefined) throw new Error(`${what} returned no row`);
  return row;
}

/** The jobs queries on one connection, synchronous. */
export class JobQueries extends StatementCache {
  createExecution(execution: NewExecution, at: Date): ExecutionRecord {
    const row = this.row<ExecutionRow>(
      `INSERT INTO job_executions (vendor_type, vendor_id, trigger_kind, parameters, status, status_message,
         extra_attrs, attempts, stop_requested, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'Pending', '', '{}', 0, 0, ?, ?) RETURNING ${EXECUTION_COLUMNS}`,
      execution.vendorType,
      execution.vendorId ?? -1,
      execution.trigger,
      JSON.stringify(execution.parameters),
      at.getTime(),
      at.getTime(),
    );
    return toExecution(required(row, "INSERT INTO job_executions"));
  }

  getExecution(id: number): ExecutionRecord | undefined {
    const row = this.row<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM job_executions WHERE id = ?`, id);
    return row && toExecution(row);
  }

  listExecutions(filter: { vendorType: string; vendorId?: number }, window: Window): Listing<ExecutionRecord> {
    const where = filter.vendorId === undefined ? "vendor_type = ?" : "vendor_type = ? AND vendor_id = ?";
    const params = filter.vendorId === undefined ? [filter.vendorType] : [filter.vendorType, filter.vendorId];
    const items = this.rows<ExecutionRow>(
      `SELECT ${EXECUTION_COLUMNS} FROM job_executions WHERE ${where} ORDER BY id DESC LIMIT ? OFFSET ?`,
      ...params,
      Math.max(0, Math.floor(window.limit)),
      Math.max(0, Math.floor(window.offset)),
    ).map(toExecution);
    const total = this.row<{ n: number }>(`SELECT count(*) AS n FROM job_executions WHERE ${where}`, ...params)?.n ?? 0;
    return { items, total };
  }

  claim(vendorTypes: readonly string[], owner: string, now: Date, leaseUntil: Date): ExecutionRecord | undefined {
    if (vendorTypes.length === 0) return undefined;
    const types = vendorTypes.map(() => "?").join(", ");
    const row = this.row<ExecutionRow>(
      `UPDATE job_executions SET status = 'Running', owner = ?, lease_until = ?, attempts = attempts + 1,
         started_at = coalesce(started_at, ?), updated_at = ?
       WHERE id = (
         SELECT id FROM job_executions
         WHERE vendor_type IN (${types})
           AND ((status = 'Pending' AND coalesce(not_before, 0) <= ?) OR (status = 'Running' AND lease_until < ?))
         ORDER BY id LIMIT 1)
       RETURNING ${EXECUTION_COLUMNS}`,
      owner,
      leaseUntil.getTime(),
      now.getTime(),
      now.getTime(),
      ...vendorTypes,
      now.getTime(),
      now.getTime(),
    );
    return row && toExecution(row);
  }

  renew(
    id: number,
    owner: string,
    leaseUntil: Date,
    extraAttrs: Readonly<Record<string, unknown>>,
    at: Date,
  ): ExecutionRecord | undefined {
    const row = this.row<ExecutionRow>(
      `UPDATE job_executions SET lease_until = ?, extra_attrs = ?, updated_at = ?
       WHERE id = ? AND status = 'Running' AND owner = ? RETURNING ${EXECUTION_COLUMNS}`,
      leaseUntil.getTime(),
      JSON.stringify(extraAttrs),
      at.getTime(),
      id,
      owner,
    );
    return row && toExecution(row);
  }

  finish(id: number, owner: string, end: ExecutionEnd, at: Date): boolean {
    return (
      this.run(
        `UPDATE job_executions SET status = ?, status_message = ?, extra_attrs = ?, owner = NULL, lease_until = NULL,
           updated_at = ?, ended_at = ?
         WHERE id = ? AND status = 'Running' AND owner = ?`,
        end.status,
        end.message,
        JSON.stringify(end.extraAttrs),
        at.getTime(),
        at.getTime(),
        id,
        owner,
      ) > 0
    );
  }

  requeue(id: number, owner: string, notBefore: Date, message: string, at: Date): boolean {
    return (
      this.run(
        `UPDATE job_executions SET status = 'Pending', status_message = ?, owner = NULL, lease_until = NULL,
           not_before = ?, updated_at = ?
         WHERE id = ? AND status = 'Running' AND owner = ?`,
        message,
        notBefore.getTime(),
        at.getTime(),
        id,
        owner,
      ) > 0
    );
  }

  requestStop(id: number, at: Date): ExecutionRecord | undefined {
    this.run(
      `UPDATE job_executions SET status = 'Stopped', status_message = 'stopped before it started',
         updated_at = ?, ended_at = ? WHERE id = ? AND status = 'Pending'`,
      at.getTime(),
      at.getTime(),
      id,
    );
    this.run(
      "UPDATE job_executions SET stop_requested = 1, updated_at = ? WHERE id = ? AND status = 'Running'",
      at.getTime(),
      id,
    );
    return this.getExecution(id);
  }

  pruneExecutions(vendorType: string, vendorId: number | undefined, keep: number): number {
    return this.run(
      `DELETE FROM job_executions
       WHERE vendor_type = ? AND (? IS NULL OR vendor_id = ?) AND status IN ('Stopped', 'Error', 'Success')
         AND id NOT IN (
           SELECT id FROM job_executions WHERE vendor_type = ? AND (? IS NULL OR vendor_id = ?)
             AND status IN ('Stopped', 'Error', 'Success')
           ORDER BY id DESC LIMIT ?)`,
      vendorType,
      vendorId ?? null,
      vendorId ?? null,
      vendorType,
      vendorId ?? null,
      vendorId ?? null,
      Math.max(0, Math.floor(keep)),
    );
  }

  appendLog(id: number, lines: readonly string[], at: Date): void {
    for (const line of lines) {
      this.run(
        `INSERT INTO job_logs (execution_id, at, line)
         SELECT ?, ?, ? WHERE (SELECT count(*) FROM job_logs WHERE execution_id = ?) < ?`,
        id,
        at.getTime(),
        line.slice(0, MAX_LOG_LINE_LENGTH),
        id,
        MAX_LOG_LINES,
      );
    }
  }

  log(id: number): string {
    return this.rows<{ line: string }>("SELECT line FROM job_logs WHERE execution_id = ? ORDER BY id", id)
      .map((row) => row.line)
      .join("\n");
  }

  putSchedule(schedule: NewSchedule, at: Date): ScheduleRecord {
    const row = this.row<ScheduleRow>(
      `INSERT INTO job_schedules (vendor_type, vendor_id, cron_type, cron, parameters, next_run_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (vendor_type, vendor_id) DO UPDATE SET cron_type = excluded.cron_type, cron = excluded.cron,
         parameters = excluded.parameters, next_run_at = excluded.next_run_at, updated_at = excluded.updated_at
       RETURNING ${SCHEDULE_COLUMNS}`,
      schedule.vendorType,
      schedule.vendorId ?? -1,
      schedule.cronType,
      schedule.cron,
      JSON.stringify(schedule.parameters),
      schedule.nextRunAt.getTime(),
      at.getTime(),
      at.getTime(),
    );
    return toSchedule(required(row, "INSERT INTO job_schedules"));
  }

  getSchedule(vendorType: string, vendorId = -1): ScheduleRecord | undefined {
    const row = this.row<ScheduleRow>(
      `SELECT ${SCHEDULE_COLUMNS} FROM job_schedules WHERE vendor_type = ? AND vendor_id = ?`,
      vendorType,
      vendorId,
    );
    return row && toSchedule(row);
  }

  deleteSchedule(vendorType: string, vendorId = -1): boolean {
    return this.run("DELETE FROM job_schedules WHERE vendor_type = ? AND vendor_id = ?", vendorType, vendorId) > 0;
  }

  dueSchedules(now: Date): ScheduleRecord[] {
    return this.rows<ScheduleRow>(
      `SELECT ${SCHEDULE_COLUMNS} FROM job_schedules WHERE next_run_at <= ? ORDER BY next_run_at, id`,
      now.getTime(),
    ).map(toSchedule);
  }

  advanceSchedule(id: number, expected: Date, next: Date): boolean {
    return (
      this.run(
        "UPDATE job_schedules SET next_run_at = ? WHERE id = ? AND next_run_at = ?",
        next.getTime(),
        id,
        expected.getTime(),
      ) > 0
    );
  }
}

type JobRun = <T>(query: (queries: JobQueries) => T) => Promise<T>;

/** The jobs area, reads through `read` and writes (one transaction each) through `write`. */
export function bindJobArea(read: JobRun, write: JobRun): JobMetadata {
  return {
    createExecution: (execution, at) => write((q) => q.createExecution(execution, at)),
    getExecution: (id) => read((q) => q.getExecution(id)),
    listExecutions: (filter, window) => read((q) => q.listExecutions(filter, window)),
    claim: (types, owner, now, leaseUntil) => write((q) => q.claim(types, owner, now, leaseUntil)),
    renew: (id, owner, leaseUntil, extraAttrs, at) => write((q) => q.renew(id, owner, leaseUntil, extraAttrs, at)),
    finish: (id, owner, end, at) => write((q) => q.finish(id, owner, end, at)),
    requeue: (id, owner, notBefore, message, at) => write((q) => q.requeue(id, owner, notBefore, message, at)),
    requestStop: (id, at) => write((q) => q.requestStop(id, at)),
    pruneExecutions: (vendorType, vendorId, keep) => write((q) => q.pruneExecutions(vendorType, vendorId, keep)),
    appendLog: (id, lines, at) => write((q) => q.appendLog(id, lines, at)),
    log: (id) => read((q) => q.log(id)),
    putSchedule: (schedule, at) => write((q) => q.putSchedule(schedule, at)),
    getSchedule: (vendorType, vendorId) => read((q) => q.getSchedule(vendorType, vendorId)),
    deleteSchedule: (vendorType, vendorId) => write((q) => q.deleteSchedule(vendorType, vendorId)),
    dueSchedules: (now) => read((q) => q.dueSchedules(now)),
    advanceSchedule: (id, expected, next) => write((q) => q.advanceSchedule(id, expected, next)),
  };
}
