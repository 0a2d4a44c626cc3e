// The jobs area of the SQLite metadata store: its tables (a schema step appended to
// sqlite-store.ts's migrations) and its queries, which sqlite-store.ts wires to its connections
// and transactions. Claims and schedule advances are single statements: SQLite's one writer at a
// time (across processes too) makes each of them atomic.

import type { Listing, Window } from "../identity-store.ts";
import {
  FINAL_STATUSES,
  MAX_LOG_LINE_LENGTH,
  MAX_LOG_LINES,
  type QueueRecord,
  type TaskChange,
  type TaskRecord,
  type WorkerPoolRecord,
  type ExecutionEnd,
  type ExecutionRecord,
  type ExecutionStatus,
  type ExecutionTrigger,
  type JobMetadata,
  type NewExecution,
  type NewSchedule,
  type ScheduleRecord,
} from "../job-store.ts";
import { Db } from "./statements.ts";

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

interface TaskRow {
  id: number;
  execution_id: number;
  name: string;
  status: string;
  status_message: string;
  extra_attrs: string;
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
const TASK_COLUMNS =
  "id, execution_id, name, status, status_message, extra_attrs, created_at, updated_at, started_at, ended_at";
interface PoolRow {
  id: string;
  pid: number;
  host: string;
  concurrency: number;
  started_at: number;
  heartbeat_at: number;
}

const POOL_COLUMNS = "id, pid, host, concurrency, started_at, heartbeat_at";
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

function toTask(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    executionId: row.execution_id,
    name: row.name,
    status: row.status as ExecutionStatus,
    statusMessage: row.status_message,
    extraAttrs: JSON.parse(row.extra_attrs) as Record<string, unknown>,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    ...(row.started_at !== null && { startedAt: new Date(row.started_at) }),
    ...(row.ended_at !== null && { endedAt: new Date(row.ended_at) }),
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
export class JobQueries extends Db {
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

  appendLog(id: number, lines: readonly string[], at: Date, taskId?: number): void {
    for (const line of lines) {
      this.run(
        `INSERT INTO job_logs (execution_id, task_id, at, line)
         SELECT ?, ?, ?, ? WHERE (SELECT count(*) FROM job_logs WHERE execution_id = ? AND task_id IS ?) < ?`,
        id,
        taskId ?? null,
        at.getTime(),
        line.slice(0, MAX_LOG_LINE_LENGTH),
        id,
        taskId ?? null,
        MAX_LOG_LINES,
      );
    }
  }

  log(id: number, taskId?: number): string {
    return this.rows<{ line: string }>(
      "SELECT line FROM job_logs WHERE execution_id = ? AND task_id IS ? ORDER BY id",
      id,
      taskId ?? null,
    )
      .map((row) => row.line)
      .join("\n");
  }

  createTasks(
    executionId: number,
    tasks: ReadonlyArray<{ name: string; extraAttrs?: Readonly<Record<string, unknown>> }>,
    at: Date,
  ): TaskRecord[] {
    return tasks.map((task) => {
      const row = this.row<TaskRow>(
        `INSERT INTO job_tasks (execution_id, name, status, status_message, extra_attrs, created_at, updated_at)
           VALUES (?, ?, 'Pending', '', ?, ?, ?) RETURNING ${TASK_COLUMNS}`,
        executionId,
        task.name,
        JSON.stringify(task.extraAttrs ?? {}),
        at.getTime(),
        at.getTime(),
      );
      return toTask(required(row, "INSERT INTO job_tasks"));
    });
  }

  getTask(id: number): TaskRecord | undefined {
    const row = this.row<TaskRow>(`SELECT ${TASK_COLUMNS} FROM job_tasks WHERE id = ?`, id);
    return row && toTask(row);
  }

  listTasks(executionId: number, window: Window): Listing<TaskRecord> {
    const items = this.rows<TaskRow>(
      `SELECT ${TASK_COLUMNS} FROM job_tasks WHERE execution_id = ? ORDER BY id LIMIT ? OFFSET ?`,
      executionId,
      Math.max(0, Math.floor(window.limit)),
      Math.max(0, Math.floor(window.offset)),
    ).map(toTask);
    const total = this.row<{ n: number }>("SELECT count(*) AS n FROM job_tasks WHERE execution_id = ?", executionId)?.n;
    return { items, total: total ?? 0 };
  }

  updateTask(id: number, change: TaskChange, at: Date): TaskRecord | undefined {
    const final = change.status !== undefined && FINAL_STATUSES.has(change.status);
    const row = this.row<TaskRow>(
      `UPDATE job_tasks SET status = coalesce(?, status), status_message = coalesce(?, status_message),
         extra_attrs = coalesce(?, extra_attrs), updated_at = ?,
         started_at = CASE WHEN ? = 'Running' THEN coalesce(started_at, ?) ELSE started_at END,
         ended_at = CASE WHEN ? THEN ? ELSE ended_at END
       WHERE id = ? RETURNING ${TASK_COLUMNS}`,
      change.status ?? null,
      change.statusMessage ?? null,
      change.extraAttrs === undefined ? null : JSON.stringify(change.extraAttrs),
      at.getTime(),
      change.status ?? null,
      at.getTime(),
      final ? 1 : 0,
      at.getTime(),
      id,
    );
    return row && toTask(row);
  }

  heartbeatPool(pool: Omit<WorkerPoolRecord, "heartbeatAt">, at: Date, forgetBefore: Date): void {
    this.run(
      `INSERT INTO job_pools (id, pid, host, concurrency, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET concurrency = excluded.concurrency, heartbeat_at = excluded.heartbeat_at`,
      pool.id,
      pool.pid,
      pool.host,
      pool.concurrency,
      pool.startedAt.getTime(),
      at.getTime(),
    );
    this.run("DELETE FROM job_pools WHERE heartbeat_at < ?", forgetBefore.getTime());
  }

  listPools(since: Date): WorkerPoolRecord[] {
    return this.rows<PoolRow>(
      `SELECT ${POOL_COLUMNS} FROM job_pools WHERE heartbeat_at >= ? ORDER BY started_at, id`,
      since.getTime(),
    ).map(toPool);
  }

  removePool(id: string): void {
    this.run("DELETE FROM job_pools WHERE id = ?", id);
  }

  listRunning(): ExecutionRecord[] {
    return this.rows<ExecutionRow>(
      `SELECT ${EXECUTION_COLUMNS} FROM job_executions WHERE status = 'Running' ORDER BY id`,
    ).map(toExecution);
  }

  listQueues(): QueueRecord[] {
    return this.rows<{ vendor_type: string; pending: number; oldest: number | null; paused: number }>(
      `SELECT vendor_type, sum(pending) AS pending, min(oldest) AS oldest, max(paused) AS paused FROM (
         SELECT vendor_type, count(*) AS pending, min(max(created_at, coalesce(not_before, 0))) AS oldest, 0 AS paused
           FROM job_executions WHERE status = 'Pending' GROUP BY vendor_type
         UNION ALL
         SELECT vendor_type, 0, NULL, 1 FROM job_queue_pauses
       ) GROUP BY vendor_type ORDER BY vendor_type`,
    ).map((row) => ({
      vendorType: row.vendor_type,
      pending: row.pending,
      ...(row.oldest !== null && { oldestPendingAt: new Date(row.oldest) }),
      paused: row.paused === 1,
    }));
  }

  pausedQueues(): string[] {
    return this.rows<{ vendor_type: string }>("SELECT vendor_type FROM job_queue_pauses ORDER BY vendor_type").map(
      (row) => row.vendor_type,
    );
  }

  setQueuePaused(vendorType: string, paused: boolean, at: Date): void {
    if (paused) {
      this.run(
        "INSERT INTO job_queue_pauses (vendor_type, paused_at) VALUES (?, ?) ON CONFLICT (vendor_type) DO NOTHING",
        vendorType,
        at.getTime(),
      );
    } else {
      this.run("DELETE FROM job_queue_pauses WHERE vendor_type = ?", vendorType);
    }
  }

  stopPending(vendorType: string | undefined, at: Date): number {
    return this.run(
      `UPDATE job_executions SET status = 'Stopped', status_message = 'stopped while queued', updated_at = ?,
         ended_at = ? WHERE status = 'Pending' AND (? IS NULL OR vendor_type = ?)`,
      at.getTime(),
      at.getTime(),
      vendorType ?? null,
      vendorType ?? null,
    );
  }

  listSchedules(window: Window): Listing<ScheduleRecord> {
    const items = this.rows<ScheduleRow>(
      `SELECT ${SCHEDULE_COLUMNS} FROM job_schedules ORDER BY id LIMIT ? OFFSET ?`,
      Math.max(0, Math.floor(window.limit)),
      Math.max(0, Math.floor(window.offset)),
    ).map(toSchedule);
    const total = this.row<{ n: number }>("SELECT count(*) AS n FROM job_schedules")?.n ?? 0;
    return { items, total };
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

function toPool(row: PoolRow): WorkerPoolRecord {
  return {
    id: row.id,
    pid: row.pid,
    host: row.host,
    concurrency: row.concurrency,
    startedAt: new Date(row.started_at),
    heartbeatAt: new Date(row.heartbeat_at),
  };
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
    appendLog: (id, lines, at, taskId) => write((q) => q.appendLog(id, lines, at, taskId)),
    log: (id, taskId) => read((q) => q.log(id, taskId)),
    createTasks: (executionId, tasks, at) => write((q) => q.createTasks(executionId, tasks, at)),
    getTask: (id) => read((q) => q.getTask(id)),
    listTasks: (executionId, window) => read((q) => q.listTasks(executionId, window)),
    updateTask: (id, change, at) => write((q) => q.updateTask(id, change, at)),
    heartbeatPool: (pool, at, forgetBefore) => write((q) => q.heartbeatPool(pool, at, forgetBefore)),
    listPools: (since) => read((q) => q.listPools(since)),
    removePool: (id) => write((q) => q.removePool(id)),
    listRunning: () => read((q) => q.listRunning()),
    listQueues: () => read((q) => q.listQueues()),
    pausedQueues: () => read((q) => q.pausedQueues()),
    setQueuePaused: (vendorType, paused, at) => write((q) => q.setQueuePaused(vendorType, paused, at)),
    stopPending: (vendorType, at) => write((q) => q.stopPending(vendorType, at)),
    listSchedules: (window) => read((q) => q.listSchedules(window)),
    putSchedule: (schedule, at) => write((q) => q.putSchedule(schedule, at)),
    getSchedule: (vendorType, vendorId) => read((q) => q.getSchedule(vendorType, vendorId)),
    deleteSchedule: (vendorType, vendorId) => write((q) => q.deleteSchedule(vendorType, vendorId)),
    dueSchedules: (now) => read((q) => q.dueSchedules(now)),
    advanceSchedule: (id, expected, next) => write((q) => q.advanceSchedule(id, expected, next)),
  };
}
