// The jobs area of the PostgreSQL metadata store: the queries, written against `Db`, bound to the
// store's connections by postgres-store.ts. The tables come from postgres-schema.ts; the
// semantics are the SQLite store's (sqlite-jobs.ts). A claim skips rows another replica is
// claiming at the same moment (FOR UPDATE SKIP LOCKED) rather than waiting for them.

import type { Db, Run } from "./connection.ts";
import { windowNumber } from "../rows/sql.ts";
import {
  FINAL_STATUSES,
  MAX_LOG_LINE_LENGTH,
  MAX_LOG_LINES,
  type TaskRecord,
  type ExecutionRecord,
  type ExecutionStatus,
  type ExecutionTrigger,
  type JobMetadata,
  type ScheduleRecord,
  type WorkerPoolRecord,
} from "../job-store.ts";

interface ExecutionRow {
  id: number;
  vendor_type: string;
  vendor_id: number;
  trigger_kind: string;
  parameters: Record<string, unknown>;
  status: string;
  status_message: string;
  extra_attrs: Record<string, unknown>;
  attempts: number;
  stop_requested: boolean;
  owner: string | null;
  lease_until: Date | null;
  not_before: Date | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  ended_at: Date | null;
}

interface TaskRow {
  id: number;
  execution_id: number;
  name: string;
  status: string;
  status_message: string;
  extra_attrs: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  ended_at: Date | null;
}

interface ScheduleRow {
  id: number;
  vendor_type: string;
  vendor_id: number;
  cron_type: string;
  cron: string;
  parameters: Record<string, unknown>;
  next_run_at: Date;
  created_at: Date;
  updated_at: Date;
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
  started_at: Date;
  heartbeat_at: Date;
}

const POOL_COLUMNS = "id, pid, host, concurrency, started_at, heartbeat_at";
const SCHEDULE_COLUMNS = "id, vendor_type, vendor_id, cron_type, cron, parameters, next_run_at, created_at, updated_at";

function toExecution(row: ExecutionRow): ExecutionRecord {
  return {
    id: row.id,
    vendorType: row.vendor_type,
    vendorId: row.vendor_id,
    trigger: row.trigger_kind as ExecutionTrigger,
    parameters: row.parameters,
    status: row.status as ExecutionStatus,
    statusMessage: row.status_message,
    extraAttrs: row.extra_attrs,
    attempts: row.attempts,
    stopRequested: row.stop_requested,
    ...(row.owner !== null && { owner: row.owner }),
    ...(row.lease_until !== null && { leaseUntil: row.lease_until }),
    ...(row.not_before !== null && { notBefore: row.not_before }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.started_at !== null && { startedAt: row.started_at }),
    ...(row.ended_at !== null && { endedAt: row.ended_at }),
  };
}

function toTask(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    executionId: row.execution_id,
    name: row.name,
    status: row.status as ExecutionStatus,
    statusMessage: row.status_message,
    extraAttrs: row.extra_attrs,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.started_at !== null && { startedAt: row.started_at }),
    ...(row.ended_at !== null && { endedAt: row.ended_at }),
  };
}

