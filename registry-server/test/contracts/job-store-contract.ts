// The behaviour every metadata store backend must have in its jobs area (executions, their logs,
// schedules), as one vitest suite each backend's test file calls with a way to open a fresh,
// empty store. Semantics come from src/metadata/job-store.ts: above all, that a claim hands an
// execution to one caller, and that a schedule's next run moves once.

import { describe, expect, it } from "vitest";
import { MAX_LOG_LINES } from "../../src/metadata/job-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openEachTest, type ContractStore } from "./metadata-store-contract.ts";

const T0 = Date.parse("2024-05-06T07:08:09.123Z");
const at = (offsetMs: number): Date => new Date(T0 + offsetMs);

export function jobStoreContract(name: string, setup: () => Promise<ContractStore>): void {
  describe(`job store contract: ${name}`, () => {
    let store!: MetadataStore;
    openEachTest(setup, (opened) => (store = opened));

    const queue = (vendorType = "PURGE", parameters: Record<string, unknown> = { hours: 1 }) =>
      store.jobs.createExecution({ vendorType, trigger: "MANUAL", parameters }, at(0));

    it("queues an execution and reads it back", async () => {
      const made = await queue("PURGE", { audit_retention_hour: 168, dry_run: true });
      expect(made).toEqual({
        id: made.id,
        vendorType: "PURGE",
        vendorId: -1,
        trigger: "MANUAL",
        parameters: { audit_retention_hour: 168, dry_run: true },
        status: "Pending",
        statusMessage: "",
        extraAttrs: {},
        attempts: 0,
        stopRequested: false,
        createdAt: at(0),
        updatedAt: at(0),
      });
      expect(await store.jobs.getExecution(made.id)).toEqual(made);
      expect(await store.jobs.getExecution(made.id + 1000)).toBeUndefined();
    });

    it("lists a kind's executions newest first, by vendor id when asked", async () => {
      const a = await queue("GC");
      const b = await store.jobs.createExecution(
        { vendorType: "RETENTION", vendorId: 7, trigger: "SCHEDULE", parameters: {} },
        at(1),
      );
      const c = await queue("GC");
      await store.jobs.createExecution(
        { vendorType: "RETENTION", vendorId: 8, trigger: "MANUAL", parameters: {} },
        at(2),
      );
      const gc = await store.jobs.listExecutions({ vendorType: "GC" }, { offset: 0, limit: 10 });
      expect(gc.items.map((e) => e.id)).toEqual([c.id, a.id]);
      expect(gc.total).toBe(2);
      const retention = await store.jobs.listExecutions(
        { vendorType: "RETENTION", vendorId: 7 },
        { offset: 0, limit: 10 },
      );
      expect(retention.items.map((e) => e.id)).toEqual([b.id]);
      expect(
        (await store.jobs.listExecutions({ vendorType: "GC" }, { offset: 1, limit: 1 })).items.map((e) => e.id),
      ).toEqual([a.id]);
    });

    it("lists executions by status and trigger, oldest first when asked", async () => {
      const manual = await store.jobs.createExecution(
        { vendorType: "REPLICATION", vendorId: 3, trigger: "MANUAL", parameters: {} },
        at(0),
      );
      const scheduled = await store.jobs.createExecution(
        { vendorType: "REPLICATION", vendorId: 3, trigger: "SCHEDULE", parameters: {} },
        at(1),
      );
      const event = await store.jobs.createExecution(
        { vendorType: "REPLICATION", vendorId: 4, trigger: "EVENT", parameters: {} },
        at(2),
      );
      await store.jobs.requestStop(scheduled.id, at(3));
      const all = { offset: 0, limit: 10 };
      const ids = async (filter: Parameters<MetadataStore["jobs"]["listExecutions"]>[0]) =>
        (await store.jobs.listExecutions(filter, all)).items.map((e) => e.id);
      expect(await ids({ vendorType: "REPLICATION", statuses: ["Pending", "Running"] })).toEqual([event.id, manual.id]);
      expect(await ids({ vendorType: "REPLICATION", statuses: ["Stopped"] })).toEqual([scheduled.id]);
      expect(await ids({ vendorType: "REPLICATION", statuses: [] })).toEqual([]);
      expect(await ids({ vendorType: "REPLICATION", trigger: "EVENT" })).toEqual([event.id]);
      expect(await ids({ vendorType: "REPLICATION", vendorId: 3, trigger: "MANUAL" })).toEqual([manual.id]);
      expect(await ids({ vendorType: "REPLICATION", oldestFirst: true })).toEqual([manual.id, scheduled.id, event.id]);
      const page = await store.jobs.listExecutions(
        { vendorType: "REPLICATION", statuses: ["Pending"], oldestFirst: true },
        { offset: 1, limit: 1 },
      );
      expect(page).toMatchObject({ total: 2, items: [{ id: event.id }] });
    });

    it("hands a queued execution to one claimer, oldest first, of the kinds it runs", async () => {
      const other = await queue("OTHER");
      const first = await queue();
      const second = await queue();
      const claimed = await store.jobs.claim(["PURGE"], "worker-a", at(10), at(30_010));
      expect(claimed).toMatchObject({
        id: first.id,
        status: "Running",
        owner: "worker-a",
        leaseUntil: at(30_010),
        attempts: 1,
        startedAt: at(10),
      });
      const next = await store.jobs.claim(["PURGE"], "worker-b", at(11), at(30_011));
      expect(next?.id).toBe(second.id);
      expect(await store.jobs.claim(["PURGE"], "worker-c", at(12), at(30_012))).toBeUndefined();
      expect((await store.jobs.getExecution(other.id))?.status).toBe("Pending");
      expect(await store.jobs.claim([], "worker-c", at(12), at(30_012))).toBeUndefined();
    });

    it("gives one execution to only one of many concurrent claimers", async () => {
      for (let i = 0; i < 5; i++) await queue();
      const claims = await Promise.all(
        Array.from({ length: 12 }, (_, i) => store.jobs.claim(["PURGE"], `worker-${i}`, at(10), at(60_000))),
      );
      const ids = claims.flatMap((claim) => (claim ? [claim.id] : []));
      expect(ids).toHaveLength(5);
      expect(new Set(ids).size).toBe(5);
    });

    it("lets only the owner renew and finish, and hands a lapsed lease to another worker", async () => {
      const made = await queue();
      await store.jobs.claim(["PURGE"], "worker-a", at(0), at(1_000));
      expect(await store.jobs.renew(made.id, "worker-b", at(5_000), {}, at(500))).toBeUndefined();
      const renewed = await store.jobs.renew(made.id, "worker-a", at(2_000), { done: 3 }, at(500));
      expect(renewed).toMatchObject({ leaseUntil: at(2_000), extraAttrs: { done: 3 }, updatedAt: at(500) });
      // Still held at 1 999 ms; lapsed after 2 000 ms.
      expect(await store.jobs.claim(["PURGE"], "worker-b", at(1_999), at(9_000))).toBeUndefined();
      const taken = await store.jobs.claim(["PURGE"], "worker-b", at(2_001), at(9_000));
      expect(taken).toMatchObject({ id: made.id, owner: "worker-b", attempts: 2, extraAttrs: { done: 3 } });
      expect(
        await store.jobs.finish(made.id, "worker-a", { status: "Success", message: "", extraAttrs: {} }, at(3_000)),
      ).toBe(false);
      expect(
        await store.jobs.finish(
          made.id,
          "worker-b",
          { status: "Error", message: "boom", extraAttrs: { done: 4 } },
          at(3_000),
        ),
      ).toBe(true);
      const ended = await store.jobs.getExecution(made.id);
      expect(ended).toMatchObject({
        status: "Error",
        statusMessage: "boom",
        extraAttrs: { done: 4 },
        endedAt: at(3_000),
      });
      expect(ended?.owner).toBeUndefined();
      expect(await store.jobs.claim(["PURGE"], "worker-c", at(99_000), at(99_999))).toBeUndefined();
    });

    it("requeues for later: not claimed before its time", async () => {
      const made = await queue();
      await store.jobs.claim(["PURGE"], "worker-a", at(0), at(1_000));
      expect(await store.jobs.requeue(made.id, "worker-b", at(5_000), "x", at(10))).toBe(false);
      expect(await store.jobs.requeue(made.id, "worker-a", at(5_000), "database down", at(10))).toBe(true);
      expect(await store.jobs.getExecution(made.id)).toMatchObject({
        status: "Pending",
        statusMessage: "database down",
      });
      expect(await store.jobs.claim(["PURGE"], "worker-b", at(4_999), at(9_000))).toBeUndefined();
      expect((await store.jobs.claim(["PURGE"], "worker-b", at(5_000), at(9_000)))?.attempts).toBe(2);
    });

    it("stops a queued execution at once and marks a running one for its worker", async () => {
      const queued = await queue();
      const stopped = await store.jobs.requestStop(queued.id, at(5));
      expect(stopped).toMatchObject({ status: "Stopped", endedAt: at(5) });
      const running = await queue();
      await store.jobs.claim(["PURGE"], "worker-a", at(6), at(9_000));
      expect(await store.jobs.requestStop(running.id, at(7))).toMatchObject({ status: "Running", stopRequested: true });
      expect((await store.jobs.renew(running.id, "worker-a", at(9_500), {}, at(8)))?.stopRequested).toBe(true);
      expect(await store.jobs.requestStop(running.id + 1000, at(7))).toBeUndefined();
      // An ended execution stays as it ended.
      expect((await store.jobs.requestStop(queued.id, at(9)))?.status).toBe("Stopped");
    });

    it("prunes the ended executions of a kind beyond the newest ones, never a queued or running one", async () => {
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) {
        const made = await store.jobs.createExecution(
          { vendorType: "HEALTH", trigger: "SCHEDULE", parameters: {} },
          at(i),
        );
        ids.push(made.id);
        if (i < 4) {
          await store.jobs.claim(["HEALTH"], "w", at(i), at(i + 1_000));
          await store.jobs.finish(made.id, "w", { status: "Success", message: "", extraAttrs: {} }, at(i));
        }
      }
      await store.jobs.appendLog(ids[0] ?? 0, ["old"], at(0));
      const other = await store.jobs.createExecution(
        { vendorType: "HEALTH", vendorId: 9, trigger: "MANUAL", parameters: {} },
        at(9),
      );
      // The newest two that ended are kept; the queued ones are never pruned.
      expect(await store.jobs.pruneExecutions("HEALTH", undefined, 2)).toBe(2);
      const left = await store.jobs.listExecutions({ vendorType: "HEALTH" }, { offset: 0, limit: 10 });
      expect(left.items.map((e) => e.id)).toEqual([other.id, ids[4], ids[3], ids[2]]);
      expect(await store.jobs.log(ids[0] ?? 0)).toBe("");
      expect(await store.jobs.pruneExecutions("HEALTH", 9, 0)).toBe(0);
    });

    it("keeps an execution's log in order, lines cut and their number bounded", async () => {
      const made = await queue();
      expect(await store.jobs.log(made.id)).toBe("");
      await store.jobs.appendLog(made.id, ["one", "two"], at(1));
      await store.jobs.appendLog(made.id, ["three", "x".repeat(10_000)], at(2));
      const log = (await store.jobs.log(made.id)).split("\n");
      expect(log.slice(0, 3)).toEqual(["one", "two", "three"]);
      expect(log[3]).toHaveLength(4096);
      const noisy = await queue();
      await store.jobs.appendLog(
        noisy.id,
        Array.from({ length: MAX_LOG_LINES + 5 }, (_, i) => `line ${i}`),
        at(1),
      );
      expect((await store.jobs.log(noisy.id)).split("\n")).toHaveLength(MAX_LOG_LINES);
    });

    it("keeps an execution's tasks in order, with their status, times, attributes and own logs", async () => {
      const made = await queue();
      const [first, second] = await store.jobs.createTasks(
        made.id,
        [{ name: "library/nginx", extraAttrs: { retained: 3 } }, { name: "library/redis" }],
        at(1),
      );
      expect(first).toEqual({
        id: first?.id,
        executionId: made.id,
        name: "library/nginx",
        status: "Pending",
        statusMessage: "",
        extraAttrs: { retained: 3 },
        createdAt: at(1),
        updatedAt: at(1),
      });
      const running = await store.jobs.updateTask(first?.id ?? 0, { status: "Running" }, at(2));
      expect(running).toMatchObject({ status: "Running", startedAt: at(2), updatedAt: at(2) });
      expect(running?.endedAt).toBeUndefined();
      const done = await store.jobs.updateTask(
        first?.id ?? 0,
        { status: "Success", extraAttrs: { retained: 3, deleted: 2 } },
        at(5),
      );
      expect(done).toMatchObject({
        status: "Success",
        startedAt: at(2),
        endedAt: at(5),
        extraAttrs: { retained: 3, deleted: 2 },
      });
      const failed = await store.jobs.updateTask(second?.id ?? 0, { status: "Error", statusMessage: "boom" }, at(6));
      expect(failed).toMatchObject({ status: "Error", statusMessage: "boom", endedAt: at(6) });
      expect(await store.jobs.updateTask((second?.id ?? 0) + 1000, { status: "Running" }, at(6))).toBeUndefined();
      const listed = await store.jobs.listTasks(made.id, { offset: 0, limit: 10 });
      expect(listed.total).toBe(2);
      expect(listed.items.map((t) => t.name)).toEqual(["library/nginx", "library/redis"]);
      expect(await store.jobs.getTask(second?.id ?? 0)).toEqual(failed);
      // Logs: the execution's own, and each task's apart.
      await store.jobs.appendLog(made.id, ["execution line"], at(7));
      await store.jobs.appendLog(made.id, ["nginx line 1", "nginx line 2"], at(7), first?.id);
      await store.jobs.appendLog(made.id, ["redis line"], at(7), second?.id);
      expect(await store.jobs.log(made.id)).toBe("execution line");
      expect(await store.jobs.log(made.id, first?.id)).toBe("nginx line 1\nnginx line 2");
      expect(await store.jobs.log(made.id, second?.id)).toBe("redis line");
    });

    it("filters an execution's tasks by status and attribute, and counts them by status", async () => {
      const one = await queue("REPLICATION");
      const two = await queue("REPLICATION");
      const empty = await queue("REPLICATION");
      const [image, chart, failed] = await store.jobs.createTasks(
        one.id,
        [
          { name: "a", extraAttrs: { resource_type: "image", operation: "copy" } },
          { name: "b", extraAttrs: { resource_type: "chart", operation: "copy" } },
          { name: "c", extraAttrs: { resource_type: "image", operation: "deletion" } },
        ],
        at(1),
      );
      await store.jobs.createTasks(two.id, [{ name: "d", extraAttrs: { resource_type: "image" } }], at(1));
      await store.jobs.updateTask(image?.id ?? 0, { status: "Success" }, at(2));
      await store.jobs.updateTask(failed?.id ?? 0, { status: "Error" }, at(2));
      const all = { offset: 0, limit: 10 };
      const names = async (filter: Parameters<MetadataStore["jobs"]["listTasks"]>[2]) =>
        (await store.jobs.listTasks(one.id, all, filter)).items.map((t) => t.name);
      expect(await names({ statuses: ["Success", "Error"] })).toEqual(["a", "c"]);
      expect(await names({ statuses: ["Pending", "Running"] })).toEqual(["b"]);
      expect(await names({ attribute: { key: "resource_type", value: "image" } })).toEqual(["a", "c"]);
      expect(await names({ statuses: ["Error"], attribute: { key: "resource_type", value: "image" } })).toEqual(["c"]);
      expect(await names({ attribute: { key: "resource_type", value: "artifact" } })).toEqual([]);
      expect(
        (await store.jobs.listTasks(one.id, { offset: 1, limit: 1 }, { statuses: ["Success", "Error"] })).total,
      ).toBe(2);
      expect(chart?.status).toBe("Pending");
      await expect(store.jobs.listTasks(one.id, all, { attribute: { key: "x'); --", value: "" } })).rejects.toThrow();
      const counts = await store.jobs.taskCounts([one.id, two.id, empty.id]);
      expect(counts.get(one.id)).toEqual({ Success: 1, Error: 1, Pending: 1 });
      expect(counts.get(two.id)).toEqual({ Pending: 1 });
      expect(counts.has(empty.id)).toBe(false);
      expect((await store.jobs.taskCounts([])).size).toBe(0);
    });

    it("keeps one schedule per kind and target, replaced by a new one", async () => {
      const schedule = {
        vendorType: "PURGE",
        cronType: "Daily",
        cron: "0 0 0 * * *",
        parameters: { audit_retention_hour: 24 },
        nextRunAt: at(60_000),
      };
      const made = await store.jobs.putSchedule(schedule, at(0));
      expect(made).toEqual({ ...schedule, id: made.id, vendorId: -1, createdAt: at(0), updatedAt: at(0) });
      expect(await store.jobs.getSchedule("PURGE")).toEqual(made);
      const replaced = await store.jobs.putSchedule({ ...schedule, cronType: "Hourly", cron: "0 0 * * * *" }, at(10));
      expect(replaced).toMatchObject({ id: made.id, cronType: "Hourly", createdAt: at(0), updatedAt: at(10) });
      const other = await store.jobs.putSchedule({ ...schedule, vendorId: 3 }, at(0));
      expect(other.id).not.toBe(made.id);
      expect(await store.jobs.getSchedule("PURGE", 3)).toEqual(other);
      expect(await store.jobs.deleteSchedule("PURGE")).toBe(true);
      expect(await store.jobs.deleteSchedule("PURGE")).toBe(false);
      expect(await store.jobs.getSchedule("PURGE")).toBeUndefined();
    });

    it("lists due schedules and advances each one once", async () => {
      const base = { vendorType: "PURGE", cronType: "Custom", cron: "* * * * * *", parameters: {} };
      const due = await store.jobs.putSchedule({ ...base, nextRunAt: at(1_000) }, at(0));
      await store.jobs.putSchedule({ ...base, vendorId: 2, nextRunAt: at(5_000) }, at(0));
      expect((await store.jobs.dueSchedules(at(1_000))).map((s) => s.id)).toEqual([due.id]);
      const moves = await Promise.all([
        store.jobs.advanceSchedule(due.id, at(1_000), at(2_000)),
        store.jobs.advanceSchedule(due.id, at(1_000), at(2_000)),
      ]);
      expect(moves.filter(Boolean)).toHaveLength(1);
      expect(await store.jobs.advanceSchedule(due.id, at(1_000), at(3_000))).toBe(false);
      expect((await store.jobs.getSchedule("PURGE"))?.nextRunAt).toEqual(at(2_000));
      expect(await store.jobs.dueSchedules(at(1_500))).toEqual([]);
    });

    it("lists every schedule in the order they were made, a page at a time", async () => {
      const base = { cronType: "Daily", cron: "0 0 0 * * *", parameters: {}, nextRunAt: at(60_000) };
      const first = await store.jobs.putSchedule({ ...base, vendorType: "PURGE" }, at(0));
      const second = await store.jobs.putSchedule({ ...base, vendorType: "GC" }, at(1));
      const third = await store.jobs.putSchedule({ ...base, vendorType: "RETENTION", vendorId: 4 }, at(2));
      const all = await store.jobs.listSchedules({ offset: 0, limit: 10 });
      expect(all.total).toBe(3);
      expect(all.items.map((s) => s.id)).toEqual([first.id, second.id, third.id]);
      const page = await store.jobs.listSchedules({ offset: 1, limit: 1 });
      expect(page).toEqual({ items: [second], total: 3 });
    });

    it("keeps pools alive by their heartbeats and forgets the silent ones", async () => {
      const pool = { id: "host-a:10:abcd", pid: 10, host: "host-a", concurrency: 4, startedAt: at(0) };
      await store.jobs.heartbeatPool(pool, at(0), at(-60_000));
      await store.jobs.heartbeatPool({ ...pool, id: "host-b:20:ef01", pid: 20, host: "host-b" }, at(5), at(-60_000));
      await store.jobs.heartbeatPool(pool, at(30_000), at(-30_000));
      expect(await store.jobs.listPools(at(0))).toEqual([
        { ...pool, heartbeatAt: at(30_000) },
        { id: "host-b:20:ef01", pid: 20, host: "host-b", concurrency: 4, startedAt: at(0), heartbeatAt: at(5) },
      ]);
      expect((await store.jobs.listPools(at(10))).map((p) => p.id)).toEqual([pool.id]);
      // A later heartbeat forgets pools silent since before its horizon.
      await store.jobs.heartbeatPool(pool, at(40_000), at(10));
      expect((await store.jobs.listPools(at(-1))).map((p) => p.id)).toEqual([pool.id]);
      await store.jobs.removePool(pool.id);
      expect(await store.jobs.listPools(at(-1))).toEqual([]);
    });

    it("counts each kind's queue, pauses and resumes it, and stops what waits in it", async () => {
      const purge = await queue("PURGE");
      await store.jobs.createExecution({ vendorType: "PURGE", trigger: "MANUAL", parameters: {} }, at(500));
      const gc = await queue("GC");
      const running = await queue("SCAN");
      await store.jobs.claim(["SCAN"], "w1", at(1), at(60_000));
      expect(await store.jobs.listQueues()).toEqual([
        { vendorType: "GC", pending: 1, oldestPendingAt: at(0), paused: false },
        { vendorType: "PURGE", pending: 2, oldestPendingAt: at(0), paused: false },
      ]);
      expect((await store.jobs.listRunning()).map((e) => [e.id, e.owner])).toEqual([[running.id, "w1"]]);

      await store.jobs.setQueuePaused("PURGE", true, at(2));
      await store.jobs.setQueuePaused("PURGE", true, at(3));
      await store.jobs.setQueuePaused("REPLICATION", true, at(3));
      expect(await store.jobs.pausedQueues()).toEqual(["PURGE", "REPLICATION"]);
      expect(await store.jobs.listQueues()).toEqual([
        { vendorType: "GC", pending: 1, oldestPendingAt: at(0), paused: false },
        { vendorType: "PURGE", pending: 2, oldestPendingAt: at(0), paused: true },
        { vendorType: "REPLICATION", pending: 0, paused: true },
      ]);
      await store.jobs.setQueuePaused("REPLICATION", false, at(4));
      expect(await store.jobs.pausedQueues()).toEqual(["PURGE"]);

      expect(await store.jobs.stopPending("PURGE", at(5))).toBe(2);
      expect(await store.jobs.getExecution(purge.id)).toMatchObject({ status: "Stopped", endedAt: at(5) });
      expect(await store.jobs.stopPending(undefined, at(6))).toBe(1);
      expect(await store.jobs.getExecution(gc.id)).toMatchObject({ status: "Stopped" });
      // A running execution is not in a queue: stopping queues leaves it to its worker.
      expect(await store.jobs.getExecution(running.id)).toMatchObject({ status: "Running" });
      expect(await store.jobs.listQueues()).toEqual([{ vendorType: "PURGE", pending: 0, paused: true }]);
    });

    it("dates a queue by when its oldest waiting execution may run", async () => {
      const made = await queue("PURGE");
      await store.jobs.claim(["PURGE"], "w1", at(1), at(60_000));
      await store.jobs.requeue(made.id, "w1", at(30_000), "retry", at(2));
      expect(await store.jobs.listQueues()).toEqual([
        { vendorType: "PURGE", pending: 1, oldestPendingAt: at(30_000), paused: false },
      ]);
    });
  });
}
