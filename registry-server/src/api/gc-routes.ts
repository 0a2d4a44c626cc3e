// Harbor's garbage collection API, /api/v2.0/system/gc: a system job (system-job-routes.ts). As in
// Harbor's handler, the run's `time_window` is the server's, whatever the client sent (a client
// must not be able to shrink the grace period that keeps pushes in flight safe; see gc/README.md),
// and a custom schedule needs a cron.

import { GC_VENDOR } from "../gc/gc-job.ts";
import { HarborError } from "../http/errors.ts";
import type { Router } from "../http/router.ts";
import { addSystemJobRoutes, type SystemJob, type SystemJobRouteDeps } from "./system-job-routes.ts";

export function gcSystemJob(timeWindowHours: number): SystemJob {
  return {
    path: "gc",
    routeName: "gc",
    vendorType: GC_VENDOR,
    resource: "garbage-collection",
    notFound: (id) => `garbage collection ${id} not found`,
    parameters: (body) => ({ ...body.parameters, time_window: timeWindowHours }),
    checkSchedule(body) {
      if (body.schedule.type === "Custom" && !body.schedule.cron) {
        throw new HarborError("BAD_REQUEST", "empty cron string for gc schedule");
      }
    },
  };
}

export function addGcRoutes(router: Router, deps: SystemJobRouteDeps & { timeWindowHours: number }): void {
  addSystemJobRoutes(router, gcSystemJob(deps.timeWindowHours), deps);
}
