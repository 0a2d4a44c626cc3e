// The jobs area's rows (JobMetadata in job-store.ts), as both backends read them: executions,
// their tasks, schedules, worker pools and queues. Parameters and attributes are JSON; lease,
// backoff, start and end times are NULL until they apply.

import type {
  ExecutionFilter,
  ExecutionRecord,
  ExecutionStatus,
  ExecutionTrigger,
  QueueRecord,
  ScheduleRecord,
  TaskCounts,
  TaskFilter,
  TaskRecord,
  WorkerPoolRecord,
} from "../job-store.ts";
import {
  Conditions,
  type Dialect,
  type ListingQuery,
  type RowReader,
  type Statement,
  type StoredBool,
  type StoredJson,
  type StoredTime,
} from "./sql.ts";

type Attributes = Record<string, unknown>;

export interface ExecutionRow {
  id: number;
  vendor_type: string;
  vendor_id: number;
  trigger_kind: string;
  parameters: StoredJson<Attributes>;
  status: string;
  status_message: string;
  extra_attrs: StoredJson<Attributes>;
  attempts: number;
  stop_requested: StoredBool;
  owner: string | null;
  lease_until: StoredTime | null;
  not_before: StoredTime | null;
  created_at: StoredTime;
  updated_at: StoredTime;
  started_at: StoredTime | null;
  ended_at: StoredTime | null;
}

export const EXECUTION_COLUMNS =
  "id, vendor_type, vendor_id, trigger_kind, parameters, status, status_message, extra_attrs, attempts, " +
  "stop_requested, owner, lease_until, not_before, created_at, updated_at, started_at, ended_at";

export function toExecution(row: ExecutionRow, r: RowReader): ExecutionRecord {
  return {
    id: row.id,
    vendorType: row.vendor_type,
    vendorId: row.vendor_id,
    trigger: row.trigger_kind as ExecutionTrigger,
    parameters: r.json(row.parameters),
    status: row.status as ExecutionStatus,
    statusMessage: row.status_message,
    extraAttrs: r.json(row.extra_attrs),
    attempts: row.attempts,
    stopRequested: r.flag(row.stop_requested),
    ...(row.owner !== null && { owner: row.owner }),
    ...(row.lease_until !== null && { leaseUntil: r.date(row.lease_until) }),
    ...(row.not_before !== null && { notBefore: r.date(row.not_before) }),
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
    ...(row.started_at !== null && { startedAt: r.date(row.started_at) }),
    ...(row.ended_at !== null && { endedAt: r.date(row.ended_at) }),
  };
}

/** A kind's executions under `filter`, newest (or oldest) first. */
export function executionListing<V>(d: Dialect<V>, filter: ExecutionFilter): ListingQuery<V> {
  const where = new Conditions(d).equals("vendor_type", filter.vendorType);
  if (filter.vendorId !== undefined) where.equals("vendor_id", filter.vendorId);
  where.among("status", filter.statuses);
  if (filter.trigger !== undefined) where.equals("trigger_kind", filter.trigger);
  return {
    columns: EXECUTION_COLUMNS,
    from: "job_executions",
    where,
    order: filter.oldestFirst ? "id ASC" : "id DESC",
  };
}

/** An attribute key is written into the SQL (a JSON path): only plain names are. */
const ATTRIBUTE_KEY = /^[A-Za-z0-9_]+$/;

export interface TaskRow {
  id: number;
  execution_id: number;
  name: string;
  status: string;
  status_message: string;
  extra_attrs: StoredJson<Attributes>;
  created_at: StoredTime;
  updated_at: StoredTime;
  started_at: StoredTime | null;
  ended_at: StoredTime | null;
}

export const TASK_COLUMNS =
  "id, execution_id, name, status, status_message, extra_attrs, created_at, updated_at, started_at, ended_at";

