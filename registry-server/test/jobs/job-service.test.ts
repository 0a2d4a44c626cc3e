// The job system over a real store: an execution runs once, reports, logs, fails, retries, stops
// and comes back after its worker died; a schedule fires once per time however many workers poll.
// "Replicas" are several JobService instances, each with its own store, sharing one PostgreSQL
// database, as replicas of an installation do.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RetryableJobError, JobService, type JobHandler } from "../../src/jobs/job-service.ts";
import { createLogger } from "../../src/logger.ts";
import type { ExecutionRecord } from "../../src/metadata/job-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openPostgresStore } from "../../src/metadata/postgres/store.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";
import { tempDir } from "../helpers.ts";
import { createTestDatabase, withClient, type TestDatabase } from "../metadata/postgres-database.ts";

const log = createLogger("error");
const FAST = { pollIntervalMs: 50, leaseMs: 300, concurrency: 2, retryBaseMs: 400 };

/** Polls until the execution has ended (or `done` says so), for at most `ms`. */
async function until(store: MetadataStore, id: number, done?: (e: ExecutionRecord) => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const execution = await store.jobs.getExecution(id);
    if (execution && (done ? done(execution) : ["Success", "Error", "Stopped"].includes(execution.status))) {
      return execution;
    }
    if (Date.now() > deadline) throw new Error(`execution ${id} still ${execution?.status} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("job service on SQLite", () => {
  const data = tempDir("jobs");
  let store: MetadataStore;
  const services: JobService[] = [];
  const service = (handlers: JobHandler[]): JobService => {
    const made = new JobService({ store, log, options: FAST });
    for (const handler of handlers) made.register(handler);
    made.start();
    services.push(made);
    return made;
  };

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

  it("runs a queued execution, keeping what it reports, returns and logs", async () => {
    const jobs = service([
      {
        vendorType: "REPORTER",
        async run(context) {
          context.log(`[INFO] working on ${String(context.execution.parameters["what"])}`);
          context.report({ progress: 50 });
          return { done: 2 };
        },
      },
    ]);
    const queued = await jobs.enqueue("REPORTER", { what: "both" });
    const ended = await until(store, queued.id);
    expect(ended).toMatchObject({ status: "Success", attempts: 1, extraAttrs: { progress: 50, done: 2 } });
    expect(ended.owner).toBeUndefined();
    const lines = (await store.jobs.log(queued.id)).split("\n");
    expect(lines.some((line) => /\[INFO\] working on both$/.test(line))).toBe(true);
    expect(lines.at(-1)).toMatch(/^\d{4}-\d{2}-\d{2}T.*Z \[INFO\] done$/);
  });

  it("ends a failing execution as Error with its reason, and retries a retryable one after a pause", async () => {
    let calls = 0;
    const jobs = service([
      {
        vendorType: "BROKEN",
        async run() {
          throw new Error("the disk is on fire");
        },
      },
      {
        vendorType: "FLAKY",
        async run() {
          calls += 1;
          if (calls === 1) throw new RetryableJobError("the database is restarting");
          return { calls };
        },
      },
    ]);
    const broken = await until(store, (await jobs.enqueue("BROKEN", {})).id);
    expect(broken).toMatchObject({ status: "Error", statusMessage: "the disk is on fire" });
    expect(await store.jobs.log(broken.id)).toMatch(/\[ERROR\] the disk is on fire/);

    const flaky = await jobs.enqueue("FLAKY", {});
    const requeued = await until(store, flaky.id, (e) => e.status === "Pending" && e.attempts === 1);
    expect(requeued.statusMessage).toBe("the database is restarting");
    expect(requeued.notBefore?.getTime()).toBeGreaterThan(requeued.updatedAt.getTime() + 300);
    const ended = await until(store, flaky.id);
    expect(ended).toMatchObject({ status: "Success", attempts: 2, extraAttrs: { calls: 2 } });
    expect(ended.updatedAt.getTime()).toBeGreaterThanOrEqual(requeued.notBefore?.getTime() ?? Infinity);
    expect(await store.jobs.log(flaky.id)).toMatch(/\[WARNING\] the database is restarting: retrying in 0\.4 s/);
  });

  it("lets an execution wait its turn as long as it must, without using up its attempts", async () => {
    let calls = 0;
    const jobs = new JobService({ store, log, options: { ...FAST, retryBaseMs: 20 } });
    services.push(jobs);
    jobs
      .register({
        vendorType: "PATIENT",
        async run() {
          calls += 1;
          if (calls <= 5) throw new RetryableJobError("execution 1 runs first", { countsAsAttempt: false });
          return { calls };
        },
      })
      .start();
    const ended = await until(store, (await jobs.enqueue("PATIENT", {})).id);
    expect(ended).toMatchObject({ status: "Success", attempts: 6, extraAttrs: { calls: 6, waited_turns: 5 } });
    // The fifth wait is capped at two base pauses (40 ms), where a failure would wait 16 (0.3 s).
    expect(await store.jobs.log(ended.id)).toMatch(/\[INFO\] execution 1 runs first: waiting 0\.0 s/);
  });

  it("stops a running execution when asked, and a queued one at once", async () => {
    let started = false;
    const jobs = service([
      {
        vendorType: "LONG",
        run: (context) =>
          new Promise((_, reject) => {
            started = true;
            context.signal.addEventListener("abort", () => reject(context.signal.reason as Error));
          }),
      },
    ]);
    const running = await jobs.enqueue("LONG", {});
    await until(store, running.id, (e) => e.status === "Running");
    expect(started).toBe(true);
    await jobs.requestStop(running.id);
    expect(await until(store, running.id)).toMatchObject({ status: "Stopped" });
    // Queued behind nothing, but stopped before any worker claims it.
    const queued = await store.jobs.createExecution(
      { vendorType: "NOBODY_RUNS_THIS", trigger: "MANUAL", parameters: {} },
      new Date(),
    );
    expect(await jobs.requestStop(queued.id)).toMatchObject({ status: "Stopped" });
  });

  it("gives an execution back to the queue on shutdown, for another process to finish", async () => {
    const first = new JobService({ store, log, options: FAST }).register({
      vendorType: "INTERRUPTED",
      run: (context) =>
        new Promise((_, reject) => context.signal.addEventListener("abort", () => reject(new Error("aborted")))),
    });
    first.start();
    const queued = await first.enqueue("INTERRUPTED", {});
    await until(store, queued.id, (e) => e.status === "Running");
    await first.stop();
    expect(await store.jobs.getExecution(queued.id)).toMatchObject({ status: "Pending", attempts: 1 });
    service([{ vendorType: "INTERRUPTED", run: async () => ({ finished: true }) }]);
    expect(await until(store, queued.id)).toMatchObject({
      status: "Success",
      attempts: 2,
      extraAttrs: { finished: true },
    });
  });

  it("runs again an execution whose worker died (its lease lapsed), and gives up after three tries", async () => {
    const orphan = await store.jobs.createExecution(
      { vendorType: "ORPHAN", trigger: "MANUAL", parameters: {} },
      new Date(),
    );
    // A worker that claimed it and vanished: a lease that lapses at once.
    await store.jobs.claim(["ORPHAN"], "dead-worker", new Date(), new Date(Date.now() + 50));
    service([{ vendorType: "ORPHAN", run: async () => ({ rescued: true }) }]);
    expect(await until(store, orphan.id)).toMatchObject({
      status: "Success",
      attempts: 2,
      extraAttrs: { rescued: true },
    });

    const cursed = await store.jobs.createExecution(
      { vendorType: "CURSED", trigger: "MANUAL", parameters: {} },
      new Date(),
    );
    // Three workers claimed it in turn and died; their leases have all lapsed.
    for (let i = 3; i > 0; i--) {
      const then = new Date(Date.now() - i * 10_000);
      await store.jobs.claim(["CURSED"], `dead-${i}`, then, then);
    }
    let ran = false;
    service([{ vendorType: "CURSED", run: async () => void (ran = true) }]);
    const ended = await until(store, cursed.id);
    expect(ended).toMatchObject({ status: "Error", attempts: 4 });
    expect(ended.statusMessage).toMatch(/gave up after 3 attempts/);
    expect(ran).toBe(false);
  });

  it("runs tasks with their own status and logs, and a run taken over finds the tasks made before", async () => {
    let crash = true;
    const handler: JobHandler = {
      vendorType: "TASKED",
      async run(context) {
        let tasks = await context.tasks();
        if (tasks.length === 0) tasks = await context.addTasks([{ name: "one" }, { name: "two" }, { name: "three" }]);
        for (const task of tasks) {
          if (task.status === "Success") continue;
          if (task.name === "three" && crash) {
            crash = false;
            throw new RetryableJobError("the worker went away");
          }
          await context.runTask(task, async (t) => {
            t.log(`[INFO] working on ${t.task.name}`);
            if (t.task.name === "two") throw new Error("two cannot be done");
            return { done: t.task.name };
          });
        }
        return { tasks: tasks.length };
      },
    };
    const jobs = service([handler]);
    const queued = await jobs.enqueue("TASKED", {});
    const ended = await until(store, queued.id);
    expect(ended).toMatchObject({ status: "Success", attempts: 2 });
    const tasks = (await store.jobs.listTasks(queued.id, { offset: 0, limit: 10 })).items;
    expect(tasks.map((t) => [t.name, t.status])).toEqual([
      ["one", "Success"],
      ["two", "Error"],
      ["three", "Success"],
    ]);
    // Made once, though the execution ran twice; "one" ran once.
    expect(tasks[0]?.extraAttrs).toEqual({ done: "one" });
    expect(await store.jobs.log(queued.id, tasks[0]?.id)).toMatch(/\[INFO\] working on one$/);
    expect((await store.jobs.log(queued.id, tasks[0]?.id)).split("\n")).toHaveLength(1);
    expect(tasks[1]?.statusMessage).toBe("two cannot be done");
    expect(await store.jobs.log(queued.id, tasks[1]?.id)).toMatch(/\[ERROR\] two cannot be done$/);
  });

  it("refuses a schedule that is not Harbor's cron, naming the reason", async () => {
    const jobs = service([]);
    await expect(
      jobs.setSchedule({ vendorType: "X", cronType: "Custom", cron: "0 0 * * 0", parameters: {} }),
    ).rejects.toThrow(/five fields/);
    await expect(jobs.setSchedule({ vendorType: "X", cronType: "Custom", parameters: {} })).rejects.toThrow(
      /needs a cron/,
    );
    const daily = await jobs.setSchedule({ vendorType: "X", cronType: "Daily", parameters: { a: 1 } });
    expect(daily.cron).toBe("0 0 0 * * *");
    expect(daily.nextRunAt.getUTCHours()).toBe(0);
  });
});

describe("job service across replicas sharing PostgreSQL", () => {
  let database: TestDatabase;
  let url: string;
  const stores: MetadataStore[] = [];
  const services: JobService[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    url = (await database.freshSchema()).url;
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function replica(handler: JobHandler, now?: () => number): Promise<{ store: MetadataStore; jobs: JobService }> {
    const store = await openPostgresStore({ url, maxConnections: 4 });
    stores.push(store);
    // A lease as long as a loaded machine needs: with FAST's 300 ms, a replica whose event loop
    // stalls for longer (a CI machine running everything at once) loses its claim mid-run, and
    // another replica rightly runs the execution again. Takeovers are tested above.
    const options = { ...FAST, leaseMs: 10_000, concurrency: 3 };
    const jobs = new JobService({ store, log, options, ...(now && { now }) }).register(handler);
    services.push(jobs);
    return { store, jobs };
  }

  it("runs each of many executions exactly once between three replicas", async () => {
    const runs = new Map<number, string[]>();
    const counting = (name: string): JobHandler => ({
      vendorType: "ONCE",
      async run(context) {
        const seen = runs.get(context.execution.id) ?? [];
        seen.push(name);
        runs.set(context.execution.id, seen);
        await new Promise((resolve) => setTimeout(resolve, 20));
      },
    });
    const replicas = [await replica(counting("a")), await replica(counting("b")), await replica(counting("c"))];
    const first = replicas[0] as { store: MetadataStore; jobs: JobService };
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) ids.push((await first.jobs.enqueue("ONCE", { i })).id);
    for (const { jobs } of replicas) jobs.start();
    for (const id of ids) expect((await until(first.store, id, undefined, 20_000)).status).toBe("Success");
    expect([...runs.keys()].sort((x, y) => x - y)).toEqual(ids);
    for (const workers of runs.values()) expect(workers).toHaveLength(1);
    // They shared the work.
    expect(new Set([...runs.values()].flat()).size).toBeGreaterThan(1);
  });

  it("fires a schedule once per time however many replicas poll at that time", async () => {
    let clock = Date.parse("2030-01-01T00:00:00Z");
    const now = (): number => clock;
    const handler: JobHandler = { vendorType: "TICK", run: async () => undefined };
    const replicas = [await replica(handler, now), await replica(handler, now), await replica(handler, now)];
    const first = replicas[0] as { store: MetadataStore; jobs: JobService };
    await first.jobs.setSchedule({
      vendorType: "TICK",
      cronType: "Custom",
      cron: "*/10 * * * * *",
      parameters: { n: 1 },
    });
    const executions = async (): Promise<ExecutionRecord[]> =>
      (await first.store.jobs.listExecutions({ vendorType: "TICK" }, { offset: 0, limit: 100 })).items;
    for (let tick = 1; tick <= 3; tick++) {
      clock += 10_000;
      // Every replica polls at the same moment.
      for (const { jobs } of replicas) jobs.wake();
      const deadline = Date.now() + 5_000;
      while ((await executions()).length < tick && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await executions()).toHaveLength(tick);
    }
    const fired = await executions();
    expect(fired.every((e) => e.trigger === "SCHEDULE" && e.parameters["n"] === 1)).toBe(true);
  });

  it("fires a schedule whose next run was written with microseconds (by SQL rather than by a replica)", async () => {
    const handler: JobHandler = { vendorType: "SQL_WRITTEN", run: async () => undefined };
    const { store, jobs } = await replica(handler);
    const schedule = await jobs.setSchedule({ vendorType: "SQL_WRITTEN", cronType: "Hourly", parameters: {} });
    await withClient(url, (client) =>
      client.query("UPDATE job_schedules SET next_run_at = now() - interval '1.000123 seconds' WHERE id = $1", [
        schedule.id,
      ]),
    );
    jobs.start();
    const deadline = Date.now() + 5_000;
    let fired = 0;
    while (fired === 0 && Date.now() < deadline) {
      fired = (await store.jobs.listExecutions({ vendorType: "SQL_WRITTEN" }, { offset: 0, limit: 10 })).total;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(fired).toBe(1);
    expect((await store.jobs.getSchedule("SQL_WRITTEN"))?.nextRunAt.getTime()).toBeGreaterThan(Date.now());
  });
});
