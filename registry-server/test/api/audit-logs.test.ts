// Harbor's audit log API: what pushes, pulls and deletes record, system-wide for the administrator
// and per project for its members, newest first, paginated, with `q` filters and time ranges.

import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OciClient } from "../distribution/oci-client.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { expectError, HarborClient, RFC3339 } from "./harbor-client.ts";

interface Entry {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  op_time: string;
}

describe("audit log API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let before: string;

  /** The log, once the buffered writer has flushed `count` entries (at most 5 s). */
  async function waitForEntries(count: number): Promise<Entry[]> {
    for (let i = 0; i < 100; i++) {
      const reply = await api.call("GET", "/audit-logs?page_size=100");
      const entries = reply.json as Entry[];
      if (entries.length >= count) return entries;
      await sleep(50);
    }
    throw new Error(`fewer than ${count} audit entries after 5 s`);
  }

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    const admin = new OciClient(registry.url);
    before = new Date(Date.now() - 1000).toISOString().slice(0, 19).replace("T", " ");
    const { digest } = await admin.pushImage("team/app", "1.0");
    expect((await admin.request("GET", "/v2/team/app/manifests/1.0")).status).toBe(200);
    expect((await admin.request("DELETE", `/v2/team/app/manifests/${digest}`)).status).toBe(202);
    await api.createUser("alice", "Alice-pass-1");
    await api.addMember("team", "alice", 3);
    await api.createUser("bob", "Bob-pass-12");
    await waitForEntries(3);
  });
  afterAll(() => registry.stop());

  it("lists pushes, pulls and deletes newest first, in Harbor's shape, with paging headers", async () => {
    const reply = await api.call("GET", "/audit-logs?page=1&page_size=2");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("x-total-count")).toBe("3");
    expect(reply.headers.get("link")).toMatch(/rel="next"/);
    const entries = reply.json as Entry[];
    expect(entries).toHaveLength(2);
    for (const entry of entries) {
      expect(Object.keys(entry).sort()).toEqual([
        "id",
        "op_time",
        "operation",
        "resource",
        "resource_type",
        "username",
      ]);
      expect(entry.op_time).toMatch(RFC3339);
    }
    const all = await waitForEntries(3);
    expect(all.map((e) => e.operation)).toEqual(["delete", "pull", "create"]);
    expect(all.every((e) => e.username === "admin" && e.resource_type === "artifact")).toBe(true);
    expect(all[2]?.resource).toBe("team/app:1.0");
  });

  it("filters with q: exact operation, substring resource, and op_time ranges", async () => {
    const pulls = (await api.call("GET", "/audit-logs?q=operation%3Dpull")).json as Entry[];
    expect(pulls.map((e) => e.operation)).toEqual(["pull"]);
    const resource = (await api.call("GET", `/audit-logs?q=${encodeURIComponent("resource=~team/app")}`))
      .json as Entry[];
    expect(resource).toHaveLength(3);

    const after = new Date(Date.now() + 60_000).toISOString().slice(0, 19).replace("T", " ");
    const inRange = await api.call("GET", `/audit-logs?q=${encodeURIComponent(`op_time=[${before}~${after}]`)}`);
    expect(inRange.status).toBe(200);
    expect(inRange.json as Entry[]).toHaveLength(3);
    const future = await api.call("GET", `/audit-logs?q=${encodeURIComponent(`op_time=[${after}~]`)}`);
    expect(future.json as Entry[]).toHaveLength(0);
    const upTo = await api.call("GET", `/audit-logs?q=${encodeURIComponent(`op_time=[~${before}]`)}`);
    expect(upTo.json as Entry[]).toHaveLength(0);

    expectError(
      await api.call("GET", `/audit-logs?q=${encodeURIComponent("op_time=[yesterday~]")}`),
      400,
      "BAD_REQUEST",
    );
    expectError(await api.call("GET", "/audit-logs?q=op_time%3D2024"), 400, "BAD_REQUEST");
    // Harbor's or-list: either operation.
    const either = await api.call("GET", `/audit-logs?q=${encodeURIComponent("operation={pull create}")}`);
    expect((either.json as Entry[]).map((e) => e.operation)).toEqual(["pull", "create"]);
  });

  it("shows a project's log to its members only; the system log to the administrator only", async () => {
    const alice = { username: "alice", password: "Alice-pass-1" };
    const bob = { username: "bob", password: "Bob-pass-12" };
    const project = await api.call("GET", "/projects/team/logs", { auth: alice });
    expect(project.status).toBe(200);
    expect((project.json as Entry[]).map((e) => e.operation)).toEqual(["delete", "pull", "create"]);
    expectError(await api.call("GET", "/projects/team/logs", { auth: bob }), 403, "FORBIDDEN");
    expectError(await api.call("GET", "/projects/team/logs", { auth: null }), 401, "UNAUTHORIZED");
    expectError(await api.call("GET", "/audit-logs", { auth: alice }), 403, "FORBIDDEN");
  });
});
