// Harbor's system endpoints as its clients read them before logging in: systeminfo, ping and
// health, without authentication.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { HarborClient, RFC3339 } from "./harbor-client.ts";

describe("system API", () => {
  let registry: TestRegistry;
  let api: HarborClient;

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
  });
  afterAll(() => registry.stop());

  it("describes the system to anyone in Harbor's shape", async () => {
    const reply = await api.call("GET", "/systeminfo", { auth: null });
    expect(reply.status).toBe(200);
    const info = reply.json as Record<string, unknown>;
    expect(info).toMatchObject({
      registry_url: new URL(registry.url).host,
      auth_mode: "db_auth",
      self_registration: false,
      read_only: false,
      registry_storage_provider_name: "filesystem",
    });
    expect(info["current_time"]).toMatch(RFC3339);
    expect(info["harbor_version"]).toMatch(/^airlock-\d+\.\d+\.\d+/);
  });

  it("answers ping with Pong and health with every component's status", async () => {
    const ping = await fetch(`${registry.url}/api/v2.0/ping`);
    expect(ping.status).toBe(200);
    expect(await ping.text()).toBe("Pong");
    const health = await api.call("GET", "/health", { auth: null });
    expect(health.status).toBe(200);
    expect(health.json).toEqual({
      status: "healthy",
      components: [
        { name: "core", status: "healthy" },
        { name: "storage", status: "healthy" },
      ],
    });
  });
});
