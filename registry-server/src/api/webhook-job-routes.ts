// A webhook policy's deliveries as Harbor's API shows them (src/server/v2.0/handler/webhook.go):
// /policies/{id}/executions (newest first, paged, X-Total-Count and Link), /executions/{eid}/tasks
// (one per target) and /tasks/{tid}/log (the task's log: each attempt, its status code and time),
// all with the `notification-policy` read permission; and the deprecated /webhook/jobs?policy_id=
// (Harbor's WebhookJob, one per execution, filtered by `status`) with the list permission.
// Executions are the job system's, vendor type WEBHOOK (http) or SLACK, vendor id the policy's;
// an execution of another policy or kind is a 404. Times are Go's RFC 3339 in seconds, as Harbor's
// convertExecutionToPayload writes them, the zero time for one not reached.

import { HarborError } from "../http/errors.ts";
import { sendJson, sendText } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import type { Listing, Window } from "../metadata/identity-store.ts";
import type { ExecutionRecord, TaskRecord } from "../metadata/job-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { DELIVERY_VENDORS, SLACK_VENDOR } from "../webhook/webhook-policies.ts";
import { deliveryParameters } from "../webhook/webhook-job.ts";
import type { ApiAccess } from "./api-access.ts";
import { paging, setPageHeaders, time } from "./harbor-http.ts";
import { policyOfPath, webhookProject } from "./webhook-policy-routes.ts";

const POLICY = "^/api/v2\\.0/projects/(?<project>[^/]+)/webhook/policies/(?<id>\\d+)";
const EXECUTIONS = new RegExp(`${POLICY}/executions/?$`);
const TASKS = new RegExp(`${POLICY}/executions/(?<eid>\\d+)/tasks/?$`);
const TASK_LOG = new RegExp(`${POLICY}/executions/(?<eid>\\d+)/tasks/(?<tid>\\d+)/log/?$`);
const JOBS = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/webhook\/jobs\/?$/;

/** Deliveries the deprecated jobs listing looks through. */
const MAX_JOBS = 10_000;
const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

export interface WebhookJobRouteDeps {
  store: MetadataStore;
  access: ApiAccess;
}

/** Go's time.RFC3339: whole seconds, UTC. */
function rfc3339(date: Date | undefined): string {
  return date ? date.toISOString().replace(/\.\d{3}Z$/, "Z") : GO_ZERO_TIME;
}

/** Harbor's execution extra_attrs for a delivery: the event type and the payload sent. */
function extraAttrs(execution: ExecutionRecord): Record<string, unknown> {
  const parameters = deliveryParameters(execution);
  return {
    ...(parameters && { event_type: parameters.event_type, payload: parameters.targets[0]?.payload ?? "" }),
    ...execution.extraAttrs,
  };
}

function executionJson(execution: ExecutionRecord, tasks: readonly TaskRecord[]): Record<string, unknown> {
  const count = (status: string): number => tasks.filter((task) => task.status === status).length;
  return {
    id: execution.id,
    vendor_type: execution.vendorType,
    vendor_id: execution.vendorId,
    status: execution.status,
    status_message: execution.statusMessage,
    metrics: {
      task_count: tasks.length,
      success_task_count: count("Success"),
      error_task_count: count("Error"),
      pending_task_count: count("Pending"),
      running_task_count: count("Running"),
      scheduled_task_count: 0,
      stopped_task_count: count("Stopped"),
    },
    trigger: execution.trigger,
    extra_attrs: extraAttrs(execution),
    start_time: rfc3339(execution.startedAt ?? execution.createdAt),
    end_time: rfc3339(execution.endedAt),
  };
}

function taskJson(task: TaskRecord, execution: ExecutionRecord): Record<string, unknown> {
  return {
    id: task.id,
    execution_id: task.executionId,
    status: task.status,
    status_message: task.statusMessage,
    // Tasks run again with their execution's retries.
    run_count: task.status === "Pending" ? 0 : execution.attempts,
    extra_attrs: task.extraAttrs,
    creation_time: rfc3339(task.createdAt),
    update_time: rfc3339(task.updatedAt),
    start_time: rfc3339(task.startedAt),
    end_time: rfc3339(task.endedAt),
  };
}