export function toTask(row: TaskRow, r: RowReader): TaskRecord {
  return {
    id: row.id,
    executionId: row.execution_id,
    name: row.name,
    status: row.status as ExecutionStatus,
    statusMessage: row.status_message,
    extraAttrs: r.json(row.extra_attrs),
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
    ...(row.started_at !== null && { startedAt: r.date(row.started_at) }),
    ...(row.ended_at !== null && { endedAt: r.date(row.ended_at) }),
  };
}

/** An execution's tasks under `filter`, in the order they were made. */
export function taskListing<V>(d: Dialect<V>, executionId: number, filter: TaskFilter = {}): ListingQuery<V> {
  const where = new Conditions(d).equals("execution_id", executionId).among("status", filter.statuses);
  const attribute = filter.attribute;
  if (attribute) {
    if (!ATTRIBUTE_KEY.test(attribute.key))
      throw new Error(`invalid task attribute key ${JSON.stringify(attribute.key)}`);
    where.add((p) => `${d.jsonText("extra_attrs", attribute.key)} = ${p(attribute.value)}`);
  }
  return { columns: TASK_COLUMNS, from: "job_tasks", where, order: "id" };
}

export interface TaskCountRow {
  execution_id: number;
  status: string;
  n: number;
}

/** The tasks of the executions counted by status. */
export function taskCountStatement<V>(d: Dialect<V>, executionIds: readonly number[]): Statement<V> {
  const where = new Conditions(d).among("execution_id", executionIds);
  return {
    sql: `SELECT execution_id, status, count(*) AS n FROM job_tasks ${where.toString()} GROUP BY execution_id, status`,
    params: where.params,
  };
}

export function toTaskCounts(rows: readonly TaskCountRow[]): Map<number, TaskCounts> {
  const counts = new Map<number, Partial<Record<ExecutionStatus, number>>>();
  for (const row of rows) {
    const entry = counts.get(row.execution_id) ?? {};
    entry[row.status as ExecutionStatus] = Number(row.n);
    counts.set(row.execution_id, entry);
  }
  return counts;
}

export interface ScheduleRow {
  id: number;
  vendor_type: string;
  vendor_id: number;
  cron_type: string;
  cron: string;
  parameters: StoredJson<Attributes>;
  next_run_at: StoredTime;
  created_at: StoredTime;
  updated_at: StoredTime;
}

export const SCHEDULE_COLUMNS =
  "id, vendor_type, vendor_id, cron_type, cron, parameters, next_run_at, created_at, updated_at";

export function toSchedule(row: ScheduleRow, r: RowReader): ScheduleRecord {
  return {
    id: row.id,
    vendorType: row.vendor_type,
    vendorId: row.vendor_id,
    cronType: row.cron_type,
    cron: row.cron,
    parameters: r.json(row.parameters),
    nextRunAt: r.date(row.next_run_at),
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
  };
}

export interface PoolRow {
  id: string;
  pid: number;
  host: string;
  concurrency: number;
  started_at: StoredTime;
  heartbeat_at: StoredTime;
}

export const POOL_COLUMNS = "id, pid, host, concurrency, started_at, heartbeat_at";

export function toPool(row: PoolRow, r: RowReader): WorkerPoolRecord {
  return {
    id: row.id,
    pid: row.pid,
    host: row.host,
    concurrency: row.concurrency,
    startedAt: r.date(row.started_at),
    heartbeatAt: r.date(row.heartbeat_at),
  };
}

/** A kind's queue: its pending executions, the oldest one's runnable time, whether it is paused. */
export interface QueueRow {
  vendor_type: string;
  pending: number;
  oldest: StoredTime | null;
  paused: StoredBool;
}

export function toQueue(row: QueueRow, r: RowReader): QueueRecord {
  return {
    vendorType: row.vendor_type,
    pending: row.pending,
    ...(row.oldest !== null && { oldestPendingAt: r.date(row.oldest) }),
    paused: r.flag(row.paused),
  };
}
