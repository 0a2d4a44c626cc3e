// The replication job on the real job system over SQLite, between two registries of this server
// opened in process (the remote one plays its part through the same endpoint interface): the
// tasks it makes and what they copy, a run taken over after an interruption that sends nothing
// twice, one execution per policy at a time, a policy disabled under a running execution, pull
// replication's writes published as events, and event-based pushes and deletions.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { JobService } from "../../src/jobs/job-service.ts";
import { createLogger } from "../../src/logger.ts";
import type { ExecutionRecord } from "../../src/metadata/job-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import type { ReplicationEvent } from "../../src/events/registry-events.ts";
import { replicationJob } from "../../src/replication/replication-job.ts";
import { REPLICATION_VENDOR, type ReplicationPolicy } from "../../src/replication/replication-policy.ts";
import { ReplicationTrigger } from "../../src/replication/replication-trigger.ts";
import type { ReplicationDestination, ReplicationSource } from "../../src/replication/replication-endpoint.ts";
import {
  pushCosignSignature,
  pushIndex,
  pushRichImage,
  pushSbom,
  type Pushed,
  type PushedIndex,
} from "../api/artifact-fixture.ts";
import { CountingEndpoint } from "./counting-endpoint.ts";
import { JumpingClock } from "./fake-clock.ts";
import { policyOf } from "./policy-fixture.ts";
import { openSite, pushTo, siteDir, type OpenSite } from "./replication-sites.ts";

const log = createLogger("fatal");
const FAST = { pollIntervalMs: 50, leaseMs: 1_000, concurrency: 2, retryBaseMs: 50 };
/** Blobs of prod/app:v1 (two platforms, its signature, its SBOM) and of prod/other:v1. */
const APP_BLOBS = 8;
const OTHER_BLOBS = 2;

