// Harbor's schedule views: /api/v2.0/schedules lists every schedule of the job system (the audit
// log purge's, garbage collection's, each retention policy's…), a page at a time, for the system
// administrator or a system robot holding `jobservice-monitor` list; /schedules/all/paused says
// whether the scheduler is paused (PUT /jobservice/queues/SCHEDULER pauses it), for anyone signed
// in, as Harbor has it.

import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { ALL, type JobMonitor } from "../jobs/job-monitor.ts";
import type { ApiAccess } from "./api-access.ts";
import { paging, pathSegment, setPageHeaders, time } from "./harbor-http.ts";

const SCHEDULES = /^\/api\/v2\.0\/schedules\/?$/;
const PAUSED = /^\/api\/v2\.0\/schedules\/(?<type>[^/]+)\/paused\/?$/;

export interface ScheduleRouteDeps {
  store: MetadataStore;
  monitor: JobMonitor;
  access: ApiAccess;
}

export function addScheduleRoutes(router: Router, deps: ScheduleRouteDeps): void {
  const { store, monitor, access } = deps;

  router.add("schedules_list", "GET", SCHEDULES, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "jobservice-monitor", "list");
    const page = paging(ctx.url);
    const listing = await store.jobs.listSchedules(page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(
      ctx.res,
      200,
      listing.items.map((schedule) => ({
        id: schedule.id,
        vendor_type: schedule.vendorType,
        vendor_id: schedule.vendorId,
        cron: schedule.cron,
        update_time: time(schedule.updatedAt),
      })),
    );
  });

  router.add("schedules_paused", "GET", PAUSED, async (ctx) => {
    await access.requireCaller(ctx.req);
    if (pathSegment(ctx.params["type"]).toLowerCase() !== ALL) {
      throw new HarborError("BAD_REQUEST", "job_type can only be 'all'");
    }
    sendJson(ctx.res, 200, { paused: await monitor.schedulerPaused() });
  });
}