function toSchedule(row: ScheduleRow): ScheduleRecord {
  return {
    id: row.id,
    vendorType: row.vendor_type,
    vendorId: row.vendor_id,
    cronType: row.cron_type,
    cron: row.cron,
    parameters: row.parameters,
    nextRunAt: row.next_run_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toPool(row: PoolRow): WorkerPoolRecord {
  return {
    id: row.id,
    pid: row.pid,
    host: row.host,
    concurrency: row.concurrency,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
  };
}

async function getExecution(db: Db, id: number): Promise<ExecutionRecord | undefined> {
  const row = await db.row<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM job_executions WHERE id = $1`, id);
  return row && toExecution(row);
}

function one<R>(row: R | undefined, what: string): R {
  if (row === undefined) throw new Error(`${what} returned no row`);
  return row;
}

export function jobArea(read: Run, write: Run): JobMetadata {
  return {
    createExecution: (execution, at) =>
      write(async (db) => {
        const row = await db.row<ExecutionRow>(
          `INSERT INTO job_executions (vendor_type, vendor_id, trigger_kind, parameters, status, status_message,
             extra_attrs, attempts, stop_requested, created_at, updated_at)
             VALUES ($1, $2, $3, $4::jsonb, 'Pending', '', '{}', 0, false, $5, $5) RETURNING ${EXECUTION_COLUMNS}`,
          execution.vendorType,
          execution.vendorId ?? -1,
          execution.trigger,
          JSON.stringify(execution.parameters),
          at,
        );
        return toExecution(one(row, "INSERT INTO job_executions"));
      }),
    getExecution: (id) => read((db) => getExecution(db, id)),
    listExecutions: (filter, window) =>
      read(async (db) => {
        const vendorId = filter.vendorId ?? null;
        const where = "vendor_type = $1 AND ($2::bigint IS NULL OR vendor_id = $2)";
        const rows = await db.rows<ExecutionRow>(
          `SELECT ${EXECUTION_COLUMNS} FROM job_executions WHERE ${where} ORDER BY id DESC LIMIT $3 OFFSET $4`,
          filter.vendorType,
          vendorId,
          windowNumber(window.limit),
          windowNumber(window.offset),
        );
        const total = await db.count(
          `SELECT count(*) AS n FROM job_executions WHERE ${where}`,
          filter.vendorType,
          vendorId,
        );
        return { items: rows.map(toExecution), total };
      }),
    claim: (vendorTypes, owner, now, leaseUntil) =>
      write(async (db) => {
        if (vendorTypes.length === 0) return undefined;
        const row = await db.row<ExecutionRow>(
          `UPDATE job_executions SET status = 'Running', owner = $1, lease_until = $2, attempts = attempts + 1,
             started_at = coalesce(started_at, $3), updated_at = $3
           WHERE id = (
             SELECT id FROM job_executions
             WHERE vendor_type = ANY($4)
               AND ((status = 'Pending' AND coalesce(not_before, '-infinity') <= $3)
                 OR (status = 'Running' AND lease_until < $3))
             ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING ${EXECUTION_COLUMNS}`,
          owner,
          leaseUntil,
          now,
          vendorTypes,
        );
        return row && toExecution(row);
      }),
    renew: (id, owner, leaseUntil, extraAttrs, at) =>
      write(async (db) => {
        const row = await db.row<ExecutionRow>(
          `UPDATE job_executions SET lease_until = $1, extra_attrs = $2::jsonb, updated_at = $3
           WHERE id = $4 AND status = 'Running' AND owner = $5 RETURNING ${EXECUTION_COLUMNS}`,
          leaseUntil,
          JSON.stringify(extraAttrs),
          at,
          id,
          owner,
        );
        return row && toExecution(row);
      }),
    finish: (id, owner, end, at) =>
      write(
        async (db) =>
          (await db.run(
            `UPDATE job_executions SET status = $1, status_message = $2, extra_attrs = $3::jsonb, owner = NULL,
               lease_until = NULL, updated_at = $4, ended_at = $4
             WHERE id = $5 AND status = 'Running' AND owner = $6`,
            end.status,
            end.message,
            JSON.stringify(end.extraAttrs),
            at,
            id,
            owner,
          )) > 0,
      ),
    requeue: (id, owner, notBefore, message, at) =>
      write(
        async (db) =>
          (await db.run(
            `UPDATE job_executions SET status = 'Pending', status_message = $1, owner = NULL, lease_until = NULL,
               not_before = $2, updated_at = $3
             WHERE id = $4 AND status = 'Running' AND owner = $5`,
            message,
            notBefore,
            at,
            id,
            owner,
          )) > 0,
      ),
    requestStop: (id, at) =>
      write(async (db) => {
        await db.run(
          `UPDATE job_executions SET status = 'Stopped', status_message = 'stopped before it started',
             updated_at = $1, ended_at = $1 WHERE id = $2 AND status = 'Pending'`,
          at,
          id,
        );
        await db.run(
          "UPDATE job_executions SET stop_requested = true, updated_at = $1 WHERE id = $2 AND status = 'Running'",
          at,
          id,
        );
        return getExecution(db, id);
      }),
    pruneExecutions: (vendorType, vendorId, keep) =>
      write((db) =>
        db.run(
          `DELETE FROM job_executions
           WHERE vendor_type = $1 AND ($2::bigint IS NULL OR vendor_id = $2) AND status IN ('Stopped', 'Error', 'Success')
             AND id NOT IN (
               SELECT id FROM job_executions WHERE vendor_type = $1 AND ($2::bigint IS NULL OR vendor_id = $2)
                 AND status IN ('Stopped', 'Error', 'Success')
               ORDER BY id DESC LIMIT $3)`,
          vendorType,
          vendorId ?? null,
          windowNumber(keep),
        ),
      ),
    appendLog: (id, lines, at, taskId) =>
      write(async (db) => {
        for (const line of lines) {
          await db.run(
            `INSERT INTO job_logs (execution_id, task_id, at, line)
             SELECT $1, $2, $3, $4
             WHERE (SELECT count(*) FROM job_logs WHERE execution_id = $1 AND task_id IS NOT DISTINCT FROM $2) < $5`,
            id,
            taskId ?? null,
            at,
            line.slice(0, MAX_LOG_LINE_LENGTH),
            MAX_LOG_LINES,
          );
        }
      }),
    log: (id, taskId) =>
      read(async (db) =>
        (
          await db.rows<{ line: string }>(
            "SELECT line FROM job_logs WHERE execution_id = $1 AND task_id IS NOT DISTINCT FROM $2 ORDER BY id",
            id,
            taskId ?? null,
          )
        )
          .map((row) => row.line)
          .join("\n"),
      ),
    createTasks: (executionId, tasks, at) =>
      write(async (db) => {
        const made: TaskRecord[] = [];
        for (const task of tasks) {
          const row = await db.row<TaskRow>(
            `INSERT INTO job_tasks (execution_id, name, status, status_message, extra_attrs, created_at, updated_at)
               VALUES ($1, $2, 'Pending', '', $3::jsonb, $4, $4) RETURNING ${TASK_COLUMNS}`,
            executionId,
            task.name,
            JSON.stringify(task.extraAttrs ?? {}),
            at,
          );
          made.push(toTask(one(row, "INSERT INTO job_tasks")));
        }
        return made;
      }),
    getTask: (id) =>
      read(async (db) => {
        const row = await db.row<TaskRow>(`SELECT ${TASK_COLUMNS} FROM job_tasks WHERE id = $1`, id);
        return row && toTask(row);
      }),
    listTasks: (executionId, window) =>
      read(async (db) => {
        const rows = await db.rows<TaskRow>(
          `SELECT ${TASK_COLUMNS} FROM job_tasks WHERE execution_id = $1 ORDER BY id LIMIT $2 OFFSET $3`,
          executionId,
          windowNumber(window.limit),
          windowNumber(window.offset),
        );
        const total = await db.count("SELECT count(*) AS n FROM job_tasks WHERE execution_id = $1", executionId);
        return { items: rows.map(toTask), total };
      }),
    updateTask: (id, change, at) =>
      write(async (db) => {
        const final = change.status !== undefined && FINAL_STATUSES.has(change.status);
        const row = await db.row<TaskRow>(
          `UPDATE job_tasks SET status = coalesce($1, status), status_message = coalesce($2, status_message),
             extra_attrs = coalesce($3::jsonb, extra_attrs), updated_at = $4,
             started_at = CASE WHEN $1 = 'Running' THEN coalesce(started_at, $4) ELSE started_at END,
             ended_at = CASE WHEN $5 THEN $4 ELSE ended_at END
           WHERE id = $6 RETURNING ${TASK_COLUMNS}`,
          change.status ?? null,
          change.statusMessage ?? null,
          change.extraAttrs === undefined ? null : JSON.stringify(change.extraAttrs),
          at,
          final,
          id,
        );
        return row && toTask(row);
      }),
    heartbeatPool: (pool, at, forgetBefore) =>
      write(async (db) => {
        await db.run(
          `INSERT INTO job_pools (id, pid, host, concurrency, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO UPDATE SET concurrency = excluded.concurrency, heartbeat_at = excluded.heartbeat_at`,
          pool.id,
          pool.pid,
          pool.host,
          pool.concurrency,
          pool.startedAt,
          at,
        );
        await db.run("DELETE FROM job_pools WHERE heartbeat_at < $1", forgetBefore);
      }),
    listPools: (since) =>
      read(async (db) =>
        (
          await db.rows<PoolRow>(
            `SELECT ${POOL_COLUMNS} FROM job_pools WHERE heartbeat_at >= $1 ORDER BY started_at, id`,
            since,
          )
        ).map(toPool),
      ),
    removePool: (id) =>
      write(async (db) => {
        await db.run("DELETE FROM job_pools WHERE id = $1", id);
      }),
    listRunning: () =>
      read(async (db) =>
        (
          await db.rows<ExecutionRow>(
            `SELECT ${EXECUTION_COLUMNS} FROM job_executions WHERE status = 'Running' ORDER BY id`,
          )
        ).map(toExecution),
      ),
    listQueues: () =>
      read(async (db) =>
        (
          await db.rows<{ vendor_type: string; pending: number; oldest: Date | null; paused: boolean }>(
            `SELECT vendor_type, sum(pending)::integer AS pending, min(oldest) AS oldest, bool_or(paused) AS paused
             FROM (
               SELECT vendor_type, count(*) AS pending,
                 min(greatest(created_at, coalesce(not_before, created_at))) AS oldest, false AS paused
                 FROM job_executions WHERE status = 'Pending' GROUP BY vendor_type
               UNION ALL
               SELECT vendor_type, 0, NULL, true FROM job_queue_pauses
             ) AS queues GROUP BY vendor_type ORDER BY vendor_type`,
          )
        ).map((row) => ({
          vendorType: row.vendor_type,
          pending: row.pending,
          ...(row.oldest !== null && { oldestPendingAt: row.oldest }),
          paused: row.paused,
        })),
      ),
    pausedQueues: () =>
      read(async (db) =>
        (await db.rows<{ vendor_type: string }>("SELECT vendor_type FROM job_queue_pauses ORDER BY vendor_type")).map(
          (row) => row.vendor_type,
        ),
      ),
    setQueuePaused: (vendorType, paused, at) =>
      write(async (db) => {
        if (paused) {
          await db.run(
            `INSERT INTO job_queue_pauses (vendor_type, paused_at) VALUES ($1, $2)
             ON CONFLICT (vendor_type) DO NOTHING`,
            vendorType,
            at,
          );
        } else {
          await db.run("DELETE FROM job_queue_pauses WHERE vendor_type = $1", vendorType);
        }
      }),
    stopPending: (vendorType, at) =>
      write((db) =>
        db.run(
          `UPDATE job_executions SET status = 'Stopped', status_message = 'stopped while queued', updated_at = $1,
             ended_at = $1 WHERE status = 'Pending' AND ($2::text IS NULL OR vendor_type = $2)`,
          at,
          vendorType ?? null,
        ),
      ),
    listSchedules: (window) =>
      read(async (db) => {
        const rows = await db.rows<ScheduleRow>(
          `SELECT ${SCHEDULE_COLUMNS} FROM job_schedules ORDER BY id LIMIT $1 OFFSET $2`,
          windowNumber(window.limit),
          windowNumber(window.offset),
        );
        return { items: rows.map(toSchedule), total: await db.count("SELECT count(*) AS n FROM job_schedules") };
      }),
    putSchedule: (schedule, at) =>
      write(async (db) => {
        const row = await db.row<ScheduleRow>(
          `INSERT INTO job_schedules (vendor_type, vendor_id, cron_type, cron, parameters, next_run_at, created_at,
             updated_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $7)
           ON CONFLICT (vendor_type, vendor_id) DO UPDATE SET cron_type = excluded.cron_type, cron = excluded.cron,
             parameters = excluded.parameters, next_run_at = excluded.next_run_at, updated_at = excluded.updated_at
           RETURNING ${SCHEDULE_COLUMNS}`,
          schedule.vendorType,
          schedule.vendorId ?? -1,
          schedule.cronType,
          schedule.cron,
          JSON.stringify(schedule.parameters),
          schedule.nextRunAt,
          at,
        );
        return toSchedule(one(row, "INSERT INTO job_schedules"));
      }),
    getSchedule: (vendorType, vendorId = -1) =>
      read(async (db) => {
        const row = await db.row<ScheduleRow>(
          `SELECT ${SCHEDULE_COLUMNS} FROM job_schedules WHERE vendor_type = $1 AND vendor_id = $2`,
          vendorType,
          vendorId,
        );
        return row && toSchedule(row);
      }),
    deleteSchedule: (vendorType, vendorId = -1) =>
      write(
        async (db) =>
          (await db.run("DELETE FROM job_schedules WHERE vendor_type = $1 AND vendor_id = $2", vendorType, vendorId)) >
          0,
      ),
    dueSchedules: (now) =>
      read(async (db) =>
        (
          await db.rows<ScheduleRow>(
            `SELECT ${SCHEDULE_COLUMNS} FROM job_schedules WHERE next_run_at <= $1 ORDER BY next_run_at, id`,
            now,
          )
        ).map(toSchedule),
      ),
    advanceSchedule: (id, expected, next) =>
      write(
        async (db) =>
          (await db.run(
            // Compared at JavaScript's precision: a time written elsewhere with microseconds (SQL's
            // now()) comes back truncated to milliseconds, and must still match.
            "UPDATE job_schedules SET next_run_at = $1 WHERE id = $2 AND date_trunc('milliseconds', next_run_at) = $3",
            next,
            id,
            expected,
          )) > 0,
      ),
  };
}
