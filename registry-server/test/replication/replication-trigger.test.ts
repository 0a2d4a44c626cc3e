// The event trigger over a real bus and a real store: it never holds up nor fails the publisher,
// queues one execution per matching policy, maps an accessory pushed alone (a referrer by digest)
// to its artifact, reads the policies once per burst, and logs what it could not queue.

import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryEvents, type RegistryEvent } from "../../src/events/registry-events.ts";
import { JobService } from "../../src/jobs/job-service.ts";
import { createLogger } from "../../src/logger.ts";
import type { ExecutionRecord } from "../../src/metadata/job-store.ts";
import type { ReplicationPolicy } from "../../src/replication/replication-policy.ts";
import { ReplicationTrigger } from "../../src/replication/replication-trigger.ts";
import { pushRichImage, pushSbom, type Pushed } from "../api/artifact-fixture.ts";
import { policyOf } from "./policy-fixture.ts";
import { openSite, pushTo, siteDir, type OpenSite } from "./replication-sites.ts";

describe("replication trigger", () => {
  const dir = siteDir("trigger");
  let site: OpenSite;
  let image: Pushed;
  let sbom: Pushed;

  beforeAll(async () => {
    ({ image, sbom } = await pushTo(dir.dir, async (client) => {
      const pushed = await pushRichImage(client, "prod/app", "v1");
      return { image: pushed, sbom: await pushSbom(client, "prod/app", pushed) };
    }));
    site = await openSite(dir.dir);
  });

  afterAll(async () => {
    await site.close();
    dir.remove();
  });

  /**
   * A trigger on a new bus, queueing in the site's job system (not started: nothing runs), the
   * executions it queued recorded as they are, with its log lines.
   */
  const triggerWith = (policies: () => Promise<readonly ReplicationPolicy[]>, now = () => 0) => {
    const bus = new RegistryEvents(createLogger("fatal"));
    const queued: ExecutionRecord[] = [];
    const real = new JobService({ store: site.store, log: createLogger("fatal") });
    const jobs: Pick<JobService, "enqueue"> = {
      enqueue: async (...args) => {
        const execution = await real.enqueue(...args);
        queued.push(execution);
        return execution;
      },
    };
    const lines: string[] = [];
    const sink = new PassThrough();
    sink.on("data", (chunk: Buffer) => lines.push(chunk.toString()));
    const trigger = new ReplicationTrigger({
      events: bus,
      jobs,
      enabledPolicies: policies,
      store: site.store,
      log: createLogger("info", sink),
      cacheMs: 1_000,
      now,
    });
    trigger.start();
    return { bus, queued, trigger, lines };
  };

  const pushed = (tags: string[], digest = image.digest): RegistryEvent => ({
    type: "PUSH_ARTIFACT",
    occurredAt: new Date(),
    operator: "ci",
    artifact: {
      repository: "prod/app",
      digest,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: 1,
      tags,
    },
  });

  it("queues one execution per enabled event-based policy that selects the push", async () => {
    const policies = [
      policyOf({ id: 1, trigger: { type: "event_based" } }),
      policyOf({ id: 2, trigger: { type: "event_based" }, filters: [{ type: "name", value: "dev/**" }] }),
      policyOf({ id: 3, trigger: { type: "event_based" }, enabled: false }),
      policyOf({ id: 4, trigger: { type: "manual" } }),
      policyOf({ id: 5, trigger: { type: "event_based" } }),
    ];
    const { bus, queued, trigger } = triggerWith(async () => policies);
    bus.publish(pushed(["v1"]));
    // The publisher got control back before anything was queued.
    expect(queued).toHaveLength(0);
    await trigger.settled();
    expect(queued.map((q) => q.vendorId)).toEqual([1, 5]);
    expect(queued[0]).toMatchObject({
      status: "Pending",
      vendorType: "REPLICATION",
      parameters: {
        event: { kind: "push", repository: "prod/app", digest: image.digest, tags: ["v1"] },
        operator: "ci",
      },
      trigger: "EVENT",
      vendorId: 1,
    });
    await trigger.stop();
  });

  it("replicates the artifact a referrer pushed by digest belongs to", async () => {
    const { bus, queued, trigger } = triggerWith(async () => [policyOf({ trigger: { type: "event_based" } })]);
    bus.publish(pushed([], sbom.digest));
    // An untagged push that is no accessory starts nothing.
    bus.publish(pushed([], image.digest));
    await trigger.settled();
    expect(queued.map((q) => q.parameters["event"])).toEqual([
      { kind: "push", repository: "prod/app", digest: image.digest, tags: ["v1"] },
    ]);
    await trigger.stop();
  });

  it("reads the policies once per burst, again once the cache is old or invalidated", async () => {
    let reads = 0;
    let time = 0;
    const { bus, queued, trigger } = triggerWith(
      async () => {
        reads++;
        return [policyOf({ trigger: { type: "event_based" } })];
      },
      () => time,
    );
    for (let i = 0; i < 5; i++) bus.publish(pushed(["v1"]));
    await trigger.settled();
    expect(reads).toBe(1);
    time = 1_000;
    bus.publish(pushed(["v1"]));
    await trigger.settled();
    expect(reads).toBe(2);
    trigger.invalidate();
    bus.publish(pushed(["v1"]));
    await trigger.settled();
    expect(reads).toBe(3);
    expect(queued).toHaveLength(7);
    await trigger.stop();
  });

  it("logs what it could not queue, and tries the policies again on the next event", async () => {
    let fail = true;
    const { bus, queued, trigger, lines } = triggerWith(async () => {
      if (fail) throw new Error("the policy table is locked");
      return [policyOf({ trigger: { type: "event_based" } })];
    });
    expect(() => bus.publish(pushed(["v1"]))).not.toThrow();
    await trigger.settled();
    expect(lines.join("")).toMatch(/could not queue event-based replication/);
    fail = false;
    bus.publish(pushed(["v1"]));
    await trigger.settled();
    expect(queued).toHaveLength(1);
    await trigger.stop();
    // Stopped, it hears nothing more.
    bus.publish(pushed(["v1"]));
    await trigger.settled();
    expect(queued).toHaveLength(1);
  });
});
