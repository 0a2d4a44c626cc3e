// Harbor's ReplicationExecution and ReplicationTask documents over the job system's executions
// (vendor type REPLICATION, vendor id the policy's) and tasks, with the names Harbor's handler
// converts to for its older clients, both ways (a listing's `status` and `trigger` filters take
// Harbor's names and the job system's own):
//
//   execution status   Pending, Running → InProgress; Success → Succeed; Error → Failed; Stopped;
//                      one the job handler ended skipped (single active replication) → Skipped,
//                      as Harbor marks it, its reason as status_text
//   task status        Running → InProgress; Success → Succeed; Error → Failed; Pending, Stopped
//   trigger            MANUAL → manual; SCHEDULE → scheduled; EVENT → event_based
//
// An execution's counts (total, succeed, failed, in_progress, stopped) are its tasks'.
//
// The task attributes the copy engine writes (its contract with this API), each a string:
//   operation       "copy" or "deletion"
//   resource_type   "image" or "artifact" (Harbor's resource types; the `resource_type` filter)
//   src_resource    what was read, e.g. "library/nginx:[1.25] (hub)"
//   dst_resource    what was written, e.g. "mirror/nginx:[1.25] (this registry)"
//   job_id          optional; the task's id when absent
// A missing attribute reads "".

import type {
  ExecutionRecord,
  ExecutionStatus,
  ExecutionTrigger,
  TaskCounts,
  TaskRecord,
} from "../metadata/job-store.ts";
import { ZERO_TIME } from "./artifact-view.ts";
import { time } from "./harbor-http.ts";

const STATUSES: readonly ExecutionStatus[] = ["Pending", "Running", "Stopped", "Error", "Success"];

const EXECUTION_STATUS: Readonly<Record<ExecutionStatus, string>> = {
  Pending: "InProgress",
  Running: "InProgress",
  Success: "Succeed",
  Error: "Failed",
  Stopped: "Stopped",
};

const TASK_STATUS: Readonly<Record<ExecutionStatus, string>> = {
  Pending: "Pending",
  Running: "InProgress",
  Success: "Succeed",
  Error: "Failed",
  Stopped: "Stopped",
};

const TRIGGERS: Readonly<Record<ExecutionTrigger, string>> = {
  MANUAL: "manual",
  SCHEDULE: "scheduled",
  EVENT: "event_based",
};

/** The job statuses a status filter names: Harbor's name, or the job system's own; [] for none. */
function statusesNamed(name: string, names: Readonly<Record<ExecutionStatus, string>>): ExecutionStatus[] {
  return STATUSES.filter((status) => names[status] === name || status === name);
}

export function executionStatusesNamed(name: string): ExecutionStatus[] {
  return statusesNamed(name, EXECUTION_STATUS);
}

export function taskStatusesNamed(name: string): ExecutionStatus[] {
  return statusesNamed(name, TASK_STATUS);
}

/** The trigger a filter names (Harbor's name or the job system's); undefined when none is. */
export function triggerNamed(name: string): ExecutionTrigger | undefined {
  return (Object.keys(TRIGGERS) as ExecutionTrigger[]).find(
    (trigger) => TRIGGERS[trigger] === name || trigger === name,
  );
}

export function replicationExecutionJson(execution: ExecutionRecord, counts: TaskCounts = {}): Record<string, unknown> {
  const count = (...statuses: ExecutionStatus[]): number =>
    statuses.reduce((sum, status) => sum + (counts[status] ?? 0), 0);
  const skipped = execution.extraAttrs["skipped"] === true;
  const reason = execution.extraAttrs["skip_reason"];
  return {
    id: execution.id,
    policy_id: execution.vendorId,
    status: skipped ? "Skipped" : EXECUTION_STATUS[execution.status],
    trigger: TRIGGERS[execution.trigger],
    // Harbor's execution starts when it is triggered.
    start_time: time(execution.createdAt),
    end_time: execution.endedAt ? time(execution.endedAt) : ZERO_TIME,
    status_text: skipped && typeof reason === "string" ? reason : execution.statusMessage,
    total: count(...STATUSES),
    failed: count("Error"),
    succeed: count("Success"),
    in_progress: count("Pending", "Running"),
    stopped: count("Stopped"),
  };
}

function attribute(task: TaskRecord, key: string): string {
  const value = task.extraAttrs[key];
  return typeof value === "string" ? value : "";
}

export function replicationTaskJson(task: TaskRecord): Record<string, unknown> {
  return {
    id: task.id,
    execution_id: task.executionId,
    status: TASK_STATUS[task.status],
    job_id: attribute(task, "job_id") || String(task.id),
    operation: attribute(task, "operation"),
    resource_type: attribute(task, "resource_type"),
    src_resource: attribute(task, "src_resource"),
    dst_resource: attribute(task, "dst_resource"),
    start_time: task.startedAt ? time(task.startedAt) : ZERO_TIME,
    end_time: task.endedAt ? time(task.endedAt) : ZERO_TIME,
  };
}
