// Harbor's replication policies API as its clients drive it: a policy's life (create with 201 +
// Location and an empty body, get with both registries filled in as Harbor's controller does,
// list with q, sort and paging, PUT replacing the whole policy, delete), each of Harbor's
// refusals with its error JSON, who may do what, the schedule a scheduled policy gets in the job
// system, and the endpoint a policy names kept from deletion.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES } from "../../src/metadata/identity-store.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { expectCreatedEmpty, expectError, HarborClient, links, RFC3339, type Credentials } from "./harbor-client.ts";

const USER: Credentials = { username: "repl-user", password: "Repl-user-password1" };
const PROJECT_ADMIN: Credentials = { username: "repl-padmin", password: "Repl-padmin-password1" };
const ZERO_TIME = "0001-01-01T00:00:00.000Z";

interface PolicyJson {
  id: number;
  name: string;
  description: string;
  src_registry: Record<string, unknown>;
  dest_registry: Record<string, unknown>;
  dest_namespace: string;
  dest_namespace_replace_count: number;
  trigger: { type: string; trigger_settings: { cron: string } };
  filters: Array<{ type: string; value: unknown; decoration?: string }>;
  replicate_deletion: boolean;
  deletion: boolean;
  override: boolean;
  enabled: boolean;
  speed: number;
  copy_by_chunk: boolean;
  single_active_replication: boolean;
  creation_time: string;
  update_time: string;
}

interface ScheduleJson {
  vendor_type: string;
  vendor_id: number;
  cron: string;
}

