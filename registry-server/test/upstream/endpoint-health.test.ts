// Periodic endpoint health checks: a registry that stops answering turns "unhealthy" at the next
// pass and "healthy" again once it is back; stop() ends the passes and the pings in flight.

import * as path from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { SecretBox } from "../../src/auth/secret-box.ts";
import { createLogger } from "../../src/logger.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openSqliteStore } from "../../src/metadata/sqlite-store.ts";
import { EndpointHealth } from "../../src/upstream/endpoint-health.ts";
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
    health: EndpointHealth;
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
    const health = new EndpointHealth(
      { store: store.registries, endpoints, factory, log: createLogger("info", sink) },
      100,
    );
    cleanups.push(() => health.stop());
    return { store, endpoints, health, logs };
  }

  it("follows an upstream going down and coming back, and logs the change with its kind", async () => {
    let up = true;
    const upstream: ScriptedServer = await startScriptedServer((_req, res) => res.writeHead(up ? 200 : 503).end());
    cleanups.push(() => upstream.stop());
    const { store, endpoints, health, logs } = await setup();
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
    health.start();
    const status = async (): Promise<string | undefined> => (await store.registries.get(record.id))?.status;
    expect(await eventually(async () => (await status()) === "healthy")).toBe(true);
    up = false;
    expect(await eventually(async () => (await status()) === "unhealthy")).toBe(true);
    expect(logs.join("")).toContain('"kind":"server-error"');
    up = true;
    expect(await eventually(async () => (await status()) === "healthy")).toBe(true);
    expect(logs.join("")).not.toContain("Secret-Never-Logged-1");

    await health.stop();
    const requests = upstream.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(upstream.requests.length).toBe(requests);
  });
});
