// Contract tests of Harbor's job service monitor (/jobservice: swagger `WorkerPool`, `Worker`,
// `JobQueue`, `ActionRequest`; Harbor's jobservice handler) and schedule views (/schedules:
// `ScheduleTask`, `SchedulerStatus`), on the registry's one job system: its pool and workers, a
// paused queue holding a purge back, stopping what waits, the scheduler's pause, permissions.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { expectError, HarborClient, RFC3339, type Credentials } from "./harbor-client.ts";

const USER: Credentials = { username: "jobs-user", password: "Jobsuser1password" };
const PURGE = "PURGE_AUDIT_LOG";

interface Queue {
  job_type: string;
  count: number;
  latency: number;
  paused: boolean;
}

interface ExecHistory {
  id: number;
  job_status: string;
}

describe("job service monitor and schedules", () => {
  let registry: TestRegistry;
  let api: HarborClient;

  const queues = async (): Promise<Queue[]> => (await api.get("/jobservice/queues")).json as Queue[];
  const queue = async (type: string): Promise<Queue | undefined> => (await queues()).find((q) => q.job_type === type);
  const act = (type: string, action: string, auth?: Credentials) =>
    api.call("PUT", `/jobservice/queues/${type}`, { body: { action }, ...(auth && { auth }) });
  const purgeNow = async (): Promise<number> => {
    const reply = await api.call("POST", "/system/purgeaudit/schedule", {
      body: { schedule: { type: "Manual" }, parameters: { audit_retention_hour: 1, include_operations: "pull" } },
    });
    expect(reply.status, reply.text).toBe(201);
    return Number(reply.headers.get("location")?.split("/").pop());
  };
  const status = async (id: number): Promise<string> =>
    ((await api.get(`/system/purgeaudit/${id}`)).json as ExecHistory).job_status;

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    await api.createUser(USER.username, USER.password);
  });
  afterAll(() => registry?.stop());

  it("lists this process as a worker pool, and its idle workers", async () => {
    const pools = (await api.get("/jobservice/pools")).json as Array<Record<string, unknown>>;
    expect(pools).toEqual([
      {
        pid: process.pid,
        worker_pool_id: expect.stringContaining(`:${process.pid}:`) as string,
        start_at: expect.stringMatching(RFC3339) as string,
        heartbeat_at: expect.stringMatching(RFC3339) as string,
        concurrency: 4,
        host: expect.any(String) as string,
      },
    ]);
    const poolId = String(pools[0]?.["worker_pool_id"]);
    const workers = (await api.get(`/jobservice/pools/${encodeURIComponent(poolId)}/workers`)).json;
    expect(workers).toEqual([0, 1, 2, 3].map((n) => ({ id: `${poolId}/${n}`, pool_id: poolId })));
    expect((await api.get("/jobservice/pools/all/workers")).json).toEqual(workers);
    expectError(await api.get("/jobservice/pools/no-such-pool/workers"), 404, "NOT_FOUND");
  });

  it("lists a queue per kind of job, the scheduler's among them", async () => {
    const types = (await queues()).map((q) => q.job_type);
    expect(types).toEqual(expect.arrayContaining([PURGE, "SCHEDULER", "UPLOAD_EXPIRY"]));
    expect(await queue(PURGE)).toEqual({ job_type: PURGE, count: 0, latency: 0, paused: false });
  });

  it("holds a paused queue's jobs back until it is resumed", async () => {
    expect((await act(PURGE.toLowerCase(), "Pause")).status).toBe(200);
    const id = await purgeNow();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await status(id)).toBe("Pending");
    expect(await queue(PURGE)).toMatchObject({ count: 1, paused: true });

    expect((await act(PURGE, "resume")).status).toBe(200);
    for (let i = 0; i < 100 && (await status(id)) !== "Success"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await status(id)).toBe("Success");
    expect(await queue(PURGE)).toEqual({ job_type: PURGE, count: 0, latency: 0, paused: false });
    // The job's log, by its id, as text.
    const log = await api.get(`/jobservice/jobs/${id}/log`);
    expect(log.status).toBe(200);
    expect(log.text).toContain(`${PURGE} execution ${id} started`);
  });

  it("stops what waits in a queue", async () => {
    await act(PURGE, "pause");
    const id = await purgeNow();
    expect((await act(PURGE, "stop")).status).toBe(200);
    expect(await status(id)).toBe("Stopped");
    await act("all", "resume");
    expect((await queues()).every((q) => !q.paused)).toBe(true);
  });

  it("pauses the schedules through the scheduler's queue", async () => {
    expect((await api.get("/schedules/all/paused", USER)).json).toEqual({ paused: false });
    await act("SCHEDULER", "pause");
    expect((await api.get("/schedules/ALL/paused", USER)).json).toEqual({ paused: true });
    await act("SCHEDULER", "resume");
    expect((await api.get("/schedules/all/paused")).json).toEqual({ paused: false });
    expectError(await api.get(`/schedules/${PURGE}/paused`), 400, "BAD_REQUEST", /only be 'all'/);
    expectError(await api.get("/schedules/all/paused", null), 401, "UNAUTHORIZED");
  });

  it("lists every schedule of the job system", async () => {
    const set = await api.call("PUT", "/system/purgeaudit/schedule", {
      body: {
        schedule: { type: "Custom", cron: "0 0 3 * * *" },
        parameters: { audit_retention_hour: 24, include_operations: "pull" },
      },
    });
    expect(set.status, set.text).toBe(200);
    const reply = await api.get("/schedules?page_size=0");
    expect(reply.status).toBe(200);
    const schedules = reply.json as Array<Record<string, unknown>>;
    expect(Number(reply.headers.get("x-total-count"))).toBe(schedules.length);
    expect(schedules.find((s) => s["vendor_type"] === PURGE)).toEqual({
      id: expect.any(Number) as number,
      vendor_type: PURGE,
      vendor_id: -1,
      cron: "0 0 3 * * *",
      update_time: expect.stringMatching(RFC3339) as string,
    });
    expect(schedules.map((s) => s["vendor_type"])).toContain("UPLOAD_EXPIRY");
    const page = await api.get("/schedules?page=1&page_size=1");
    expect(page.json).toHaveLength(1);
    expect(page.headers.get("link")).toContain('rel="next"');
  });

  it("refuses an unknown action or queue, and takes stop for a job that already ended", async () => {
    expectError(await act(PURGE, "drain"), 400, "BAD_REQUEST", /not supported/);
    expectError(await act("NO_SUCH_JOB", "pause"), 404, "NOT_FOUND");
    expect((await api.call("PUT", "/jobservice/jobs/all")).status).toBe(200);
    expect((await api.call("PUT", "/jobservice/jobs/123456")).status).toBe(200);
    expectError(await api.get("/jobservice/jobs/123456/log"), 404, "NOT_FOUND");
  });

  it("is the administrator's or a system robot's with jobservice-monitor", async () => {
    expectError(await api.get("/jobservice/pools", USER), 403, "FORBIDDEN");
    expectError(await api.get("/schedules", USER), 403, "FORBIDDEN");
    expectError(await api.get("/jobservice/queues", null), 401, "UNAUTHORIZED");
    const robot = await api.createRobot({
      name: "monitor",
      level: "system",
      duration: -1,
      permissions: [{ kind: "system", namespace: "/", access: [{ resource: "jobservice-monitor", action: "list" }] }],
    });
    const auth = { username: robot.name, password: robot.secret };
    expect((await api.get("/jobservice/queues", auth)).status).toBe(200);
    expect((await api.get("/schedules", auth)).status).toBe(200);
    expectError(await act(PURGE, "pause", auth), 403, "FORBIDDEN");
  });
});
