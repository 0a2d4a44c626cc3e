// The engine wired as the composition root wires it (createReplicationEngine, the handler
// registered with a job system, the trigger started): a push published on the bus ends on the
// other registry, and the REPLICATION event of its task is published on the same bus.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReplicationEvent } from "../../src/events/registry-events.ts";
import { JobService } from "../../src/jobs/job-service.ts";
import { createLogger } from "../../src/logger.ts";
import { createReplicationEngine } from "../../src/replication/replication-engine.ts";
import { pushRichImage, type Pushed } from "../api/artifact-fixture.ts";
import { ADMIN } from "../helpers.ts";
import { policyOf } from "./policy-fixture.ts";
import { openSite, pushTo, siteDir, type OpenSite } from "./replication-sites.ts";

describe("replication engine", () => {
  const sourceDir = siteDir("engine-source");
  const destinationDir = siteDir("engine-destination");
  let image: Pushed;
  let here: OpenSite;
  let there: OpenSite;

  beforeAll(async () => {
    image = await pushTo(sourceDir.dir, (client) => pushRichImage(client, "prod/app", "v1"));
    here = await openSite(sourceDir.dir);
    there = await openSite(destinationDir.dir);
  });

  afterAll(async () => {
    await here.close();
    await there.close();
    sourceDir.remove();
    destinationDir.remove();
  });

  it("replicates a push published on the bus, as registry.ts wires it", async () => {
    const log = createLogger("fatal");
    const jobs = new JobService({ store: here.store, log, options: { pollIntervalMs: 50 } });
    const policy = policyOf({ id: 9, destRegistryId: 4, trigger: { type: "event_based" } });
    const engine = createReplicationEngine({
      store: here.store,
      blobs: here.blobs,
      uploads: here.uploads,
      manifests: here.manifests,
      events: here.events,
      jobs,
      log,
      projectOwner: ADMIN.username,
      policy: async (id) => (id === policy.id ? policy : undefined),
      enabledPolicies: async () => [policy],
      remote: (id) => {
        if (id !== 4) throw new Error(`no registry ${id}`);
        return there.endpoint;
      },
      localUrl: () => "https://here.example",
    });
    jobs.register(engine.handler);
    jobs.start();
    engine.trigger.start();
    const ended = new Promise<ReplicationEvent>((resolve) =>
      here.events.subscribe((event) => {
        if (event.type === "REPLICATION") resolve(event);
      }),
    );
    try {
      here.events.publish({
        type: "PUSH_ARTIFACT",
        occurredAt: new Date(),
        operator: "ci",
        artifact: {
          repository: "prod/app",
          digest: image.digest,
          mediaType: "",
          size: image.bytes.length,
          tags: ["v1"],
        },
      });
      expect(await ended).toMatchObject({
        policyId: 9,
        operator: "ci",
        trigger: "event_based",
        source: { registryName: "Local", endpoint: "https://here.example" },
        artifact: { nameTag: "prod/app:v1", status: "Success" },
      });
      expect(await there.endpoint.headManifest("prod/app", "v1", new AbortController().signal)).toBe(image.digest);
    } finally {
      await engine.trigger.stop();
      await jobs.stop();
    }
  });
});
