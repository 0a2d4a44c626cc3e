// Harbor's API for its system jobs, one shape for each: `/api/v2.0/system/<name>` (the executions,
// newest first), `/{id}` (one; PUT stops it), `/{id}/log` (its log as text) and `/schedule` (GET
// the schedule, 200 with an empty body when there is none, as Harbor's clients expect; POST and
// PUT set it, run the job at once with type "Manual", or cancel it with "None"). The audit log
// purge (`purgeaudit`) and garbage collection (`gc`) are two such jobs; each says how its
// parameters are checked. The system administrator's, or a system robot's holding the job's
// permission resource (`purge-audit`, `garbage-collection`).

import { HarborError } from "../http/errors.ts";
import { sendJson, sendText } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { ScheduleError, type JobService } from "../jobs/job-service.ts";
import type { ApiAccess } from "./api-access.ts";
import { created, ok, paging, readJson, setPageHeaders } from "./harbor-http.ts";
import { executionJson, scheduleBodySchema, scheduleJson, type ScheduleBody } from "./job-json.ts";

export interface SystemJob {
  /** The path segment under /api/v2.0/system/, e.g. "gc". */
  readonly path: string;
  /** The route names' prefix, e.g. "gc". */
  readonly routeName: string;
  readonly vendorType: string;
  /** The permission resource a system robot needs, e.g. "garbage-collection". */
  readonly resource: string;
  /** Harbor's 404 message for an unknown execution id. */
  notFound(id: string): string;
  /**
   * The parameters the job runs with, from those sent, for a run now or a schedule; throws a
   * HarborError when they are refused.
   */
  parameters(body: ScheduleBody): Record<string, unknown>;
  /** Checks a schedule before it is kept, beyond what the job system checks. */
  checkSchedule?(body: ScheduleBody): void;
  /**
   * Checks a request to `/schedule` once access is granted and before anything is done (the
   * body of a POST or PUT); throws a HarborError to refuse it.
   */
  guard?(method: "GET" | "POST" | "PUT", body?: ScheduleBody): Promise<void>;
}

export interface SystemJobRouteDeps {
  store: MetadataStore;
  jobs: JobService;
  access: ApiAccess;
}

export function addSystemJobRoutes(router: Router, job: SystemJob, deps: SystemJobRouteDeps): void {
  const { store, jobs, access } = deps;
  const base = `/api/v2.0/system/${job.path}`;
  const escaped = base.replace(/[./]/g, "\\$&");
  const history = new RegExp(`^${escaped}/?$`);
  const schedule = new RegExp(`^${escaped}/schedule/?$`);
  const one = new RegExp(`^${escaped}/(?<id>\\d+)$`);
  const log = new RegExp(`^${escaped}/(?<id>\\d+)/log$`);

  async function execution(ctx: RequestContext) {
    const found = await store.jobs.getExecution(Number(ctx.params["id"]));
    if (!found || found.vendorType !== job.vendorType) {
      throw new HarborError("NOT_FOUND", job.notFound(ctx.params["id"] ?? ""));
    }
    return found;
  }

  /** Runs, schedules or cancels; returns the id of an execution started now. */
  async function apply(body: ScheduleBody): Promise<number | undefined> {
    const { type, cron } = body.schedule;
    if (type === "None") {
      await store.jobs.deleteSchedule(job.vendorType);
      return undefined;
    }
    const parameters = job.parameters(body);
    if (type === "Manual") return (await jobs.enqueue(job.vendorType, parameters, "MANUAL")).id;
    job.checkSchedule?.(body);
    try {
      await jobs.setSchedule({
        vendorType: job.vendorType,
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

  router.add(`${job.routeName}_history`, "GET", history, async (ctx) => {
    await access.requireSystemAccess(ctx.req, job.resource, "list");
    const page = paging(ctx.url);
    const listing = await store.jobs.listExecutions({ vendorType: job.vendorType }, page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, listing.items.map(executionJson));
  });

  router.add(`${job.routeName}_schedule_get`, "GET", schedule, async (ctx) => {
    await access.requireSystemAccess(ctx.req, job.resource, "read");
    await job.guard?.("GET");
    const found = await store.jobs.getSchedule(job.vendorType);
    if (!found) {
      // Harbor answers no schedule with an empty body; its clients test for exactly that.
      ok(ctx.res);
      return;
    }
    sendJson(ctx.res, 200, scheduleJson(found, new Date()));
  });

  router.add(`${job.routeName}_schedule_create`, "POST", schedule, async (ctx) => {
    await access.requireSystemAccess(ctx.req, job.resource, "create");
    const body = await readJson(ctx.req, scheduleBodySchema);
    await job.guard?.("POST", body);
    const id = await apply(body);
    created(ctx.res, `${base}/${id ?? 0}`);
  });

  router.add(`${job.routeName}_schedule_update`, "PUT", schedule, async (ctx) => {
    await access.requireSystemAccess(ctx.req, job.resource, "update");
    const body = await readJson(ctx.req, scheduleBodySchema);
    await job.guard?.("PUT", body);
    await apply(body);
    ok(ctx.res);
  });

  router.add(`${job.routeName}_get`, "GET", one, async (ctx) => {
    await access.requireSystemAccess(ctx.req, job.resource, "read");
    sendJson(ctx.res, 200, executionJson(await execution(ctx)));
  });

  router.add(`${job.routeName}_stop`, "PUT", one, async (ctx) => {
    await access.requireSystemAccess(ctx.req, job.resource, "stop");
    await jobs.requestStop((await execution(ctx)).id);
    ok(ctx.res);
  });

  router.add(`${job.routeName}_log`, "GET", log, async (ctx) => {
    await access.requireSystemAccess(ctx.req, job.resource, "read");
    const found = await execution(ctx);
    sendText(ctx.res, 200, await store.jobs.log(found.id));
  });
}
