// Harbor's retention API (src/server/v2.0/handler/retention.go): /retentions/metadatas (the rule
// templates and selectors, for any signed-in caller), /retentions (create: one policy per project,
// whose id then sits in the project's `retention_id` metadata), /retentions/{id} (get, PUT that
// replaces the whole policy, delete), and its runs: /executions (POST with `dry_run`, list),
// /executions/{eid} (PATCH {"action":"stop"}), /executions/{eid}/tasks (one per repository) and
// /tasks/{tid} (a task's log). Each needs Harbor's `tag-retention` permission in the policy's
// project. A policy's schedule (trigger.settings.cron, Harbor's six-field cron; "" for none) is a
// schedule of the job system. Beyond Harbor: deleting a policy also clears `retention_id`, so the
// project can be given a new one.

import { z } from "zod";
import { HarborError } from "../http/errors.ts";
import { sendJson, sendText } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import { ScheduleError, type JobService } from "../jobs/job-service.ts";
import type { ExecutionRecord, TaskRecord } from "../metadata/job-store.ts";
import type { ProjectRecord } from "../metadata/identity-store.ts";
import type { RetentionPolicyRecord } from "../metadata/lifecycle-store.ts";
import { RETENTION_METADATA } from "../retention/retention-metadata.ts";
import { retentionPolicySchema, ruleConflict, type RetentionPolicy } from "../retention/retention-policy.ts";
import type { RetentionPolicyStore, RetentionService } from "../retention/retention-service.ts";
import { RETENTION_VENDOR } from "../retention/retention-job.ts";
import type { ApiAccess } from "./api-access.ts";
import type { ProjectAction } from "./project-rbac.ts";
import { created, ok, paging, readJson, setPageHeaders, time } from "./harbor-http.ts";

const METADATAS = /^\/api\/v2\.0\/retentions\/metadatas\/?$/;
const POLICIES = /^\/api\/v2\.0\/retentions\/?$/;
const POLICY = /^\/api\/v2\.0\/retentions\/(?<id>\d+)\/?$/;
const EXECUTIONS = /^\/api\/v2\.0\/retentions\/(?<id>\d+)\/executions\/?$/;
const EXECUTION = /^\/api\/v2\.0\/retentions\/(?<id>\d+)\/executions\/(?<eid>\d+)\/?$/;
const TASKS = /^\/api\/v2\.0\/retentions\/(?<id>\d+)\/executions\/(?<eid>\d+)\/tasks\/?$/;
const TASK = /^\/api\/v2\.0\/retentions\/(?<id>\d+)\/executions\/(?<eid>\d+)\/tasks\/(?<tid>\d+)\/?$/;

const triggerBody = z.object({ dry_run: z.boolean().nullish() });
const operateBody = z.object({ action: z.string().nullish() });

export interface RetentionRouteDeps {
  store: RetentionPolicyStore;
  jobs: JobService;
  retention: RetentionService;
  access: ApiAccess;
}

/** A policy's schedule the job system refuses is the client's mistake: Harbor's 400. */
async function scheduled<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ScheduleError) throw new HarborError("BAD_REQUEST", error.message);
    throw error;
  }
}

function executionJson(execution: ExecutionRecord): Record<string, unknown> {
  return {
    id: execution.id,
    policy_id: execution.vendorId,
    start_time: time(execution.startedAt ?? execution.createdAt),
    end_time: execution.endedAt ? time(execution.endedAt) : "",
    status: execution.status,
    trigger: execution.trigger,
    dry_run: execution.parameters["dry_run"] === true,
  };
}

function taskJson(task: TaskRecord): Record<string, unknown> {
  return {
    id: task.id,
    execution_id: task.executionId,
    repository: task.name,
    job_id: String(task.id),
    status: task.status,
    // Harbor's job status codes: pending 0, running 2, every end 3.
    status_code: task.status === "Pending" ? 0 : task.status === "Running" ? 2 : 3,
    status_revision: task.updatedAt.getTime(),
    start_time: task.startedAt ? time(task.startedAt) : "",
    end_time: task.endedAt ? time(task.endedAt) : "",
    total: Number(task.extraAttrs["total"] ?? 0),
    retained: Number(task.extraAttrs["retained"] ?? 0),
  };
}

