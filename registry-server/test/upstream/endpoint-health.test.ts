// Periodic endpoint health checks, a job of the job system: a registry that stops answering turns
// "unhealthy" at the next pass and "healthy" again once it is back; stopping the job system ends
// the passes and the pings in flight; a pass for one endpoint runs when asked.

import * as path from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { SecretBox } from "../../src/auth/secret-box.ts";
import { createLogger } from "../../src/logger.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";
import { JobService } from "../../src/jobs/job-service.ts";
import { EndpointHealth, endpointHealthJob, REGISTRY_HEALTH_VENDOR } from "../../src/upstream/endpoint-health.ts";
import { RegistryEndpoints } from "../../src/upstream/registry-endpoints.ts";
import { createUpstreamFactory } from "../../src/upstream/upstream-factory.ts";
import { tempDir } from "../helpers.ts";
import { startScriptedServer, type ScriptedServer } from "./test-servers.ts";

/** Waits until `check` holds, polling every 50 ms, 100 times at most. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

describe("endpoint health checks", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(): Promise<{
    store: MetadataStore;
    endpoints: RegistryEndpoints;
    jobs: JobService;
    logs: string[];
  }> {
    const temp = tempDir("health");
    cleanups.push(() => temp.remove());
    const store = await openSqliteStore(path.join(temp.dir, "registry.db"));
    cleanups.push(() => store.close());
    const logs: string[] = [];
    const sink = new PassThrough();
    sink.on("data", (chunk: Buffer) => logs.push(chunk.toString("utf8")));
    const endpoints = new RegistryEndpoints(store.registries, new SecretBox(Buffer.alloc(32, 7)));
    const factory = createUpstreamFactory({ timeoutMs: 1_000 });
    const log = createLogger("info", sink);
    const health = new EndpointHealth({ store: store.registries, endpoints, factory, log });
    const jobs = new JobService({ store, log, options: { pollIntervalMs: 50 } }).register(
      endpointHealthJob(health, store.registries),
    );
    cleanups.push(() => jobs.stop());
    return { store, endpoints, jobs, logs };
  }

  it("follows an upstream going down and coming back, and logs the change with its kind", async () => {
    let up = true;
    const upstream: ScriptedServer = await startScriptedServer((_req, res) => res.writeHead(up ? 200 : 503).end());
    cleanups.push(() => upstream.stop());
    const { store, endpoints, jobs, logs } = await setup();
    const record = await store.registries.create(
      {
        name: "scripted",
        type: "docker-registry",
        url: upstream.url,
        description: "",
        insecure: false,
        credential: endpoints.seal({ type: "basic", accessKey: "user", accessSecret: "Secret-Never-Logged-1" }),
        status: "unknown",
      },
      new Date(),
    );
    await jobs.ensureSchedule({ vendorType: REGISTRY_HEALTH_VENDOR, cron: "@every 1s", parameters: {} });
    jobs.start();
    const status = async (): Promise<string | undefined> => (await store.registries.get(record.id))?.status;
    expect(await eventually(async () => (await status()) === "healthy")).toBe(true);
    up = false;
    expect(await eventually(async () => (await status()) === "unhealthy")).toBe(true);
    // The change is logged once recorded: a moment after the status reads unhealthy.
    expect(await eventually(async () => logs.join("").includes('"kind":"server-error"'))).toBe(true);
    up = true;
    expect(await eventually(async () => (await status()) === "healthy")).toBe(true);
    expect(logs.join("")).not.toContain("Secret-Never-Logged-1");

    await jobs.stop();
    const requests = upstream.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(upstream.requests.length).toBe(requests);
  });

  it("checks one endpoint at once when asked (a change made through the API)", async () => {
    const upstream: ScriptedServer = await startScriptedServer((_req, res) => res.writeHead(503).end());
    cleanups.push(() => upstream.stop());
    const { store, jobs } = await setup();
    const record = await store.registries.create(
      { name: "down", type: "docker-registry", url: upstream.url, description: "", insecure: false, status: "unknown" },
      new Date(),
    );
    jobs.start();
    const execution = await jobs.enqueue(REGISTRY_HEALTH_VENDOR, { registry_id: record.id }, "EVENT");
    expect(await eventually(async () => (await store.jobs.getExecution(execution.id))?.status === "Success")).toBe(
      true,
    );
    expect((await store.registries.get(record.id))?.status).toBe("unhealthy");
    expect((await store.jobs.getExecution(execution.id))?.extraAttrs).toMatchObject({ checked: 1, unhealthy: 1 });
  });
});