/** Polls until the execution has ended (or `done` says so), for at most `ms`. */
async function until(store: MetadataStore, id: number, done?: (e: ExecutionRecord) => boolean, ms = 15_000) {
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

interface Content {
  app: PushedIndex;
  other: Pushed;
}

describe("replication job", () => {
  const sourceDir = siteDir("job-source");
  const destinationDirs: Array<{ dir: string; remove: () => void }> = [];
  let content: Content;
  let source: OpenSite;
  let registryId: number;
  const opened: OpenSite[] = [];
  const services: JobService[] = [];
  const policies = new Map<number, ReplicationPolicy>();
  const replicationEvents: ReplicationEvent[] = [];

  /** A new, empty registry to replicate to. */
  const destinationSite = async (): Promise<OpenSite> => {
    const made = siteDir("job-destination");
    destinationDirs.push(made);
    const site = await openSite(made.dir);
    opened.push(site);
    return site;
  };

  /** A job service on `local`'s store whose remote registry is `remote`. */
  const jobsFor = (local: OpenSite, remote: ReplicationSource & ReplicationDestination): JobService => {
    const jobs = new JobService({ store: local.store, log, options: FAST });
    jobs.register(
      replicationJob({
        policy: async (id) => policies.get(id),
        remote: () => remote,
        local: local.endpoint,
        store: local.store,
        events: local.events,
        localUrl: () => "https://airlock.example",
        clock: new JumpingClock(),
      }),
    );
    jobs.start();
    services.push(jobs);
    return jobs;
  };

  const push = (fields: Partial<ReplicationPolicy> = {}): ReplicationPolicy => {
    const policy = policyOf({
      id: policies.size + 1,
      name: `push-${policies.size + 1}`,
      destRegistryId: registryId,
      filters: [{ type: "name", value: "prod/**" }],
      destNamespace: "mirror",
      ...fields,
    });
    policies.set(policy.id, policy);
    return policy;
  };

  beforeAll(async () => {
    content = await pushTo(sourceDir.dir, async (client) => {
      const app = await pushIndex(client, "prod/app", "v1");
      await pushCosignSignature(client, "prod/app", app.digest);
      await pushSbom(client, "prod/app", app);
      const other = await pushRichImage(client, "prod/other", "v1", { seed: "other" });
      await pushRichImage(client, "dev/tool", "v1", { seed: "dev" });
      return { app, other };
    });
    source = await openSite(sourceDir.dir);
    source.events.subscribe((event) => {
      if (event.type === "REPLICATION") replicationEvents.push(event);
    });
    const record = await source.store.registries.create(
      {
        name: "dr-site",
        type: "harbor",
        url: "https://dr.example",
        description: "",
        insecure: false,
        status: "healthy",
      },
      new Date(),
    );
    registryId = record.id;
  });

  afterEach(async () => {
    await Promise.all(services.splice(0).map((service) => service.stop()));
  });

  afterAll(async () => {
    for (const site of [source, ...opened]) await site?.close();
    sourceDir.remove();
    for (const made of destinationDirs) made.remove();
  });

  it("makes one task per artifact the filters select, and copies them", async () => {
    const destination = await destinationSite();
    const jobs = jobsFor(source, destination.endpoint);
    const policy = push();
    const execution = await until(source.store, (await jobs.enqueue(REPLICATION_VENDOR, {}, "MANUAL", policy.id)).id);
    expect(execution).toMatchObject({ status: "Success", extraAttrs: { total: 2, done: 2, failed: 0 } });
    expect(execution.extraAttrs["blobs_sent"]).toBe(APP_BLOBS + OTHER_BLOBS);
    const tasks = (await source.store.jobs.listTasks(execution.id, { offset: 0, limit: 10 })).items;
    expect(tasks.map((task) => task.name)).toEqual(["prod/app:v1", "prod/other:v1"]);
    expect(tasks[0]?.extraAttrs).toMatchObject({
      operation: "copy",
      resource_type: "artifact",
      src_resource: "prod/app:v1",
      dst_resource: "mirror/app:v1",
      reference: content.app.digest,
    });
    expect(await source.store.jobs.log(execution.id, tasks[0]?.id)).toMatch(/copying prod\/app/);
    const signal = new AbortController().signal;
    expect(await destination.endpoint.headManifest("mirror/app", "v1", signal)).toBe(content.app.digest);
    expect(await destination.endpoint.headManifest("mirror/other", "v1", signal)).toBe(content.other.digest);
    expect(await destination.endpoint.headManifest("mirror/tool", "v1", signal)).toBeUndefined();

    const ended = replicationEvents.filter((event) => event.executionId === execution.id);
    expect(ended).toHaveLength(2);
    expect(ended[0]).toMatchObject({
      policyId: policy.id,
      trigger: "manual",
      source: { registryName: "Local", namespace: "prod" },
      destination: {
        registryName: "dr-site",
        registryType: "harbor",
        endpoint: "https://dr.example",
        namespace: "mirror",
      },
      artifact: { type: "artifact", nameTag: "prod/app:v1", status: "Success" },
    });
  });

  it("takes over an interrupted run without making its tasks again or sending anything twice", async () => {
    const destination = await destinationSite();
    const counting = new CountingEndpoint(destination.endpoint);
    const first = jobsFor(source, counting);
    let stopped: Promise<void> | undefined;
    // Interrupted in the second task, after its first blob arrived: the first task had ended.
    counting.afterPutBlob = (_digest, completed) => {
      if (completed === APP_BLOBS + 1) stopped = first.stop();
    };
    const policy = push();
    const queued = await first.enqueue(REPLICATION_VENDOR, {}, "MANUAL", policy.id);
    const interrupted = await until(source.store, queued.id, (e) => e.status === "Pending" && e.attempts === 1);
    await stopped;
    expect(interrupted.statusMessage).toBe("interrupted by a shutdown");

    counting.afterPutBlob = () => undefined;
    jobsFor(source, counting);
    const execution = await until(source.store, queued.id);
    expect(execution).toMatchObject({ status: "Success", attempts: 2, extraAttrs: { total: 2, done: 2 } });
    const tasks = (await source.store.jobs.listTasks(queued.id, { offset: 0, limit: 10 })).items;
    expect(tasks).toHaveLength(2);
    // The blob that had arrived in the second task was found there when it ran again.
    expect(execution.extraAttrs).toMatchObject({ blobs_sent: APP_BLOBS + OTHER_BLOBS - 1, blobs_skipped: 1 });
    // Every blob arrived exactly once, across both runs.
    expect(counting.blobsPut).toHaveLength(APP_BLOBS + OTHER_BLOBS);
    expect(new Set(counting.blobsPut).size).toBe(APP_BLOBS + OTHER_BLOBS);
    // The task that had succeeded was not run again.
    expect(counting.manifestsPut.filter((put) => put === "mirror/app:v1")).toHaveLength(1);
    expect(await source.store.jobs.log(queued.id)).toMatch(/taken over: 1 of 2 tasks already done/);
    // Each run released the remote side it opened.
    expect(counting.closes).toBe(2);
  });

  it("runs one execution of a policy at a time, the next waiting its turn", async () => {
    const destination = await destinationSite();
    const counting = new CountingEndpoint(destination.endpoint);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    counting.beforePutBlob = () => held;
    const jobs = jobsFor(source, counting);
    const policy = push({ filters: [{ type: "name", value: "prod/other" }] });
    const first = await jobs.enqueue(REPLICATION_VENDOR, {}, "MANUAL", policy.id);
    await until(source.store, first.id, (e) => e.status === "Running");
    const second = await jobs.enqueue(REPLICATION_VENDOR, {}, "MANUAL", policy.id);
    const waiting = await until(source.store, second.id, (e) => e.status === "Pending" && e.attempts >= 3);
    expect(waiting.statusMessage).toBe(`execution ${first.id} of replication policy ${policy.id} runs first`);
    release();
    expect(await until(source.store, first.id)).toMatchObject({ status: "Success" });
    const ended = await until(source.store, second.id);
    // It waited more claims than an execution may fail, and still ran.
    expect(ended).toMatchObject({ status: "Success", extraAttrs: { total: 1, done: 1 } });
    expect(Number(ended.extraAttrs["waited_turns"])).toBeGreaterThanOrEqual(3);
  });

  it("ends a second execution skipped under single active replication", async () => {
    const destination = await destinationSite();
    const counting = new CountingEndpoint(destination.endpoint);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    counting.beforePutBlob = () => held;
    const jobs = jobsFor(source, counting);
    const policy = push({ filters: [{ type: "name", value: "prod/other" }], singleActiveReplication: true });
    const first = await jobs.enqueue(REPLICATION_VENDOR, {}, "SCHEDULE", policy.id);
    await until(source.store, first.id, (e) => e.status === "Running");
    const second = await until(source.store, (await jobs.enqueue(REPLICATION_VENDOR, {}, "MANUAL", policy.id)).id);
    expect(second).toMatchObject({
      status: "Success",
      extraAttrs: { skipped: true, skip_reason: "Execution skipped: active replication still in progress." },
    });
    expect(await source.store.jobs.listTasks(second.id, { offset: 0, limit: 1 })).toMatchObject({ total: 0 });
    release();
    expect(await until(source.store, first.id)).toMatchObject({ status: "Success" });
  });

  it("ends the execution when its policy is disabled meanwhile, saying so", async () => {
    const destination = await destinationSite();
    const jobs = jobsFor(source, destination.endpoint);
    const policy = push();
    const unsubscribe = source.events.subscribe((event) => {
      if (event.type === "REPLICATION" && event.policyId === policy.id)
        policies.set(policy.id, { ...policy, enabled: false });
    });
    try {
      const execution = await until(source.store, (await jobs.enqueue(REPLICATION_VENDOR, {}, "MANUAL", policy.id)).id);
      expect(execution).toMatchObject({ status: "Error", extraAttrs: { total: 2, done: 1 } });
      expect(execution.statusMessage).toBe(
        `replication policy "${policy.name}" (${policy.id}) is disabled: 1 tasks not run`,
      );
    } finally {
      unsubscribe();
    }
  });

  it("pulls into this registry, creating the project, its writes published with the replication as operator", async () => {
    const local = await destinationSite();
    const jobs = jobsFor(local, source.endpoint);
    const pull = policyOf({
      id: 100,
      name: "from-hq",
      srcRegistryId: registryId,
      destRegistryId: undefined,
      filters: [{ type: "name", value: "prod/other" }],
    });
    policies.set(pull.id, pull);
    const execution = await until(local.store, (await jobs.enqueue(REPLICATION_VENDOR, {}, "MANUAL", pull.id)).id);
    expect(execution).toMatchObject({ status: "Success", extraAttrs: { total: 1, done: 1 } });
    expect(await local.store.projects.getByName("prod")).toMatchObject({ metadata: { public: "false" } });
    const pushed = local.published.filter((event) => event.type === "PUSH_ARTIFACT");
    expect(pushed).toHaveLength(1);
    expect(pushed[0]).toMatchObject({
      operator: "replication:from-hq",
      artifact: { repository: "prod/other", digest: content.other.digest, tags: ["v1"] },
    });
  });

  it("replicates pushes and deletions as they happen, for event-based policies", async () => {
    const destination = await destinationSite();
    const jobs = jobsFor(source, destination.endpoint);
    const policy = push({
      trigger: { type: "event_based" },
      replicateDeletion: true,
      filters: [
        { type: "name", value: "prod/**" },
        { type: "tag", value: "v*", decoration: "matches" },
      ],
    });
    const trigger = new ReplicationTrigger({
      events: source.events,
      jobs,
      enabledPolicies: async () => [...policies.values()].filter((p) => p.enabled),
      store: source.store,
      log,
    });
    trigger.start();
    const signal = new AbortController().signal;
    try {
      // A signature pushed on its own stands for its artifact, which is replicated with it.
      const signatureTag = `sha256-${content.app.digest.slice(7)}.sig`;
      source.events.publish({
        type: "PUSH_ARTIFACT",
        occurredAt: new Date(),
        operator: "ci",
        artifact: {
          repository: "prod/app",
          digest: `sha256:${"e".repeat(64)}`,
          mediaType: "",
          size: 1,
          tags: [signatureTag],
        },
      });
      await trigger.settled();
      const [pushedRun] = (
        await source.store.jobs.listExecutions(
          { vendorType: REPLICATION_VENDOR, vendorId: policy.id },
          { offset: 0, limit: 5 },
        )
      ).items;
      expect(pushedRun?.parameters).toEqual({
        event: { kind: "push", repository: "prod/app", digest: content.app.digest, tags: ["v1"] },
        operator: "ci",
      });
      expect(await until(source.store, pushedRun?.id ?? 0)).toMatchObject({ status: "Success", trigger: "EVENT" });
      expect(await destination.endpoint.headManifest("mirror/app", "v1", signal)).toBe(content.app.digest);
      expect(await destination.endpoint.headManifest("mirror/app", signatureTag, signal)).toBeDefined();

      // Deleting the artifact here deletes it there.
      expect(await source.endpoint.deleteManifest("prod/app", content.app.digest, signal)).toBe(true);
      await trigger.settled();
      const [deletion] = (
        await source.store.jobs.listExecutions(
          { vendorType: REPLICATION_VENDOR, vendorId: policy.id },
          { offset: 0, limit: 1 },
        )
      ).items;
      expect(deletion?.parameters["event"]).toMatchObject({ kind: "delete_artifact", tags: ["v1"] });
      expect(await until(source.store, deletion?.id ?? 0)).toMatchObject({ status: "Success" });
      const [task] = (await source.store.jobs.listTasks(deletion?.id ?? 0, { offset: 0, limit: 1 })).items;
      expect(task?.extraAttrs).toMatchObject({
        operation: "deletion",
        src_resource: "prod/app:v1",
        dst_resource: "mirror/app:v1",
      });
      expect(await destination.endpoint.headManifest("mirror/app", content.app.digest, signal)).toBeUndefined();
    } finally {
      await trigger.stop();
    }
  });
});
