// Contract tests of Harbor's registry endpoints API (/api/v2.0/registries…, /replication/adapters
// and adapterinfos) against Harbor's `Registry`, `RegistryUpdate`, `RegistryPing` and
// `RegistryInfo`, with a second instance of our registry as the upstream the pings reach, and of
// `registry_id` on projects.

import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { freePort } from "../upstream/distribution-server.ts";
import { expectCreatedEmpty, expectError, HarborClient, links, RFC3339, type Credentials } from "./harbor-client.ts";

interface RegistryJson {
  id: number;
  name: string;
  url: string;
  type: string;
  description: string;
  insecure: boolean;
  status: string;
  credential: { type: string; access_key: string; access_secret: string };
  ca_certificate?: string;
  creation_time: string;
  update_time: string;
}

const USER: Credentials = { username: "someone", password: "Someone1password" };
const UPSTREAM_SECRET = ADMIN.password;

describe("Harbor registry endpoints API", () => {
  let upstream: TestRegistry;
  let registry: TestRegistry;
  let api: HarborClient;
  let deadUrl: string;

  const body = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    name,
    type: "docker-registry",
    url: upstream.url,
    description: `${name} upstream`,
    insecure: false,
    credential: { type: "basic", access_key: ADMIN.username, access_secret: UPSTREAM_SECRET },
    ...extra,
  });

  async function create(name: string, extra: Record<string, unknown> = {}): Promise<number> {
    return expectCreatedEmpty(
      await api.call("POST", "/registries", { body: body(name, extra) }),
      "/api/v2.0/registries/",
    );
  }

  async function get(id: number): Promise<RegistryJson> {
    const reply = await api.get(`/registries/${id}`);
    expect(reply.status, reply.text).toBe(200);
    return reply.json as RegistryJson;
  }

  /** Polls until the background health check recorded a status (bounded: 50 × 100 ms). */
  async function statusOf(id: number): Promise<string> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const { status } = await get(id);
      if (status !== "unknown") return status;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return "unknown";
  }

  beforeAll(async () => {
    upstream = await startTestRegistry();
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    await api.createUser(USER.username, USER.password);
    deadUrl = `http://127.0.0.1:${await freePort()}`;
  });
  afterAll(async () => {
    await registry?.stop();
    await upstream?.stop();
  });

  it("creates an endpoint with 201, an empty body and Location, and never returns its secret", async () => {
    const id = await create("upstream-a");
    const json = await get(id);
    expect(json).toMatchObject({
      id,
      name: "upstream-a",
      url: upstream.url,
      type: "docker-registry",
      description: "upstream-a upstream",
      insecure: false,
      credential: { type: "basic", access_key: ADMIN.username, access_secret: "*****" },
    });
    expect(json.creation_time).toMatch(RFC3339);
    expect(json.update_time).toMatch(RFC3339);
    expect(await statusOf(id)).toBe("healthy");
    const list = await api.get("/registries");
    expect(list.text).not.toContain(UPSTREAM_SECRET);
  });

  it("keeps the secret sealed at rest: the database never holds it in clear", async () => {
    await create("sealed-check", { credential: { access_key: "robot", access_secret: "Very-Distinctive-Secret-42" } });
    const metadataDir = path.join(registry.dataDir, "metadata");
    const bytes = readdirSync(metadataDir)
      .map((file) => readFileSync(path.join(metadataDir, file)))
      .reduce((all, next) => Buffer.concat([all, next]), Buffer.alloc(0));
    expect(bytes.includes("Very-Distinctive-Secret-42")).toBe(false);
    expect(bytes.includes("robot")).toBe(true);
  });

  it("refuses what cannot work: unknown type, bad URL, bad CA, taken name, missing name", async () => {
    expectError(
      await api.call("POST", "/registries", { body: body("x", { type: "gitlab" }) }),
      400,
      "BAD_REQUEST",
      /type/,
    );
    expectError(
      await api.call("POST", "/registries", { body: body("x", { url: "ftp://a" }) }),
      400,
      "BAD_REQUEST",
      /url/,
    );
    expectError(await api.call("POST", "/registries", { body: body("x", { url: "" }) }), 400, "BAD_REQUEST", /url/);
    expectError(
      await api.call("POST", "/registries", { body: body("x", { ca_certificate: "not a certificate" }) }),
      400,
      "BAD_REQUEST",
      /ca_certificate/,
    );
    await create("taken");
    expectError(await api.call("POST", "/registries", { body: body("taken") }), 409, "CONFLICT");
    expectError(await api.call("POST", "/registries", { body: { type: "docker-hub" } }), 400, "BAD_REQUEST", /name/);
  });

  it("gives types with a fixed URL their default, and adds https:// to a bare host", async () => {
    const hub = await get(await create("hub", { type: "docker-hub", url: undefined, credential: null }));
    expect(hub.url).toBe("https://hub.docker.com");
    expect(hub.credential).toEqual({ type: "basic", access_key: "", access_secret: "" });
    const bare = await get(await create("bare", { url: "registry.example:5000/", credential: null }));
    expect(bare.url).toBe("https://registry.example:5000");
  });

  it("is the administrator's: anonymous 401, users 403, a system robot with registry:list may read", async () => {
    expectError(await api.call("GET", "/registries", { auth: null }), 401, "UNAUTHORIZED");
    expectError(await api.call("GET", "/registries", { auth: USER }), 403, "FORBIDDEN");
    expectError(await api.call("POST", "/registries", { auth: USER, body: body("nope") }), 403, "FORBIDDEN");
    expectError(await api.call("POST", "/registries/ping", { auth: USER, body: { id: 1 } }), 403, "FORBIDDEN");
    const robot = await api.createRobot({
      name: "registry-reader",
      level: "system",
      duration: -1,
      permissions: [{ kind: "system", namespace: "/", access: [{ resource: "registry", action: "list" }] }],
    });
    const asRobot = { username: robot.name, password: robot.secret };
    expect((await api.call("GET", "/registries", { auth: asRobot })).status).toBe(200);
    expectError(await api.call("POST", "/registries", { auth: asRobot, body: body("nope") }), 403, "FORBIDDEN");
  });

  it("lists with q, page and page_size, X-Total-Count and Link", async () => {
    for (const name of ["list-a", "list-b", "list-c"]) await create(name, { type: "quay" });
    const fuzzy = await api.get(`/registries?q=${encodeURIComponent("name=~list-")}&page_size=2`);
    expect(fuzzy.status).toBe(200);
    expect(fuzzy.headers.get("x-total-count")).toBe("3");
    expect((fuzzy.json as RegistryJson[]).map((r) => r.name)).toEqual(["list-a", "list-b"]);
    expect(links(fuzzy)["next"]).toContain("page=2");
    const second = await api.get(`/registries?q=${encodeURIComponent("name=~list-")}&page=2&page_size=2`);
    expect((second.json as RegistryJson[]).map((r) => r.name)).toEqual(["list-c"]);
    const exact = await api.get(`/registries?q=${encodeURIComponent("name=list-b")}`);
    expect((exact.json as RegistryJson[]).map((r) => r.name)).toEqual(["list-b"]);
    const byType = await api.get(`/registries?q=${encodeURIComponent("type=quay")}`);
    expect(byType.headers.get("x-total-count")).toBe("3");
    const legacy = await api.get("/registries?name=list-c");
    expect((legacy.json as RegistryJson[]).map((r) => r.name)).toEqual(["list-c"]);
  });

  it("updates with RegistryUpdate: fields given change, ***** keeps the secret, an empty key goes anonymous", async () => {
    const id = await create("to-update");
    const before = await get(id);
    let reply = await api.call("PUT", `/registries/${id}`, {
      body: { name: "updated", description: "changed", insecure: true, access_secret: "*****" },
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.text).toBe("");
    const after = await get(id);
    expect(after).toMatchObject({ name: "updated", description: "changed", insecure: true, url: before.url });
    expect(Date.parse(after.update_time)).toBeGreaterThanOrEqual(Date.parse(before.update_time));
    expect((await api.call("POST", "/registries/ping", { body: { id } })).status).toBe(200);

    reply = await api.call("PUT", `/registries/${id}`, { body: { access_secret: "wrong-password" } });
    expect(reply.status).toBe(200);
    expectError(await api.call("POST", "/registries/ping", { body: { id } }), 400, "BAD_REQUEST", /unauthorized/);

    expect((await api.call("PUT", `/registries/${id}`, { body: { access_key: "" } })).status).toBe(200);
    expect((await get(id)).credential).toEqual({ type: "basic", access_key: "", access_secret: "" });

    await create("other-name");
    expectError(await api.call("PUT", `/registries/${id}`, { body: { name: "other-name" } }), 409, "CONFLICT");
    expectError(await api.call("PUT", "/registries/99999", { body: { name: "x" } }), 404, "NOT_FOUND");
    expectError(await api.call("PUT", `/registries/${id}`, { body: { url: "gopher://x" } }), 400, "BAD_REQUEST");
  });

  it("sets and removes a CA bundle (our extension, ca_certificate)", async () => {
    const pem = readFileSync(path.join(import.meta.dirname, "..", "upstream", "fixtures", "ca.pem"), "utf8");
    const id = await create("with-ca", { ca_certificate: pem });
    expect((await get(id)).ca_certificate).toContain("BEGIN CERTIFICATE");
    expect((await api.call("PUT", `/registries/${id}`, { body: { ca_certificate: "" } })).status).toBe(200);
    expect((await get(id)).ca_certificate).toBeUndefined();
  });

  it("pings by id, by the fields given, and by id with fields overridden; 400 with the reason", async () => {
    const id = await create("ping-target");
    expect((await api.call("POST", "/registries/ping", { body: { id } })).status).toBe(200);
    const ok = await api.call("POST", "/registries/ping", {
      body: { type: "docker-registry", url: upstream.url, access_key: ADMIN.username, access_secret: UPSTREAM_SECRET },
    });
    expect(ok.status, ok.text).toBe(200);
    expect(
      (await api.call("POST", "/registries/ping", { body: { type: "docker-registry", url: upstream.url } })).status,
    ).toBe(200);
    expectError(
      await api.call("POST", "/registries/ping", { body: { id, access_secret: "not-the-password" } }),
      400,
      "BAD_REQUEST",
      /unauthorized/,
    );
    const refused = await api.call("POST", "/registries/ping", { body: { type: "docker-registry", url: deadUrl } });
    expectError(refused, 400, "BAD_REQUEST", /unreachable/);
    expect(refused.text).not.toContain(UPSTREAM_SECRET);
    expectError(await api.call("POST", "/registries/ping", { body: { id: 99999 } }), 404, "NOT_FOUND");
    expectError(await api.call("POST", "/registries/ping", { body: { url: upstream.url } }), 400, "BAD_REQUEST");
  });

  it("marks an endpoint that does not answer unhealthy", async () => {
    const id = await create("dead", { url: deadUrl });
    expect(await statusOf(id)).toBe("unhealthy");
  });

  it("describes a registry (info) and every adapter", async () => {
    const id = await create("described", { type: "github-ghcr" });
    const info = await api.get(`/registries/${id}/info`);
    expect(info.status).toBe(200);
    expect(info.json).toMatchObject({ type: "github-ghcr", supported_triggers: ["manual", "scheduled"] });
    expectError(await api.get("/registries/99999/info"), 404, "NOT_FOUND");

    const adapters = await api.get("/replication/adapters");
    expect(adapters.json).toEqual([
      "docker-hub",
      "docker-registry",
      "harbor",
      "github-ghcr",
      "quay",
      "google-gcr",
      "aws-ecr",
      "azure-acr",
    ]);
    const infos = (await api.get("/replication/adapterinfos")).json as Record<string, { endpoint_pattern: unknown }>;
    expect(Object.keys(infos)).toHaveLength(8);
    expect(infos["docker-hub"]?.endpoint_pattern).toEqual({
      endpoint_type: "EndpointPatternTypeFix",
      endpoints: [{ key: "hub.docker.com", value: "https://hub.docker.com" }],
    });
    expectError(await api.call("GET", "/replication/adapters", { auth: null }), 401, "UNAUTHORIZED");
  });

  it("refuses to delete an endpoint a proxy-cache project uses (412), then deletes it", async () => {
    const id = await create("in-use");
    const project = await api.call("POST", "/projects", { body: { project_name: "cache-a", registry_id: id } });
    expect(project.status, project.text).toBe(201);
    expectError(await api.call("DELETE", `/registries/${id}`), 412, "PRECONDITION", /cache-a/);
    expect((await api.call("DELETE", "/projects/cache-a", { headers: { "X-Is-Resource-Name": "true" } })).status).toBe(
      200,
    );
    const deleted = await api.call("DELETE", `/registries/${id}`);
    expect(deleted.status, deleted.text).toBe(200);
    expectError(await api.get(`/registries/${id}`), 404, "NOT_FOUND");
    expectError(await api.call("DELETE", `/registries/${id}`), 404, "NOT_FOUND");
  });

  it("refuses projects naming an unknown registry_id, and a proxy cache set by a non-administrator", async () => {
    expectError(
      await api.call("POST", "/projects", { body: { project_name: "cache-x", registry_id: 99999 } }),
      400,
      "BAD_REQUEST",
      /registry 99999 not found/,
    );
    const id = await create("for-projects");
    expectError(
      await api.call("POST", "/projects", { auth: USER, body: { project_name: "cache-y", registry_id: id } }),
      403,
      "FORBIDDEN",
    );
    expect((await api.call("POST", "/projects", { body: { project_name: "cache-z", registry_id: id } })).status).toBe(
      201,
    );
    expectError(await api.call("PUT", "/projects/cache-z", { body: { registry_id: 99999 } }), 400, "BAD_REQUEST");
    const other = await create("for-projects-2");
    expect((await api.call("PUT", "/projects/cache-z", { body: { registry_id: other } })).status).toBe(200);
    expect(((await api.get("/projects/cache-z")).json as { registry_id?: number }).registry_id).toBe(other);
    await api.createProject("plain", false);
    expectError(await api.call("PUT", "/projects/plain", { body: { registry_id: other } }), 400, "BAD_REQUEST");
  });
});