export function addRetentionRoutes(router: Router, deps: RetentionRouteDeps): void {
  const { store, jobs, retention, access } = deps;

  /** The policy of the path and its project, once the caller may act on it. */
  async function policyOf(ctx: RequestContext, action: ProjectAction) {
    const id = Number(ctx.params["id"]);
    const record = await store.retentions.get(id);
    if (!record) throw new HarborError("NOT_FOUND", `retention policy ${id} not found`);
    const project = await projectOf(record.projectId);
    await access.requirePermission(ctx.req, project, "tag-retention", action);
    return { record, project };
  }

  async function projectOf(id: number): Promise<ProjectRecord> {
    const project = await store.projects.get(id);
    if (!project) throw new HarborError("BAD_REQUEST", `invalid Project id ${id}`);
    return project;
  }

  async function readPolicy(ctx: RequestContext): Promise<RetentionPolicy> {
    const policy = await readJson(ctx.req, retentionPolicySchema);
    const conflict = ruleConflict(policy);
    if (conflict !== undefined) throw new HarborError("CONFLICT", conflict);
    return policy;
  }

  router.add("retention_metadatas", "GET", METADATAS, async (ctx) => {
    await access.requireCaller(ctx.req);
    sendJson(ctx.res, 200, RETENTION_METADATA);
  });

  router.add("retention_create", "POST", POLICIES, async (ctx) => {
    const policy = await readPolicy(ctx);
    const project = await projectOf(policy.scope.ref);
    await access.requirePermission(ctx.req, project, "tag-retention", "create");
    const existing = project.metadata["retention_id"] ?? (await store.retentions.forProject(project.id))?.id;
    if (existing !== undefined) {
      throw new HarborError("BAD_REQUEST", `project ${project.id} already has retention policy ${existing}`);
    }
    const record = await scheduled(() => retention.create(project, policy));
    created(ctx.res, `/api/v2.0/retentions/${record.id}`);
  });

  router.add("retention_get", "GET", POLICY, async (ctx) => {
    const { record } = await policyOf(ctx, "read");
    sendJson(ctx.res, 200, JSON.parse(record.policy) as unknown);
  });

  router.add("retention_update", "PUT", POLICY, async (ctx) => {
    const policy = await readPolicy(ctx);
    const { record, project } = await policyOf(ctx, "update");
    if (policy.scope.ref !== project.id || project.metadata["retention_id"] !== String(record.id)) {
      throw new HarborError("NOT_FOUND", `the retention policy id ${record.id} does not match`);
    }
    const saved = await scheduled(() => retention.update(record, policy));
    if (!saved) throw new HarborError("NOT_FOUND", `retention policy ${record.id} not found`);
    ok(ctx.res);
  });

  router.add("retention_delete", "DELETE", POLICY, async (ctx) => {
    const { record } = await policyOf(ctx, "delete");
    await retention.delete(record);
    ok(ctx.res);
  });

  router.add("retention_trigger", "POST", EXECUTIONS, async (ctx) => {
    const { record } = await policyOf(ctx, "update");
    const body = await readJson(ctx.req, triggerBody);
    const execution = await jobs.enqueue(RETENTION_VENDOR, { dry_run: body.dry_run === true }, "MANUAL", record.id);
    created(ctx.res, `/api/v2.0/retentions/${record.id}/executions/${execution.id}`);
  });

  router.add("retention_executions", "GET", EXECUTIONS, async (ctx) => {
    const { record } = await policyOf(ctx, "list");
    const page = paging(ctx.url);
    const listing = await store.jobs.listExecutions({ vendorType: RETENTION_VENDOR, vendorId: record.id }, page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, listing.items.map(executionJson));
  });

  /** An execution of the path's policy. */
  async function executionOf(ctx: RequestContext, record: RetentionPolicyRecord): Promise<ExecutionRecord> {
    const execution = await store.jobs.getExecution(Number(ctx.params["eid"]));
    if (!execution || execution.vendorType !== RETENTION_VENDOR || execution.vendorId !== record.id) {
      throw new HarborError("NOT_FOUND", `retention execution ${ctx.params["eid"]} not found`);
    }
    return execution;
  }

  router.add("retention_execution_operate", "PATCH", EXECUTION, async (ctx) => {
    const body = await readJson(ctx.req, operateBody);
    if (body.action !== "stop") throw new HarborError("BAD_REQUEST", "action should be 'stop'");
    const { record } = await policyOf(ctx, "update");
    await jobs.requestStop((await executionOf(ctx, record)).id);
    ok(ctx.res);
  });

  router.add("retention_tasks", "GET", TASKS, async (ctx) => {
    const { record } = await policyOf(ctx, "list");
    const execution = await executionOf(ctx, record);
    const page = paging(ctx.url);
    const listing = await store.jobs.listTasks(execution.id, page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, listing.items.map(taskJson));
  });

  router.add("retention_task_log", "GET", TASK, async (ctx) => {
    const { record } = await policyOf(ctx, "read");
    const execution = await executionOf(ctx, record);
    const task = await store.jobs.getTask(Number(ctx.params["tid"]));
    if (!task || task.executionId !== execution.id) {
      throw new HarborError("NOT_FOUND", `retention task ${ctx.params["tid"]} not found`);
    }
    sendText(ctx.res, 200, await store.jobs.log(execution.id, task.id));
  });
}