describe("Harbor replication policies API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let hub: number;
  let dr: number;

  async function createRegistry(name: string): Promise<number> {
    return expectCreatedEmpty(
      await api.call("POST", "/registries", {
        body: {
          name,
          type: "docker-registry",
          // Nothing listens there: the endpoint's health check fails at once, and nothing here needs it.
          url: "http://127.0.0.1:9",
          credential: { type: "basic", access_key: "puller", access_secret: "Secret-1" },
        },
      }),
      "/api/v2.0/registries/",
    );
  }

  /** A pull policy from `hub`, scheduled, as Harbor's portal sends it; `extra` overrides. */
  const body = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    name,
    description: `${name} policy`,
    src_registry: { id: hub },
    dest_namespace: "mirror",
    dest_namespace_replace_count: 1,
    trigger: { type: "scheduled", trigger_settings: { cron: "0 0 3 * * *" } },
    filters: [
      { type: "name", value: "library/**" },
      { type: "tag", value: "v{1,2}.*", decoration: "matches" },
      { type: "label", value: ["prod"], decoration: "excludes" },
      { type: "resource", value: "image" },
    ],
    replicate_deletion: false,
    override: true,
    enabled: true,
    speed: 2048,
    copy_by_chunk: true,
    single_active_replication: true,
    ...extra,
  });

  async function create(name: string, extra: Record<string, unknown> = {}): Promise<number> {
    return expectCreatedEmpty(
      await api.call("POST", "/replication/policies", { body: body(name, extra) }),
      "/api/v2.0/replication/policies/",
    );
  }

  async function get(id: number): Promise<PolicyJson> {
    const reply = await api.get(`/replication/policies/${id}`);
    expect(reply.status, reply.text).toBe(200);
    return reply.json as PolicyJson;
  }

  async function schedules(): Promise<ScheduleJson[]> {
    const reply = await api.get("/schedules?page_size=0");
    expect(reply.status, reply.text).toBe(200);
    return (reply.json as ScheduleJson[]).filter((s) => s.vendor_type === "REPLICATION");
  }

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    hub = await createRegistry("hub");
    dr = await createRegistry("dr-site");
    await api.createUser(USER.username, USER.password);
    await api.createUser(PROJECT_ADMIN.username, PROJECT_ADMIN.password);
    await api.createProject("repl-team", false);
    await api.addMember("repl-team", PROJECT_ADMIN.username, ROLES.projectAdmin);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("creates a pull policy (201, Location, no body) and shows it as Harbor's ReplicationPolicy", async () => {
    const id = await create("pull-hub");
    const json = await get(id);
    expect(json).toEqual({
      id,
      name: "pull-hub",
      description: "pull-hub policy",
      src_registry: expect.objectContaining({
        id: hub,
        name: "hub",
        type: "docker-registry",
        url: "http://127.0.0.1:9",
        credential: { type: "basic", access_key: "puller", access_secret: "*****" },
      }) as unknown,
      dest_registry: {
        id: 0,
        name: "Local",
        url: registry.url,
        type: "harbor",
        description: "",
        insecure: false,
        status: "healthy",
        credential: { type: "secret", access_key: "", access_secret: "*****" },
        creation_time: ZERO_TIME,
        update_time: ZERO_TIME,
      },
      dest_namespace: "mirror",
      dest_namespace_replace_count: 1,
      trigger: { type: "scheduled", trigger_settings: { cron: "0 0 3 * * *" } },
      filters: [
        { type: "name", value: "library/**" },
        { type: "tag", value: "v{1,2}.*", decoration: "matches" },
        { type: "label", value: ["prod"], decoration: "excludes" },
        { type: "resource", value: "image" },
      ],
      replicate_deletion: false,
      deletion: false,
      override: true,
      enabled: true,
      speed: 2048,
      copy_by_chunk: true,
      single_active_replication: true,
      creation_time: expect.stringMatching(RFC3339) as unknown,
      update_time: json.creation_time,
    });
  });

  it("applies Harbor's defaults and leniency: push policy, deprecated deletion, -1 replace count, speed -1", async () => {
    const id = await create("push-dr", {
      src_registry: { id: 0 },
      dest_registry: { id: dr, name: "ignored", url: "ignored too" },
      dest_namespace: "",
      dest_namespace_replace_count: undefined,
      trigger: undefined,
      filters: undefined,
      replicate_deletion: undefined,
      deletion: true,
      enabled: undefined,
      speed: -1,
      copy_by_chunk: undefined,
      single_active_replication: undefined,
      unknown_field: "ignored",
      id: 999,
      creation_time: "2001-01-01T00:00:00Z",
    });
    const json = await get(id);
    expect(json.src_registry).toMatchObject({ id: 0, name: "Local" });
    expect(json.dest_registry).toMatchObject({ id: dr, name: "dr-site" });
    expect(json).toMatchObject({
      id,
      dest_namespace: "",
      dest_namespace_replace_count: -1,
      trigger: { type: "manual", trigger_settings: { cron: "" } },
      filters: [],
      replicate_deletion: true,
      deletion: true,
      enabled: false,
      speed: 0,
      copy_by_chunk: false,
      single_active_replication: false,
    });
    expect(json.creation_time).not.toBe("2001-01-01T00:00:00.000Z");
  });

  it("takes terraform-provider-harbor's harbor_replication body and answers the fields it reads back", async () => {
    // models.ReplicationBody as GetReplicationBody fills it: an empty dest_registry object, the
    // deprecated `deletion`, id 0, a speed of -1 for no limit.
    const reply = await api.call("POST", "/replication/policies", {
      body: {
        name: "tf-replication",
        id: 0,
        src_registry: { id: hub },
        dest_registry: {},
        dest_namespace: "mirror",
        dest_namespace_replace_count: -1,
        trigger: { type: "scheduled", trigger_settings: { cron: "0 0 0 * * *" } },
        enabled: true,
        deletion: true,
        override: true,
        filters: [
          { type: "name", value: "library/**" },
          { type: "tag", value: "v1.*", decoration: "matches" },
          { type: "label", value: ["prod"], decoration: "excludes" },
          { type: "resource", value: "image" },
        ],
        speed: -1,
        single_active_replication: true,
      },
    });
    const id = expectCreatedEmpty(reply, "/api/v2.0/replication/policies/");
    // The provider keeps Location, less /api/v2.0, as the resource id.
    expect(reply.headers.get("location")).toBe(`/api/v2.0/replication/policies/${id}`);
    const read = await get(id);
    expect(read).toMatchObject({
      name: "tf-replication",
      src_registry: { id: hub },
      dest_registry: { id: 0 },
      dest_namespace: "mirror",
      dest_namespace_replace_count: -1,
      trigger: { type: "scheduled", trigger_settings: { cron: "0 0 0 * * *" } },
      enabled: true,
      deletion: true,
      override: true,
      speed: 0,
      single_active_replication: true,
    });
    // execute_on_changed: an execution started with ExecutionBody, answered 201.
    expect((await api.call("POST", "/replication/executions", { body: { policy_id: id } })).status).toBe(201);
  });

  it("takes harbor-cli's body: the whole Registry object, replicate_deletion, null filters", async () => {
    const registryJson = (await api.get(`/registries/${dr}`)).json as Record<string, unknown>;
    const id = await create("cli-push", {
      src_registry: undefined,
      dest_registry: registryJson,
      dest_namespace: undefined,
      dest_namespace_replace_count: undefined,
      trigger: { type: "manual" },
      filters: null,
      replicate_deletion: true,
      copy_by_chunk: false,
      speed: 100,
      single_active_replication: undefined,
      creation_time: ZERO_TIME,
      update_time: ZERO_TIME,
    });
    expect(await get(id)).toMatchObject({
      src_registry: { id: 0, name: "Local" },
      dest_registry: { id: dr, name: "dr-site" },
      trigger: { type: "manual" },
      filters: [],
      replicate_deletion: true,
      deletion: true,
      speed: 100,
    });
  });

  it("lists with q on the name (exact, fuzzy, encoded twice), the legacy name, sort and paging", async () => {
    for (const name of ["list-alpha", "list-beta", "list-Gamma"]) await create(name, { trigger: { type: "manual" } });
    const names = async (query: string): Promise<string[]> => {
      const reply = await api.get(`/replication/policies?${query}`);
      expect(reply.status, reply.text).toBe(200);
      return (reply.json as PolicyJson[]).map((p) => p.name);
    };
    expect(await names("q=name%3Dlist-beta")).toEqual(["list-beta"]);
    expect(await names("q=name%3D~list-&sort=name")).toEqual(["list-Gamma", "list-alpha", "list-beta"]);
    expect(await names("q=name%253D~GAMMA")).toEqual(["list-Gamma"]);
    expect(await names("name=list-&sort=-name")).toEqual(["list-beta", "list-alpha", "list-Gamma"]);
    // Harbor's default order: the newest first.
    expect(await names("q=name%3D~list-")).toEqual(["list-Gamma", "list-beta", "list-alpha"]);
    const paged = await api.get("/replication/policies?q=name%3D~list-&sort=name&page=2&page_size=1");
    expect(paged.headers.get("x-total-count")).toBe("3");
    expect((paged.json as PolicyJson[]).map((p) => p.name)).toEqual(["list-alpha"]);
    expect(links(paged)).toMatchObject({
      prev: expect.stringContaining("page=1") as unknown,
      next: expect.stringContaining("page=3") as unknown,
    });
    const all = await api.get("/replication/policies?page_size=0");
    expect(Number(all.headers.get("x-total-count"))).toBe((all.json as PolicyJson[]).length);
    expect(all.headers.get("link")).toBeNull();
    expectError(await api.get("/replication/policies?q=name"), 400, "BAD_REQUEST");
  });

  it("replaces the whole policy on PUT: what is left out takes Harbor's zero value", async () => {
    const id = await create("edit-me");
    const before = await get(id);
    const reply = await api.call("PUT", `/replication/policies/${id}`, {
      body: {
        ...before,
        description: "changed",
        src_registry: before.dest_registry,
        dest_registry: { id: dr },
        trigger: { type: "event_based" },
        filters: [{ type: "tag", value: "latest" }],
        enabled: undefined,
        single_active_replication: false,
      },
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.text).toBe("");
    const after = await get(id);
    expect(after).toMatchObject({
      id,
      name: "edit-me",
      description: "changed",
      src_registry: { id: 0, name: "Local" },
      dest_registry: { id: dr, name: "dr-site" },
      trigger: { type: "event_based", trigger_settings: { cron: "" } },
      filters: [{ type: "tag", value: "latest", decoration: "matches" }],
      enabled: false,
      creation_time: before.creation_time,
    });
    expect(Date.parse(after.update_time)).toBeGreaterThanOrEqual(Date.parse(before.update_time));
  });

  it("refuses what Harbor refuses, with its status and error JSON", async () => {
    const refused = async (extra: Record<string, unknown>, status: number, code: string, message: RegExp) =>
      expectError(
        await api.call("POST", "/replication/policies", { body: body("refused", extra) }),
        status,
        code,
        message,
      );
    await refused({ name: "" }, 400, "BAD_REQUEST", /empty name/);
    await refused({ name: undefined }, 400, "BAD_REQUEST", /empty name/);
    await refused({ dest_registry: { id: dr } }, 400, "BAD_REQUEST", /either src_registry or dest_registry/);
    await refused({ src_registry: { id: 0 } }, 400, "BAD_REQUEST", /either src_registry or dest_registry/);
    await refused({ src_registry: undefined }, 400, "BAD_REQUEST", /either src_registry or dest_registry/);
    await refused({ src_registry: { id: 9999 } }, 404, "NOT_FOUND", /registry 9999 not found/);
    await refused({ filters: [{ type: "size", value: "1" }] }, 400, "BAD_REQUEST", /invalid filter type/);
    await refused({ filters: [{ type: "name", value: 3 }] }, 400, "BAD_REQUEST", /isn't string/);
    await refused(
      { filters: [{ type: "name", value: "a/**", decoration: "matches" }] },
      400,
      "BAD_REQUEST",
      /only tag and label filter support decoration/,
    );
    await refused({ filters: [{ type: "resource", value: "chart" }] }, 400, "BAD_REQUEST", /invalid resource filter/);
    await refused({ filters: [{ type: "label", value: "prod" }] }, 400, "BAD_REQUEST", /isn't string slice/);
    await refused(
      { filters: [{ type: "tag", value: "v1", decoration: "includes" }] },
      400,
      "BAD_REQUEST",
      /invalid filter decoration/,
    );
    await refused({ filters: [{ type: "tag", value: "v[1" }] }, 400, "BAD_REQUEST", /invalid tag filter: syntax error/);
    await refused({ filters: [{ type: "name", value: "a/{b" }] }, 400, "BAD_REQUEST", /invalid name filter/);
    await refused({ dest_namespace: "Upper/Case" }, 400, "BAD_REQUEST", /invalid destination namespace/);
    await refused({ trigger: { type: "hourly" } }, 400, "BAD_REQUEST", /invalid trigger type/);
    await refused({ trigger: { type: "scheduled" } }, 400, "BAD_REQUEST", /cron string cannot be empty/);
    await refused(
      { trigger: { type: "scheduled", trigger_settings: { cron: "0 3 * * *" } } },
      400,
      "BAD_REQUEST",
      /invalid cron string for scheduled trigger: .*five fields/,
    );
    await refused(
      { trigger: { type: "event_based" }, single_active_replication: true },
      400,
      "BAD_REQUEST",
      /single active replication is not allowed for event_based triggers/,
    );
    await refused({ speed: -2 }, 400, "BAD_REQUEST", /speed -2 is invalid/);
    await refused({ dest_namespace_replace_count: -2 }, 400, "BAD_REQUEST", /dest_namespace_replace_count/);
    await refused({ dest_namespace_replace_count: 200 }, 400, "BAD_REQUEST", /dest_namespace_replace_count/);
    await refused({ enabled: "yes" }, 400, "BAD_REQUEST", /enabled/);
    expectError(await api.call("POST", "/replication/policies", { body: "{" }), 400, "BAD_REQUEST");
    // Nothing was made by any of them.
    expect((await api.get("/replication/policies?q=name%3Drefused")).json).toEqual([]);

    await create("taken");
    const other = await create("other");
    expectError(
      await api.call("POST", "/replication/policies", { body: body("taken") }),
      409,
      "CONFLICT",
      /replication policy taken already exists/,
    );
    expectError(
      await api.call("PUT", `/replication/policies/${other}`, { body: body("taken") }),
      409,
      "CONFLICT",
      /already exists/,
    );
    expectError(
      await api.call("PUT", "/replication/policies/99999", { body: body("ghost") }),
      404,
      "NOT_FOUND",
      /replication policy 99999 not found/,
    );
    expectError(await api.get("/replication/policies/99999"), 404, "NOT_FOUND", /replication policy 99999 not found/);
    expectError(await api.call("DELETE", "/replication/policies/99999"), 404, "NOT_FOUND");
  });

  it("keeps a schedule for an enabled scheduled policy, replaced on change and removed when it no longer applies", async () => {
    const id = await create("scheduled");
    const mine = async () => (await schedules()).filter((s) => s.vendor_id === id);
    expect(await mine()).toEqual([expect.objectContaining({ vendor_id: id, cron: "0 0 3 * * *" })]);
    const put = async (extra: Record<string, unknown>) => {
      const reply = await api.call("PUT", `/replication/policies/${id}`, { body: body("scheduled", extra) });
      expect(reply.status, reply.text).toBe(200);
    };
    await put({ trigger: { type: "scheduled", trigger_settings: { cron: "0 30 4 * * *" } } });
    expect((await mine()).map((s) => s.cron)).toEqual(["0 30 4 * * *"]);
    await put({ enabled: false });
    expect(await mine()).toEqual([]);
    await put({});
    expect((await mine()).map((s) => s.cron)).toEqual(["0 0 3 * * *"]);
    await put({ trigger: { type: "manual" } });
    expect(await mine()).toEqual([]);
    await put({});
    expect(await mine()).toHaveLength(1);
    // A disabled policy made scheduled gets none.
    const off = await create("scheduled-off", { enabled: false });
    expect((await schedules()).some((s) => s.vendor_id === off)).toBe(false);
    const deleted = await api.call("DELETE", `/replication/policies/${id}`);
    expect(deleted.status, deleted.text).toBe(200);
    expect(deleted.text).toBe("");
    expect(await mine()).toEqual([]);
    expectError(await api.get(`/replication/policies/${id}`), 404, "NOT_FOUND");
  });

  it("keeps an endpoint a policy names from being deleted (412, as Harbor)", async () => {
    const spare = await createRegistry("spare");
    const id = await create("uses-spare", { src_registry: { id: spare }, trigger: { type: "manual" } });
    expectError(
      await api.call("DELETE", `/registries/${spare}`),
      412,
      "PRECONDITION",
      new RegExp(`the registry ${spare} is referenced by replication policies`),
    );
    expect((await api.call("DELETE", `/replication/policies/${id}`)).status).toBe(200);
    expect((await api.call("DELETE", `/registries/${spare}`)).status).toBe(200);
  });

  it("is a system resource: anonymous 401, a user or a project admin 403, a system robot by its permissions", async () => {
    const id = await create("guarded", { trigger: { type: "manual" } });
    for (const auth of [null, USER, PROJECT_ADMIN]) {
      const status = auth === null ? 401 : 403;
      const code = auth === null ? "UNAUTHORIZED" : "FORBIDDEN";
      expectError(await api.get("/replication/policies", auth), status, code);
      expectError(await api.get(`/replication/policies/${id}`, auth), status, code);
      expectError(await api.call("POST", "/replication/policies", { auth, body: body("x") }), status, code);
      expectError(await api.call("PUT", `/replication/policies/${id}`, { auth, body: body("guarded") }), status, code);
      expectError(await api.call("DELETE", `/replication/policies/${id}`, { auth }), status, code);
    }
    const robot = await api.createRobot({
      name: "replication-reader",
      level: "system",
      duration: -1,
      permissions: [
        {
          kind: "system",
          namespace: "/",
          access: [
            { resource: "replication-policy", action: "list" },
            { resource: "replication-policy", action: "read" },
          ],
        },
      ],
    });
    const robotAuth = { username: robot.name, password: robot.secret };
    expect((await api.get("/replication/policies", robotAuth)).status).toBe(200);
    expect((await api.get(`/replication/policies/${id}`, robotAuth)).status).toBe(200);
    expectError(
      await api.call("POST", "/replication/policies", { auth: robotAuth, body: body("robot-made") }),
      403,
      "FORBIDDEN",
    );
    expectError(await api.call("DELETE", `/replication/policies/${id}`, { auth: robotAuth }), 403, "FORBIDDEN");
    const writer = await api.createRobot({
      name: "replication-writer",
      level: "system",
      duration: -1,
      permissions: [{ kind: "system", namespace: "/", access: [{ resource: "replication-policy", action: "create" }] }],
    });
    const made = await api.call("POST", "/replication/policies", {
      auth: { username: writer.name, password: writer.secret },
      body: body("robot-made", { trigger: { type: "manual" } }),
    });
    expect(made.status, made.text).toBe(201);
  });
});
