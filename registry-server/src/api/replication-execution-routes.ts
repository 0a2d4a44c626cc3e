// Harbor's replication executions API (src/server/v2.0/handler/replication.go):
// /api/v2.0/replication/executions (list with `policy_id`, `status`, `trigger`; POST
// `{"policy_id"}` starts one), /executions/{id} (get; PUT stops it), /executions/{id}/tasks (with
// `status` and `resource_type`) and /executions/{id}/tasks/{task_id}/log (text/plain). Executions
// are the job system's, of vendor type REPLICATION; the documents are in
// replication-execution-json.ts. A system resource, "replication" (list, read, and create for
// starting and stopping): the administrator, or a system robot holding the action.
//
// As Harbor: starting a disabled policy is 412, an unknown one 404; `?trigger=scheduled` on the
// POST (Harbor's legacy scheduler) records the run as scheduled; with single_active_replication
// a start while a run is under way answers 201, and the job handler ends the new execution
// skipped; stopping an execution that ended is a 200 that changes nothing; the tasks of an
// unknown execution are an empty list.

import { z } from "zod";
import { HarborError } from "../http/errors.ts";
import { sendJson, sendText } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import type { JobService } from "../jobs/job-service.ts";
import type { ExecutionFilter, ExecutionRecord, TaskFilter } from "../metadata/job-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { ReplicationDisabledError, type ReplicationPolicyService } from "../replication/replication-policy-service.ts";
import { REPLICATION_VENDOR } from "../replication/replication-policy.ts";
import type { ApiAccess } from "./api-access.ts";
import { parseSort } from "./content-queries.ts";
import { created, ok, paging, readJson, setPageHeaders } from "./harbor-http.ts";
import {
  executionStatusesNamed,
  replicationExecutionJson,
  replicationTaskJson,
  taskStatusesNamed,
  triggerNamed,
} from "./replication-execution-json.ts";

const EXECUTIONS = /^\/api\/v2\.0\/replication\/executions\/?$/;
const EXECUTION = /^\/api\/v2\.0\/replication\/executions\/(?<id>\d+)\/?$/;
const TASKS = /^\/api\/v2\.0\/replication\/executions\/(?<id>\d+)\/tasks\/?$/;
const TASK_LOG = /^\/api\/v2\.0\/replication\/executions\/(?<id>\d+)\/tasks\/(?<tid>\d+)\/log\/?$/;

/** Harbor's rbac resource of the executions. */
const RESOURCE = "replication";

const startBody = z.object({ policy_id: z.number().int().min(0).nullish() });

/** Sort keys of the executions: both follow the order they were triggered in. */
const SORT_KEYS = { id: "id", start_time: "id" } as const;

export interface ReplicationExecutionRouteDeps {
  store: Pick<MetadataStore, "replicationPolicies" | "jobs">;
  jobs: Pick<JobService, "requestStop">;
  access: ApiAccess;
  policies: ReplicationPolicyService;
}

function integerParam(url: URL, name: string): number | undefined {
  const text = url.searchParams.get(name);
  if (text === null || text.trim() === "") return undefined;
  if (!/^\s*\d+\s*$/.test(text)) throw new HarborError("BAD_REQUEST", `${name} must be an integer`);
  return Number(text);
}

export function addReplicationExecutionRoutes(router: Router, deps: ReplicationExecutionRouteDeps): void {
  const { store, jobs, access, policies } = deps;

  /** The execution of the path, when it is a replication's. */
  async function executionOf(ctx: RequestContext): Promise<ExecutionRecord | undefined> {
    const execution = await store.jobs.getExecution(Number(ctx.params["id"]));
    return execution?.vendorType === REPLICATION_VENDOR ? execution : undefined;
  }

  async function existingExecution(ctx: RequestContext): Promise<ExecutionRecord> {
    const execution = await executionOf(ctx);
    if (!execution) throw new HarborError("NOT_FOUND", `replication execution ${ctx.params["id"]} not found`);
    return execution;
  }

  async function render(executions: readonly ExecutionRecord[]): Promise<Record<string, unknown>[]> {
    const counts = await store.jobs.taskCounts(executions.map((execution) => execution.id));
    return executions.map((execution) => replicationExecutionJson(execution, counts.get(execution.id)));
  }

  router.add("replication_execution_list", "GET", EXECUTIONS, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "list");
    const page = paging(ctx.url);
    const policyId = integerParam(ctx.url, "policy_id");
    const status = ctx.url.searchParams.get("status");
    const triggerName = ctx.url.searchParams.get("trigger");
    const trigger = triggerName ? triggerNamed(triggerName) : undefined;
    const [sort] = parseSort(ctx.url, SORT_KEYS);
    const filter: ExecutionFilter = {
      vendorType: REPLICATION_VENDOR,
      ...(policyId !== undefined && { vendorId: policyId }),
      ...(status && { statuses: executionStatusesNamed(status) }),
      ...(trigger && { trigger }),
      ...(sort && !sort.desc && { oldestFirst: true }),
    };
    // A trigger no execution can have matches none.
    const listing = triggerName && !trigger ? { items: [], total: 0 } : await store.jobs.listExecutions(filter, page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, await render(listing.items));
  });

  router.add("replication_execution_start", "POST", EXECUTIONS, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "create");
    const body = await readJson(ctx.req, startBody);
    const policyId = body.policy_id ?? 0;
    const policy = await store.replicationPolicies.get(policyId);
    if (!policy) throw new HarborError("NOT_FOUND", `replication policy ${policyId} not found`);
    const trigger = ctx.url.searchParams.get("trigger") === "scheduled" ? "SCHEDULE" : "MANUAL";
    try {
      const execution = await policies.start(policy, trigger);
      created(ctx.res, `/api/v2.0/replication/executions/${execution.id}`);
    } catch (error) {
      if (error instanceof ReplicationDisabledError) throw new HarborError("PRECONDITION", error.message);
      throw error;
    }
  });

  router.add("replication_execution_get", "GET", EXECUTION, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "read");
    const [json] = await render([await existingExecution(ctx)]);
    sendJson(ctx.res, 200, json);
  });

  router.add("replication_execution_stop", "PUT", EXECUTION, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "create");
    await jobs.requestStop((await existingExecution(ctx)).id);
    ok(ctx.res);
  });

  router.add("replication_task_list", "GET", TASKS, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "list");
    const page = paging(ctx.url);
    const status = ctx.url.searchParams.get("status");
    const resourceType = ctx.url.searchParams.get("resource_type");
    const filter: TaskFilter = {
      ...(status && { statuses: taskStatusesNamed(status) }),
      ...(resourceType && { attribute: { key: "resource_type", value: resourceType } }),
    };
    const execution = await executionOf(ctx);
    const listing = execution ? await store.jobs.listTasks(execution.id, page, filter) : { items: [], total: 0 };
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, listing.items.map(replicationTaskJson));
  });

  router.add("replication_task_log", "GET", TASK_LOG, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "read");
    const execution = await existingExecution(ctx);
    const taskId = Number(ctx.params["tid"]);
    const task = await store.jobs.getTask(taskId);
    const owner = task && (await store.jobs.getExecution(task.executionId));
    if (!task || owner?.vendorType !== REPLICATION_VENDOR) {
      throw new HarborError("NOT_FOUND", `replication task ${taskId} not found`);
    }
    if (task.executionId !== execution.id) {
      throw new HarborError("NOT_FOUND", `execution ${execution.id} contains no task with ID ${taskId}`);
    }
    sendText(ctx.res, 200, await store.jobs.log(execution.id, task.id));
  });
}
