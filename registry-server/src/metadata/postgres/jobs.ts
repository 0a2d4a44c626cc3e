// The jobs area of the PostgreSQL metadata store (JobMetadata): its statements, bound to the
// store's connections by store.ts. Rows are in rows/jobs.ts; sqlite/jobs.ts is the same area on
// SQLite. A claim skips rows another replica is claiming at the same moment (FOR UPDATE SKIP
// LOCKED) rather than waiting for them.

import {
  FINAL_STATUSES,
  MAX_LOG_LINE_LENGTH,
  MAX_LOG_LINES,
  type ExecutionRecord,
  type JobMetadata,
  type TaskRecord,
} from "../job-store.ts";
import {
  EXECUTION_COLUMNS,
  executionListing,
  POOL_COLUMNS,
  SCHEDULE_COLUMNS,
  TASK_COLUMNS,
  toExecution,
  toPool,
  toQueue,
  toSchedule,
  taskCountStatement,
  taskListing,
  toTask,
  toTaskCounts,
  type ExecutionRow,
  type PoolRow,
  type QueueRow,
  type ScheduleRow,
  type TaskCountRow,
  type TaskRow,
} from "../rows/jobs.ts";
import { required, windowNumber } from "../rows/sql.ts";
import { listing, type Db, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

async function getExecution(db: Db, id: number): Promise<ExecutionRecord | undefined> {
  const row = await db.row<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM job_executions WHERE id = $1`, id);
  return row && toExecution(row, POSTGRES);
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
        return toExecution(required(row, "INSERT INTO job_executions"), POSTGRES);
      }),
    getExecution: (id) => read((db) => getExecution(db, id)),
    listExecutions: (filter, window) =>
      read((db) =>
        listing(db, executionListing(POSTGRES, filter), window, (row: ExecutionRow) => toExecution(row, POSTGRES)),
      ),
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
        return row && toExecution(row, POSTGRES);
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
        return row && toExecution(row, POSTGRES);
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
          made.push(toTask(required(row, "INSERT INTO job_tasks"), POSTGRES));
        }
        return made;
      }),
    getTask: (id) =>
      read(async (db) => {
        const row = await db.row<TaskRow>(`SELECT ${TASK_COLUMNS} FROM job_tasks WHERE id = $1`, id);
        return row && toTask(row, POSTGRES);
      }),
    listTasks: (executionId, window, filter) =>
      read((db) =>
        listing(db, taskListing(POSTGRES, executionId, filter), window, (row: TaskRow) => toTask(row, POSTGRES)),
      ),
    taskCounts: (executionIds) =>
      read(async (db) => {
        const { sql, params } = taskCountStatement(POSTGRES, executionIds);
        return toTaskCounts(await db.rows<TaskCountRow>(sql, ...params));
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
        return row && toTask(row, POSTGRES);
      }),
    heartbeatPool: (pool, at, forgetBefore) =>
      write(async (db) => {
        await db.run(
          `INSERT INTO job_pools (${POOL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
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
        ).map((row) => toPool(row, POSTGRES)),
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
        ).map((row) => toExecution(row, POSTGRES)),
      ),
    listQueues: () =>
      read(async (db) =>
        (
          await db.rows<QueueRow>(
            `SELECT vendor_type, sum(pending)::integer AS pending, min(oldest) AS oldest, bool_or(paused) AS paused
             FROM (
               SELECT vendor_type, count(*) AS pending,
                 min(greatest(created_at, coalesce(not_before, created_at))) AS oldest, false AS paused
                 FROM job_executions WHERE status = 'Pending' GROUP BY vendor_type
               UNION ALL
               SELECT vendor_type, 0, NULL, true FROM job_queue_pauses
             ) AS queues GROUP BY vendor_type ORDER BY vendor_type`,
          )
        ).map((row) => toQueue(row, POSTGRES)),
      ),
    pausedQueues: () => read((db) => db.names("SELECT vendor_type AS name FROM job_queue_pauses ORDER BY vendor_type")),
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
        return {
          items: rows.map((row) => toSchedule(row, POSTGRES)),
          total: await db.count("SELECT count(*) AS n FROM job_schedules"),
        };
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
        return toSchedule(required(row, "INSERT INTO job_schedules"), POSTGRES);
      }),
    getSchedule: (vendorType, vendorId = -1) =>
      read(async (db) => {
        const row = await db.row<ScheduleRow>(
          `SELECT ${SCHEDULE_COLUMNS} FROM job_schedules WHERE vendor_type = $1 AND vendor_id = $2`,
          vendorType,
          vendorId,
        );
        return row && toSchedule(row, POSTGRES);
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
        ).map((row) => toSchedule(row, POSTGRES)),
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
