// The jobs area of the SQLite metadata store (JobMetadata): its statements, bound to the store's
// connections by store.ts. Rows are in rows/jobs.ts; postgres/jobs.ts is the same area on
// PostgreSQL. Claims and schedule advances are single statements: SQLite's one writer at a time
// (across processes too) makes each of them atomic.

import {
  FINAL_STATUSES,
  MAX_LOG_LINE_LENGTH,
  MAX_LOG_LINES,
  type ExecutionRecord,
  type JobMetadata,
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
import { SQLITE } from "./dialect.ts";
import { listing, type Db, type Run } from "./statements.ts";

function getExecution(db: Db, id: number): ExecutionRecord | undefined {
  const row = db.row<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM job_executions WHERE id = ?`, id);
  return row && toExecution(row, SQLITE);
}

export function jobArea(read: Run, write: Run): JobMetadata {
  return {
    createExecution: (execution, at) =>
      write((db) => {
        const row = db.row<ExecutionRow>(
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
        return toExecution(required(row, "INSERT INTO job_executions"), SQLITE);
      }),
    getExecution: (id) => read((db) => getExecution(db, id)),
    listExecutions: (filter, window) =>
      read((db) =>
        listing(db, executionListing(SQLITE, filter), window, (row: ExecutionRow) => toExecution(row, SQLITE)),
      ),
    claim: (vendorTypes, owner, now, leaseUntil) =>
      write((db) => {
        if (vendorTypes.length === 0) return undefined;
        const types = vendorTypes.map(() => "?").join(", ");
        const row = db.row<ExecutionRow>(
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
        return row && toExecution(row, SQLITE);
      }),
    renew: (id, owner, leaseUntil, extraAttrs, at) =>
      write((db) => {
        const row = db.row<ExecutionRow>(
          `UPDATE job_executions SET lease_until = ?, extra_attrs = ?, updated_at = ?
           WHERE id = ? AND status = 'Running' AND owner = ? RETURNING ${EXECUTION_COLUMNS}`,
          leaseUntil.getTime(),
          JSON.stringify(extraAttrs),
          at.getTime(),
          id,
          owner,
        );
        return row && toExecution(row, SQLITE);
      }),
    finish: (id, owner, end, at) =>
      write(
        (db) =>
          db.run(
            `UPDATE job_executions SET status = ?, status_message = ?, extra_attrs = ?, owner = NULL,
               lease_until = NULL, updated_at = ?, ended_at = ?
             WHERE id = ? AND status = 'Running' AND owner = ?`,
            end.status,
            end.message,
            JSON.stringify(end.extraAttrs),
            at.getTime(),
            at.getTime(),
            id,
            owner,
          ) > 0,
      ),
    requeue: (id, owner, notBefore, message, at) =>
      write(
        (db) =>
          db.run(
            `UPDATE job_executions SET status = 'Pending', status_message = ?, owner = NULL, lease_until = NULL,
               not_before = ?, updated_at = ?
             WHERE id = ? AND status = 'Running' AND owner = ?`,
            message,
            notBefore.getTime(),
            at.getTime(),
            id,
            owner,
          ) > 0,
      ),
    requestStop: (id, at) =>
      write((db) => {
        db.run(
          `UPDATE job_executions SET status = 'Stopped', status_message = 'stopped before it started',
             updated_at = ?, ended_at = ? WHERE id = ? AND status = 'Pending'`,
          at.getTime(),
          at.getTime(),
          id,
        );
        db.run(
          "UPDATE job_executions SET stop_requested = 1, updated_at = ? WHERE id = ? AND status = 'Running'",
          at.getTime(),
          id,
        );
        return getExecution(db, id);
      }),
    pruneExecutions: (vendorType, vendorId, keep) =>
      write((db) =>
        db.run(
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
          windowNumber(keep),
        ),
      ),
    appendLog: (id, lines, at, taskId) =>
      write((db) => {
        for (const line of lines) {
          db.run(
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
      }),
    log: (id, taskId) =>
      read((db) =>
        db
          .rows<{ line: string }>(
            "SELECT line FROM job_logs WHERE execution_id = ? AND task_id IS ? ORDER BY id",
            id,
            taskId ?? null,
          )
          .map((row) => row.line)
          .join("\n"),
      ),
    createTasks: (executionId, tasks, at) =>
      write((db) =>
        tasks.map((task) => {
          const row = db.row<TaskRow>(
            `INSERT INTO job_tasks (execution_id, name, status, status_message, extra_attrs, created_at, updated_at)
               VALUES (?, ?, 'Pending', '', ?, ?, ?) RETURNING ${TASK_COLUMNS}`,
            executionId,
            task.name,
            JSON.stringify(task.extraAttrs ?? {}),
            at.getTime(),
            at.getTime(),
          );
          return toTask(required(row, "INSERT INTO job_tasks"), SQLITE);
        }),
      ),
    getTask: (id) =>
      read((db) => {
        const row = db.row<TaskRow>(`SELECT ${TASK_COLUMNS} FROM job_tasks WHERE id = ?`, id);
        return row && toTask(row, SQLITE);
      }),
    listTasks: (executionId, window, filter) =>
      read((db) =>
        listing(db, taskListing(SQLITE, executionId, filter), window, (row: TaskRow) => toTask(row, SQLITE)),
      ),
    taskCounts: (executionIds) =>
      read((db) => {
        const { sql, params } = taskCountStatement(SQLITE, executionIds);
        return toTaskCounts(db.rows<TaskCountRow>(sql, ...params));
      }),
    updateTask: (id, change, at) =>
      write((db) => {
        const final = change.status !== undefined && FINAL_STATUSES.has(change.status);
        const row = db.row<TaskRow>(
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
        return row && toTask(row, SQLITE);
      }),
    heartbeatPool: (pool, at, forgetBefore) =>
      write((db) => {
        db.run(
          `INSERT INTO job_pools (${POOL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET concurrency = excluded.concurrency, heartbeat_at = excluded.heartbeat_at`,
          pool.id,
          pool.pid,
          pool.host,
          pool.concurrency,
          pool.startedAt.getTime(),
          at.getTime(),
        );
        db.run("DELETE FROM job_pools WHERE heartbeat_at < ?", forgetBefore.getTime());
      }),
    listPools: (since) =>
      read((db) =>
        db
          .rows<PoolRow>(
            `SELECT ${POOL_COLUMNS} FROM job_pools WHERE heartbeat_at >= ? ORDER BY started_at, id`,
            since.getTime(),
          )
          .map((row) => toPool(row, SQLITE)),
      ),
    removePool: (id) =>
      write((db) => {
        db.run("DELETE FROM job_pools WHERE id = ?", id);
      }),
    listRunning: () =>
      read((db) =>
        db
          .rows<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM job_executions WHERE status = 'Running' ORDER BY id`)
          .map((row) => toExecution(row, SQLITE)),
      ),
    listQueues: () =>
      read((db) =>
        db
          .rows<QueueRow>(
            `SELECT vendor_type, sum(pending) AS pending, min(oldest) AS oldest, max(paused) AS paused FROM (
               SELECT vendor_type, count(*) AS pending, min(max(created_at, coalesce(not_before, 0))) AS oldest,
                 0 AS paused
                 FROM job_executions WHERE status = 'Pending' GROUP BY vendor_type
               UNION ALL
               SELECT vendor_type, 0, NULL, 1 FROM job_queue_pauses
             ) GROUP BY vendor_type ORDER BY vendor_type`,
          )
          .map((row) => toQueue(row, SQLITE)),
      ),
    pausedQueues: () => read((db) => db.names("SELECT vendor_type AS name FROM job_queue_pauses ORDER BY vendor_type")),
    setQueuePaused: (vendorType, paused, at) =>
      write((db) => {
        if (paused) {
          db.run(
            `INSERT INTO job_queue_pauses (vendor_type, paused_at) VALUES (?, ?)
             ON CONFLICT (vendor_type) DO NOTHING`,
            vendorType,
            at.getTime(),
          );
        } else {
          db.run("DELETE FROM job_queue_pauses WHERE vendor_type = ?", vendorType);
        }
      }),
    stopPending: (vendorType, at) =>
      write((db) =>
        db.run(
          `UPDATE job_executions SET status = 'Stopped', status_message = 'stopped while queued', updated_at = ?,
             ended_at = ? WHERE status = 'Pending' AND (? IS NULL OR vendor_type = ?)`,
          at.getTime(),
          at.getTime(),
          vendorType ?? null,
          vendorType ?? null,
        ),
      ),
    listSchedules: (window) =>
      read((db) => {
        const rows = db.rows<ScheduleRow>(
          `SELECT ${SCHEDULE_COLUMNS} FROM job_schedules ORDER BY id LIMIT ? OFFSET ?`,
          windowNumber(window.limit),
          windowNumber(window.offset),
        );
        return {
          items: rows.map((row) => toSchedule(row, SQLITE)),
          total: db.count("SELECT count(*) AS n FROM job_schedules"),
        };
      }),
    putSchedule: (schedule, at) =>
      write((db) => {
        const row = db.row<ScheduleRow>(
          `INSERT INTO job_schedules (vendor_type, vendor_id, cron_type, cron, parameters, next_run_at, created_at,
             updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
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
        return toSchedule(required(row, "INSERT INTO job_schedules"), SQLITE);
      }),
    getSchedule: (vendorType, vendorId = -1) =>
      read((db) => {
        const row = db.row<ScheduleRow>(
          `SELECT ${SCHEDULE_COLUMNS} FROM job_schedules WHERE vendor_type = ? AND vendor_id = ?`,
          vendorType,
          vendorId,
        );
        return row && toSchedule(row, SQLITE);
      }),
    deleteSchedule: (vendorType, vendorId = -1) =>
      write(
        (db) => db.run("DELETE FROM job_schedules WHERE vendor_type = ? AND vendor_id = ?", vendorType, vendorId) > 0,
      ),
    dueSchedules: (now) =>
      read((db) =>
        db
          .rows<ScheduleRow>(
            `SELECT ${SCHEDULE_COLUMNS} FROM job_schedules WHERE next_run_at <= ? ORDER BY next_run_at, id`,
            now.getTime(),
          )
          .map((row) => toSchedule(row, SQLITE)),
      ),
    advanceSchedule: (id, expected, next) =>
      write(
        (db) =>
          db.run(
            "UPDATE job_schedules SET next_run_at = ? WHERE id = ? AND next_run_at = ?",
            next.getTime(),
            id,
            expected.getTime(),
          ) > 0,
      ),
  };
}
