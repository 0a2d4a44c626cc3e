// Harbor's audit log purge API: /api/v2.0/system/purgeaudit (the executions, newest first),
// /{id} (one; PUT stops it), /{id}/log (its log as text) and /schedule (GET the schedule, 200 with
// an empty body when there is none, as Harbor's clients expect; POST and PUT set it, run the job
// at once with type "Manual", or cancel it with "None"). The system administrator's, or a system
// robot's holding the `purge-audit` permission.

import { HarborError } from "../http/errors.ts";
import { sendJson, sendText } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { PURGE_AUDIT_VENDOR } from "../audit/audit-purge-job.ts";
import { ScheduleError, type JobService } from "../jobs/job-service.ts";
import type { ApiAccess } from "./api-access.ts";
import { created, ok, paging, readJson, setPageHeaders } from "./harbor-http.ts";
import { executionJson, scheduleBodySchema, scheduleJson, type ScheduleBody } from "./job-json.ts";

const BASE = "/api/v2.0/system/purgeaudit";
const HISTORY = /^\/api\/v2\.0\/system\/purgeaudit\/?$/;
const SCHEDULE = /^\/api\/v2\.0\/system\/purgeaudit\/schedule\/?$/;
const EXECUTION = /^\/api\/v2\.0\/system\/purgeaudit\/(?<id>\d+)$/;
const EXECUTION_LOG = /^\/api\/v2\.0\/system\/purgeaudit\/(?<id>\d+)\/log$/;

export interface PurgeAuditRouteDeps {
  store: MetadataStore;
  jobs: JobService;
  access: ApiAccess;
}

export function addPurgeAuditRoutes(router: Router, deps: PurgeAuditRouteDeps): void {
  const { store, jobs, access } = deps;

  async function execution(ctx: RequestContext) {
    const found = await store.jobs.getExecution(Number(ctx.params["id"]));
    if (!found || found.vendorType !== PURGE_AUDIT_VENDOR) {
      throw new HarborError("NOT_FOUND", `purge job with id ${ctx.params["id"]} not found`);
    }
    return found;
  }

  /** Runs, schedules or cancels; returns the id of an execution started now. */
  async function apply(body: ScheduleBody): Promise<number | undefined> {
    const { type, cron } = body.schedule;
    const parameters = body.parameters ?? {};
    if (type === "None") {
      await store.jobs.deleteSchedule(PURGE_AUDIT_VENDOR);
      return undefined;
    }
    if (!("audit_retention_hour" in parameters))
      throw new HarborError("BAD_REQUEST", "audit_retention_hour should provide");
    if (!("include_operations" in parameters) && !("include_event_types" in parameters)) {
      throw new HarborError("BAD_REQUEST", "include_operations or include_event_types should provide");
    }
    if (type === "Manual") return (await jobs.enqueue(PURGE_AUDIT_VENDOR, parameters, "MANUAL")).id;
    try {
      await jobs.setSchedule({
        vendorType: PURGE_AUDIT_VENDOR,
        cronType: type === "Schedule" ? "Custom" : type,
        ...(cron && { cron }),
        parameters,
      });
    } catch (error) {
      if (error instanceof ScheduleError) throw new HarborError("BAD_REQUEST", error.message);
      throw error;
    }
    return undefined;
  }

  router.add("purge_audit_history", "GET", HISTORY, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "purge-audit", "list");
    const page = paging(ctx.url);
    const listing = await store.jobs.listExecutions({ vendorType: PURGE_AUDIT_VENDOR }, page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, listing.items.map(executionJson));
  });

  router.add("purge_audit_schedule_get", "GET", SCHEDULE, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "purge-audit", "read");
    const schedule = await store.jobs.getSchedule(PURGE_AUDIT_VENDOR);
    if (!schedule) {
      // Harbor answers no schedule with an empty body; its clients test for exactly that.
      ok(ctx.res);
      return;
    }
    sendJson(ctx.res, 200, scheduleJson(schedule, new Date()));
  });

  router.add("purge_audit_schedule_create", "POST", SCHEDULE, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "purge-audit", "create");
    const id = await apply(await readJson(ctx.req, scheduleBodySchema));
    created(ctx.res, `${BASE}/${id ?? 0}`);
  });

  router.add("purge_audit_schedule_update", "PUT", SCHEDULE, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "purge-audit", "update");
    await apply(await readJson(ctx.req, scheduleBodySchema));
    ok(ctx.res);
  });

  router.add("purge_audit_get", "GET", EXECUTION, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "purge-audit", "read");
    sendJson(ctx.res, 200, executionJson(await execution(ctx)));
  });

  router.add("purge_audit_stop", "PUT", EXECUTION, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "purge-audit", "stop");
    await jobs.requestStop((await execution(ctx)).id);
    ok(ctx.res);
  });

  router.add("purge_audit_log", "GET", EXECUTION_LOG, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "purge-audit", "read");
    const found = await execution(ctx);
    sendText(ctx.res, 200, await store.jobs.log(found.id));
  });
}
