// Harbor's scan-all API: /api/v2.0/system/scanAll/schedule (a system job: system-job-routes.ts;
// "Manual" runs it now), POST /system/scanAll/stop, and the progress of the latest run,
// /scans/all/metrics, and of the latest scheduled one, /scans/schedule/metrics: Harbor's Stats
// (`total`, `completed`, `metrics` by task status, `ongoing`, `trigger`), counted from the run's
// tasks. The system administrator's, or a system robot's holding `scan-all`.

import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import type { ExecutionRecord } from "../metadata/job-store.ts";
import { SCAN_ALL_VENDOR } from "../scan/scan-service.ts";
import { addSystemJobRoutes, type SystemJobRouteDeps } from "./system-job-routes.ts";

/** Tasks counted for one run's metrics (one per artifact scanned). */
const MAX_TASKS = 1_000_000;
/** Executions looked through for the latest scheduled one. */
const MAX_EXECUTIONS = 100;

const STATUSES = ["Pending", "Running", "Success", "Error", "Stopped"] as const;
const ENDED: readonly string[] = ["Success", "Error", "Stopped"];

export function addScanAllRoutes(router: Router, deps: SystemJobRouteDeps): void {
  const { store, jobs, access } = deps;
  addSystemJobRoutes(
    router,
    {
      path: "scanAll",
      routeName: "scan_all",
      vendorType: SCAN_ALL_VENDOR,
      resource: "scan-all",
      notFound: (id) => `scan all ${id} not found`,
      parameters: () => ({}),
      checkSchedule(body) {
        if (body.schedule.type === "Custom" && !body.schedule.cron) {
          throw new HarborError("BAD_REQUEST", "empty cron string for scan all schedule");
        }
      },
      // Harbor's scan_all.go: PUT does not run, POST does not run twice at once nor replace a
      // schedule, and nothing is done without a default scanner.
      async guard(method, body) {
        await requireScanner();
        const type = body?.schedule.type;
        if (method === "PUT" && type === "Manual") {
          throw new HarborError("BAD_REQUEST", "fail to update scan all schedule as wrong schedule type: Manual");
        }
        if (method !== "POST" || type === undefined || type === "None") return;
        if (type === "Manual") {
          const running = await latest("MANUAL");
          if (running && !ENDED.includes(running.status)) {
            // Harbor's message, spelling included.
            throw new HarborError("CONFLICT", `a previous scan all job aleady exits, its status is ${running.status}`);
          }
        } else if (await store.jobs.getSchedule(SCAN_ALL_VENDOR)) {
          throw new HarborError(
            "PRECONDITION",
            "fail to set schedule for scan all as always had one, please delete it firstly then to re-schedule",
          );
        }
      },
    },
    deps,
  );

  /** Harbor's requireScanEnabled: scan all needs a default scanner. */
  async function requireScanner(): Promise<void> {
    if (!(await store.scanners.getDefault())) {
      throw new HarborError("PRECONDITION", "no scanner is configured, it's not possible to scan");
    }
  }

  async function latest(trigger?: string): Promise<ExecutionRecord | undefined> {
    const listing = await store.jobs.listExecutions(
      { vendorType: SCAN_ALL_VENDOR },
      { offset: 0, limit: trigger ? MAX_EXECUTIONS : 1 },
    );
    return listing.items.find((execution) => trigger === undefined || execution.trigger === trigger);
  }

  async function stats(execution: ExecutionRecord | undefined): Promise<Record<string, unknown>> {
    if (!execution) return {};
    const tasks = await store.jobs.listTasks(execution.id, { offset: 0, limit: MAX_TASKS });
    const metrics: Record<string, number> = Object.fromEntries(STATUSES.map((status) => [status, 0]));
    for (const task of tasks.items) metrics[task.status] = (metrics[task.status] ?? 0) + 1;
    const total = tasks.items.length;
    const completed = (metrics["Success"] ?? 0) + (metrics["Error"] ?? 0) + (metrics["Stopped"] ?? 0);
    const ended = ENDED.includes(execution.status);
    const trigger = execution.trigger.charAt(0) + execution.trigger.slice(1).toLowerCase();
    return { total, completed, metrics, ongoing: !ended || total !== completed, trigger };
  }

  router.add("scan_all_stop", "POST", /^\/api\/v2\.0\/system\/scanAll\/stop\/?$/, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "scan-all", "stop");
    await requireScanner();
    const execution = await latest();
    if (!execution) throw new HarborError("BAD_REQUEST", "no scan all job is found currently");
    await jobs.requestStop(execution.id);
    ctx.res.statusCode = 202;
    ctx.res.setHeader("Content-Length", "0");
    ctx.res.end();
  });

  router.add("scan_all_metrics", "GET", /^\/api\/v2\.0\/scans\/all\/metrics\/?$/, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "scan-all", "read");
    await requireScanner();
    sendJson(ctx.res, 200, await stats(await latest()));
  });

  router.add("scan_schedule_metrics", "GET", /^\/api\/v2\.0\/scans\/schedule\/metrics\/?$/, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "scan-all", "read");
    await requireScanner();
    sendJson(ctx.res, 200, await stats(await latest("SCHEDULE")));
  });
}
