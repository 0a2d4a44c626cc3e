// Harbor's quotas API: one storage quota per project, read and set by the administrator; usage
// counts each distinct blob of the project once, goes down when a manifest is deleted, and a push
// that would exceed the limit is refused with Harbor's message.

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OciClient, sha256 } from "../distribution/oci-client.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { expectError, HarborClient, RFC3339 } from "./harbor-client.ts";

interface Quota {
  id: number;
  ref: { id: number; name: string; owner_name: string };
  hard: { storage: number };
  used: { storage: number };
  creation_time: string;
  update_time: string;
}

describe("quotas API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let admin: OciClient;
  let projectId: number;

  async function quota(): Promise<Quota> {
    const reply = await api.call("GET", `/quotas/${projectId}`);
    expect(reply.status).toBe(200);
    return reply.json as Quota;
  }

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    admin = new OciClient(registry.url);
    projectId = await api.createProject("team", false);
    await api.createProject("other", false);
    await api.createUser("alice", "Alice-pass-1");
  });
  afterAll(() => registry.stop());

  it("lists one quota per project in Harbor's shape, and finds one by project", async () => {
    const list = await api.call("GET", "/quotas");
    expect(list.status).toBe(200);
    expect(list.headers.get("x-total-count")).toBe("2");
    const byProject = await api.call("GET", `/quotas?reference=project&reference_id=${projectId}`);
    const [found] = byProject.json as Quota[];
    expect(found).toMatchObject({
      id: projectId,
      ref: { id: projectId, name: "team", owner_name: "admin" },
      hard: { storage: -1 },
      used: { storage: 0 },
    });
    expect(found?.creation_time).toMatch(RFC3339);
    expect(await quota()).toEqual(found);
    expectError(await api.call("GET", "/quotas?reference=user"), 400, "BAD_REQUEST");
    expectError(await api.call("GET", "/quotas/9999"), 404, "NOT_FOUND");
  });

  it("counts a blob the project holds in two repositories once, and releases it when its manifests go", async () => {
    const layer = randomBytes(10_000).toString("base64");
    const first = await admin.pushImage("team/app", "1", { layer });
    const afterFirst = (await quota()).used.storage;
    expect(afterFirst).toBeGreaterThan(10_000);
    const second = await admin.pushImage("team/copy", "1", { layer });
    expect((await quota()).used.storage).toBe(afterFirst);

    expect((await admin.request("DELETE", `/v2/team/app/manifests/${first.digest}`)).status).toBe(202);
    // team/copy still holds the layer: usage does not move.
    expect((await quota()).used.storage).toBe(afterFirst);
    expect((await admin.request("DELETE", `/v2/team/copy/manifests/${second.digest}`)).status).toBe(202);
    expect((await quota()).used.storage).toBe(0);
  });

  it("sets the limit, refuses a push over it with Harbor's message, and is the administrator's alone", async () => {
    expect((await api.call("PUT", `/quotas/${projectId}`, { body: { hard: { storage: 20_000 } } })).status).toBe(200);
    expect((await quota()).hard.storage).toBe(20_000);
    const big = randomBytes(30_000);
    const over = await admin.request("POST", `/v2/team/big/blobs/uploads/?digest=${sha256(big)}`, { body: big });
    expect(over.status).toBe(403);
    const body = (await over.json()) as { errors: Array<{ code: string; message: string }> };
    expect(body.errors[0]?.code).toBe("DENIED");
    expect(body.errors[0]?.message).toMatch(/will exceed the configured upper limit of 19\.53 KiB/);
    expect((await quota()).used.storage).toBe(0);

    const alice = { username: "alice", password: "Alice-pass-1" };
    expectError(await api.call("GET", "/quotas", { auth: alice }), 403, "FORBIDDEN");
    expectError(
      await api.call("PUT", `/quotas/${projectId}`, { auth: alice, body: { hard: { storage: 1 } } }),
      403,
      "FORBIDDEN",
    );
    expectError(await api.call("PUT", `/quotas/${projectId}`, { body: { hard: { storage: -2 } } }), 400, "BAD_REQUEST");
  });
});
