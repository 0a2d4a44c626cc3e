// The job service monitor over a real store with two job services sharing it (two processes of
// one installation): both pools listed, a running execution shown on its own pool's worker and
// stopped from the other, a paused queue that neither claims from, the scheduler's pause holding
// a due schedule back until resumed, and its stop skipping the run.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { JobMonitor } from "../../src/jobs/job-monitor.ts";
import { JobService, type JobHandler } from "../../src/jobs/job-service.ts";
import { createLogger } from "../../src/logger.ts";
import type { ExecutionRecord } from "../../src/metadata/job-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";
import { tempDir } from "../helpers.ts";

const log = createLogger("error");
const FAST = { pollIntervalMs: 50, leaseMs: 300, concurrency: 2, retryBaseMs: 400 };

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A job that runs until it is stopped. */
const waiter: JobHandler = {
  vendorType: "WAITER",
  run: (context) =>
    new Promise((resolve) => {
      context.report({ waiting: true });
      context.signal.addEventListener("abort", () => resolve(), { once: true });
    }),
};

describe("job service monitor", () => {
  const data = tempDir("job-monitor");
  let store: MetadataStore;
  const services: JobService[] = [];
  const service = (handlers: JobHandler[]): JobService => {
    const made = new JobService({ store, log, options: FAST });
    for (const handler of handlers) made.register(handler);
    made.start();
    services.push(made);
    return made;
  };
  const execution = (id: number, done: (e: ExecutionRecord) => boolean) =>
    until(`execution ${id}`, async () => {
      const found = await store.jobs.getExecution(id);
      return found && done(found) ? found : undefined;
    });

  beforeAll(async () => {
    store = await openSqliteStore(`${data.dir}/jobs.db`);
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await store.close();
    data.remove();
  });

  it("shows each process's pool and which worker runs what, and stops it from anywhere", async () => {
    const first = service([waiter]);
    const second = service([waiter]);
    const monitor = new JobMonitor({ store, jobs: second });
    const pools = await until("two pools", async () => {
      const listed = await monitor.pools();
      return listed.length === 2 ? listed : undefined;
    });
    expect(pools.map((p) => p.id).sort()).toEqual([first.workerId, second.workerId].sort());
    expect(pools.every((p) => p.pid === process.pid && p.concurrency === 2)).toBe(true);

    const queued = await first.enqueue("WAITER", {});
    const running = await execution(queued.id, (e) => e.status === "Running");
    const workers = (await monitor.workers("all")) ?? [];
    expect(workers).toHaveLength(4);
    const busy = workers.filter((w) => w.execution);
    expect(busy).toHaveLength(1);
    expect(busy[0]?.poolId).toBe(running.owner);
    expect(busy[0]?.execution?.id).toBe(queued.id);
    expect(await monitor.workers("no-such-pool")).toBeUndefined();

    await monitor.stopRunning("all");
    expect((await execution(queued.id, (e) => e.status !== "Running")).status).toBe("Stopped");

    // A pool that shuts down leaves the list.
    await first.stop();
    expect((await monitor.pools()).map((p) => p.id)).toEqual([second.workerId]);
  });

  it("claims nothing from a paused queue on any process until it is resumed", async () => {
    const ran: number[] = [];
    const counter: JobHandler = {
      vendorType: "COUNTER",
      run: (context) => {
        ran.push(context.execution.id);
        return Promise.resolve();
      },
    };
    const first = service([counter]);
    service([counter]);
    const monitor = new JobMonitor({ store, jobs: first });
    expect(await monitor.act("counter", "pause")).toBe(true);
    const queued = await first.enqueue("COUNTER", {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ran).toEqual([]);
    expect((await monitor.queues()).find((q) => q.jobType === "COUNTER")).toMatchObject({ count: 1, paused: true });
    expect(await monitor.act("COUNTER", "resume")).toBe(true);
    expect((await execution(queued.id, (e) => e.status === "Success")).id).toBe(queued.id);
    expect(ran).toEqual([queued.id]);
    expect(await monitor.act("NOTHING", "pause")).toBe(false);
  });

  it("holds due schedules back while the scheduler is paused; a stop skips them", async () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const ran: string[] = [];
    const jobs = new JobService({ store, log, options: FAST, now: () => now }).register({
      vendorType: "TICK",
      run: (context) => {
        ran.push(context.execution.trigger);
        return Promise.resolve();
      },
    });
    services.push(jobs);
    const monitor = new JobMonitor({ store, jobs, now: () => now });
    await jobs.setSchedule({ vendorType: "TICK", cronType: "Hourly", parameters: {} });
    await monitor.act("SCHEDULER", "pause");
    expect(await monitor.schedulerPaused()).toBe(true);
    jobs.start();
    now += 3_600_000 + 30_000;
    jobs.wake();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ran).toEqual([]);
    expect((await monitor.queues()).find((q) => q.jobType === "SCHEDULER")).toEqual({
      jobType: "SCHEDULER",
      count: 1,
      latencySeconds: 30,
      paused: true,
    });

    // Stopping the scheduler's queue drops the held-back run: resuming fires nothing.
    await monitor.act("SCHEDULER", "stop");
    await monitor.act("SCHEDULER", "resume");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ran).toEqual([]);

    // The next hour's run fires as usual.
    now += 3_600_000;
    jobs.wake();
    await until("the next run", () => Promise.resolve(ran.length > 0 ? ran : undefined));
    expect(ran).toEqual(["SCHEDULE"]);
    await store.jobs.deleteSchedule("TICK");
  });
});
