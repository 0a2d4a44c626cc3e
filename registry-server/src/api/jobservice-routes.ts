// Harbor's job service monitor: /api/v2.0/jobservice/pools (the processes running jobs, across
// every replica), /pools/{pool_id}/workers ("all" for every pool), /queues (each kind of job with
// its backlog) and PUT /queues/{job_type} (pause, resume, or stop what waits; "all" for every
// queue), PUT /jobs/{job_id} (stop a running job; "all" for every one) and /jobs/{job_id}/log. A
// job id is an execution's id. The system administrator's, or a system robot's holding
// `jobservice-monitor` list (views) or stop (levers).

import { z } from "zod";
import { HarborError } from "../http/errors.ts";
import { sendJson, sendText } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { JobMonitor } from "../jobs/job-monitor.ts";
import type { ApiAccess } from "./api-access.ts";
import { ok, pathSegment, readJson, time } from "./harbor-http.ts";

const POOLS = /^\/api\/v2\.0\/jobservice\/pools\/?$/;
const WORKERS = /^\/api\/v2\.0\/jobservice\/pools\/(?<pool>[^/]+)\/workers\/?$/;
const QUEUES = /^\/api\/v2\.0\/jobservice\/queues\/?$/;
const QUEUE = /^\/api\/v2\.0\/jobservice\/queues\/(?<type>[^/]+)\/?$/;
const JOB = /^\/api\/v2\.0\/jobservice\/jobs\/(?<id>[^/]+)\/?$/;
const JOB_LOG = /^\/api\/v2\.0\/jobservice\/jobs\/(?<id>[^/]+)\/log\/?$/;

const RESOURCE = "jobservice-monitor";

// Harbor compares the action case-insensitively and answers anything else with a 400.
const actionSchema = z.object({ action: z.string().max(16).nullish() });

export interface JobServiceRouteDeps {
  store: MetadataStore;
  monitor: JobMonitor;
  access: ApiAccess;
}

export function addJobServiceRoutes(router: Router, deps: JobServiceRouteDeps): void {
  const { store, monitor, access } = deps;

  router.add("jobservice_pools", "GET", POOLS, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "list");
    const pools = await monitor.pools();
    sendJson(
      ctx.res,
      200,
      pools.map((pool) => ({
        pid: pool.pid,
        worker_pool_id: pool.id,
        start_at: time(pool.startedAt),
        heartbeat_at: time(pool.heartbeatAt),
        concurrency: pool.concurrency,
        host: pool.host,
      })),
    );
  });

  router.add("jobservice_workers", "GET", WORKERS, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "list");
    const pool = pathSegment(ctx.params["pool"]);
    const workers = await monitor.workers(pool);
    if (!workers) throw new HarborError("NOT_FOUND", `worker pool ${pool} not found`);
    sendJson(
      ctx.res,
      200,
      workers.map(({ id, poolId, execution }) =>
        execution
          ? {
              id,
              pool_id: poolId,
              job_name: execution.vendorType,
              job_id: String(execution.id),
              ...(execution.startedAt && { start_at: time(execution.startedAt) }),
              // What the job last reported, as Harbor's check-in message.
              check_in: Object.keys(execution.extraAttrs).length > 0 ? JSON.stringify(execution.extraAttrs) : "",
              checkin_at: time(execution.updatedAt),
            }
          : { id, pool_id: poolId },
      ),
    );
  });

  router.add("jobservice_queues", "GET", QUEUES, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "list");
    const queues = await monitor.queues();
    sendJson(
      ctx.res,
      200,
      queues.map((queue) => ({
        job_type: queue.jobType,
        count: queue.count,
        latency: queue.latencySeconds,
        paused: queue.paused,
      })),
    );
  });

  router.add("jobservice_queue_action", "PUT", QUEUE, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "stop");
    const action = ((await readJson(ctx.req, actionSchema)).action ?? "").toLowerCase();
    if (action !== "stop" && action !== "pause" && action !== "resume") {
      throw new HarborError("BAD_REQUEST", "the action is not supported");
    }
    const type = pathSegment(ctx.params["type"]);
    if (!(await monitor.act(type, action))) throw new HarborError("NOT_FOUND", `job queue ${type} not found`);
    ok(ctx.res);
  });

  router.add("jobservice_job_stop", "PUT", JOB, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "stop");
    await monitor.stopRunning(pathSegment(ctx.params["id"]));
    ok(ctx.res);
  });

  router.add("jobservice_job_log", "GET", JOB_LOG, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "list");
    const id = ctx.params["id"] ?? "";
    const execution = /^\d{1,15}$/.test(id) ? await store.jobs.getExecution(Number(id)) : undefined;
    if (!execution) throw new HarborError("NOT_FOUND", `job ${id} not found`);
    sendText(ctx.res, 200, await store.jobs.log(execution.id));
  });
}