/** The policy's deliveries of both kinds, newest first. */
async function deliveries(store: MetadataStore, policyId: number, window: Window): Promise<Listing<ExecutionRecord>> {
  const wanted = { offset: 0, limit: window.offset + window.limit };
  const lists = await Promise.all(
    DELIVERY_VENDORS.map((vendorType) => store.jobs.listExecutions({ vendorType, vendorId: policyId }, wanted)),
  );
  const merged = lists.flatMap((list) => list.items).sort((a, b) => b.id - a.id);
  return {
    items: merged.slice(window.offset, window.offset + window.limit),
    total: lists.reduce((sum, list) => sum + list.total, 0),
  };
}

async function tasksOf(store: MetadataStore, execution: ExecutionRecord): Promise<TaskRecord[]> {
  return (await store.jobs.listTasks(execution.id, { offset: 0, limit: 1_000 })).items;
}

export function addWebhookJobRoutes(router: Router, deps: WebhookJobRouteDeps): void {
  const { store } = deps;

  /** The path's execution of the path's policy (webhook.go's requireExecutionInPolicy). */
  async function executionOf(ctx: RequestContext): Promise<ExecutionRecord> {
    const { project } = await webhookProject(ctx, deps, "read");
    const policy = await policyOfPath(ctx, store, project);
    const id = Number(ctx.params["eid"]);
    const execution = await store.jobs.getExecution(id);
    if (
      !execution ||
      execution.vendorId !== policy.id ||
      !(DELIVERY_VENDORS as readonly string[]).includes(execution.vendorType)
    ) {
      throw new HarborError("NOT_FOUND", `execution ${id} not found in policy ${policy.id}`);
    }
    return execution;
  }

  router.add("webhook_executions", "GET", EXECUTIONS, async (ctx) => {
    const { project } = await webhookProject(ctx, deps, "read");
    const policy = await policyOfPath(ctx, store, project);
    const page = paging(ctx.url);
    const listing = await deliveries(store, policy.id, page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    const items = [];
    for (const execution of listing.items) items.push(executionJson(execution, await tasksOf(store, execution)));
    sendJson(ctx.res, 200, items);
  });

  router.add("webhook_tasks", "GET", TASKS, async (ctx) => {
    const execution = await executionOf(ctx);
    const page = paging(ctx.url);
    const listing = await store.jobs.listTasks(execution.id, page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(
      ctx.res,
      200,
      listing.items.map((task) => taskJson(task, execution)),
    );
  });

  router.add("webhook_task_log", "GET", TASK_LOG, async (ctx) => {
    const execution = await executionOf(ctx);
    const id = Number(ctx.params["tid"]);
    const task = await store.jobs.getTask(id);
    if (!task || task.executionId !== execution.id) {
      throw new HarborError("NOT_FOUND", `task ${id} not found in execution ${execution.id}`);
    }
    sendText(ctx.res, 200, await store.jobs.log(execution.id, task.id));
  });

  router.add("webhook_jobs", "GET", JOBS, async (ctx) => {
    const { project } = await webhookProject(ctx, deps, "list");
    const policyText = ctx.url.searchParams.get("policy_id");
    if (policyText === null || !/^\d+$/.test(policyText)) {
      throw new HarborError("BAD_REQUEST", "policy_id in query is required");
    }
    const policy = await store.webhookPolicies.get(Number(policyText));
    if (!policy || policy.projectId !== project.id) {
      throw new HarborError("NOT_FOUND", `project id:${project.id}, webhook policy id: ${policyText} not found`);
    }
    const statuses = ctx.url.searchParams
      .getAll("status")
      .flatMap((s) => s.split(","))
      .filter(Boolean);
    const all = await deliveries(store, policy.id, { offset: 0, limit: MAX_JOBS });
    const matching = all.items.filter((e) => statuses.length === 0 || statuses.includes(e.status));
    const page = paging(ctx.url);
    setPageHeaders(ctx.res, ctx.url, page, matching.length);
    sendJson(
      ctx.res,
      200,
      matching.slice(page.offset, page.offset + page.limit).map((execution) => {
        const parameters = deliveryParameters(execution);
        return {
          id: execution.id,
          policy_id: execution.vendorId,
          event_type: parameters?.event_type ?? "",
          notify_type: execution.vendorType === SLACK_VENDOR ? "slack" : "http",
          status: execution.status,
          job_detail: parameters?.targets[0]?.payload ?? "",
          creation_time: time(execution.createdAt),
          update_time: time(execution.updatedAt),
        };
      }),
    );
  });
}
