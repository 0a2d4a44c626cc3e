// The jobs area's rows (JobMetadata in job-store.ts), as both backends read them: executions,
// their tasks, schedules, worker pools and queues. Parameters and attributes are JSON; lease,
// backoff, start and end times are NULL until they apply.

import type {
  ExecutionRecord,
  ExecutionStatus,
  ExecutionTrigger,
  QueueRecord,
  ScheduleRecord,
  TaskRecord,
  WorkerPoolRecord,
} from "../job-store.ts";
import type { RowReader, StoredBool, StoredJson, StoredTime } from "./sql.ts";

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
