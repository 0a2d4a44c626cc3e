// Contract tests of Harbor's system configuration API (/api/v2.0/configurations: swagger
// `ConfigurationsResponse` and `Configurations`, Harbor's config handler and controller), and of
// what each setting the server has changes: read-only mode, who may create projects, robot names
// and lifetimes, token lifetime, default quotas, and the audit log's filter, forwarding and copy.

import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { OciClient } from "../distribution/oci-client.ts";
import {
  expectCreatedEmpty,
  expectError,
  HarborClient,
  projectPermissions,
  type Credentials,
} from "./harbor-client.ts";

const USER: Credentials = { username: "conf-user", password: "Confuser1password" };
const READ_ONLY = /read only mode/;

interface ConfigItem {
  value: unknown;
  editable: boolean;
}

/** Polls `read` until `done` holds, for at most five seconds (the audit log flushes every second). */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 50 && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

/** A TCP server standing in for a syslog collector: the lines it received. */
async function syslogServer(): Promise<{ port: number; lines: string[]; close: () => Promise<void> }> {
  const lines: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      const parts = buffer.split("\n");
      buffer = parts.pop() ?? "";
      lines.push(...parts);
    });
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    lines,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("Harbor configurations API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let oci: OciClient;

  const put = (body: unknown, auth?: Credentials | null) =>
    api.call("PUT", "/configurations", { body, ...(auth !== undefined && { auth }) });
  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    oci = new OciClient(registry.url);
    await api.createUser(USER.username, USER.password);
  });
  afterAll(() => registry?.stop());

  it("answers every setting as {value, editable}, with Harbor's defaults", async () => {
    const reply = await api.get("/configurations");
    expect(reply.status).toBe(200);
    const body = reply.json as Record<string, ConfigItem>;
    expect(body["auth_mode"]).toEqual({ value: "db_auth", editable: false });
    expect(body["robot_name_prefix"]).toEqual({ value: "robot$", editable: true });
    expect(body["project_creation_restriction"]).toEqual({ value: "everyone", editable: true });
    expect(body["read_only"]).toEqual({ value: false, editable: true });
    expect(body["quota_per_project_enable"]).toEqual({ value: true, editable: true });
    expect(body["storage_per_project"]).toEqual({ value: -1, editable: true });
    expect(body["robot_token_duration"]).toEqual({ value: 30, editable: true });
    expect(body["token_expiration"]).toEqual({ value: 5, editable: true });
    expect(body["audit_log_forward_endpoint"]).toEqual({ value: "", editable: true });
    expect(body["skip_audit_log_database"]).toEqual({ value: false, editable: true });
    expect(body["self_registration"]).toEqual({ value: false, editable: false });
    for (const item of Object.values(body)) expect(Object.keys(item).sort()).toEqual(["editable", "value"]);
  });

  it("is the administrator's: 401 anonymous, 403 for a user", async () => {
    expectError(await api.get("/configurations", null), 401, "UNAUTHORIZED");
    expectError(await api.get("/configurations", USER), 403, "FORBIDDEN");
    expectError(await put({ read_only: true }, USER), 403, "FORBIDDEN");
  });

  it("lets a system robot with the configuration permission read it", async () => {
    const robot = await api.createRobot({
      name: "config-reader",
      level: "system",
      duration: -1,
      permissions: [{ kind: "system", namespace: "/", access: [{ resource: "configuration", action: "read" }] }],
    });
    const auth = { username: robot.name, password: robot.secret };
    expect((await api.get("/configurations", auth)).status).toBe(200);
    expectError(await put({ read_only: false }, auth), 403, "FORBIDDEN");
  });

  it("refuses bad values naming the key, and ignores keys Harbor has that do not apply", async () => {
    expectError(await put({ read_only: "yes" }), 400, "BAD_REQUEST", /read_only/);
    expectError(await put({ robot_token_duration: 0 }), 400, "BAD_REQUEST", /robot_token_duration/);
    expectError(
      await put({ project_creation_restriction: "nobody" }),
      400,
      "BAD_REQUEST",
      /project_creation_restriction/,
    );
    expectError(await put({ storage_per_project: -5 }), 400, "BAD_REQUEST", /storage_per_project/);
    expectError(await put({ robot_name_prefix: "a b" }), 400, "BAD_REQUEST", /robot_name_prefix/);
    expectError(await put({ auth_mode: "ldap_auth" }), 400, "BAD_REQUEST", /auth_mode/);
    expectError(await put({ ldap_url: "ldaps://ldap.example" }), 400, "BAD_REQUEST", /ldap_url/);
    expectError(await put({ disabled_audit_log_event_types: "pull_artifact,dance" }), 400, "BAD_REQUEST", /dance/);
    expectError(await put({}), 400, "BAD_REQUEST", /Missing configuration item/);
    expectError(await put(null), 400, "BAD_REQUEST", /Missing configuration item/);
    // What the Terraform provider's older config body always carries: blank back-end keys, the
    // current auth mode, and keys this server does not know.
    const lenient = await put({
      auth_mode: "db_auth",
      oidc_verify_cert: false,
      oidc_auto_onboard: false,
      ldap_url: "",
      self_registration: false,
      a_key_from_a_later_harbor: 42,
    });
    expect(lenient.status, lenient.text).toBe(200);
    expect(lenient.text).toBe("");
  });

  it("read-only mode refuses every change, in each API's protocol, and lets the administrator end it", async () => {
    await oci.pushImage("library/before", "v1");
    expect((await put({ read_only: true })).status).toBe(200);
    expect(((await api.get("/systeminfo")).json as { read_only: boolean }).read_only).toBe(true);

    const push = await oci.request("POST", "/v2/library/app/blobs/uploads/");
    expect(push.status).toBe(403);
    const pushBody = (await push.json()) as { errors: Array<{ code: string; message: string }> };
    expect(pushBody.errors[0]?.code).toBe("DENIED");
    expect(pushBody.errors[0]?.message).toMatch(READ_ONLY);
    const remove = await oci.request("DELETE", "/v2/library/before/manifests/v1");
    expect(remove.status).toBe(403);
    expectError(await api.call("POST", "/projects", { body: { project_name: "frozen" } }), 403, "DENIED", READ_ONLY);
    expectError(await api.call("DELETE", "/users/1"), 403, "DENIED", READ_ONLY);
    // Reads and logins go on.
    expect((await oci.request("GET", "/v2/library/before/manifests/v1")).status).toBe(200);
    expect((await api.get("/projects")).status).toBe(200);
    expect(
      (await oci.request("GET", "/service/token?service=airlock&scope=repository:library/before:pull")).status,
    ).toBe(200);

    expect((await put({ read_only: false })).status).toBe(200);
    await oci.pushImage("library/after", "v1");
  });

  it("project_creation_restriction adminonly keeps project creation to the administrator", async () => {
    expect((await put({ project_creation_restriction: "adminonly" })).status).toBe(200);
    expectError(
      await api.call("POST", "/projects", { auth: USER, body: { project_name: "user-made" } }),
      403,
      "FORBIDDEN",
      /system admin/,
    );
    expectCreatedEmpty(
      await api.call("POST", "/projects", { body: { project_name: "admin-made" } }),
      "/api/v2.0/projects/",
    );
    expect(
      ((await api.get("/systeminfo")).json as { project_creation_restriction: string }).project_creation_restriction,
    ).toBe("adminonly");
    expect((await put({ project_creation_restriction: "everyone" })).status).toBe(200);
    expectCreatedEmpty(
      await api.call("POST", "/projects", { auth: USER, body: { project_name: "user-made" } }),
      "/api/v2.0/projects/",
    );
  });

  it("robot_name_prefix renames every robot at once, for the API and for logins", async () => {
    await api.createProject("prefixed", false);
    const robot = await api.createRobot({
      name: "ci",
      level: "project",
      duration: -1,
      permissions: projectPermissions("prefixed", [["repository", "pull"]]),
    });
    expect(robot.name).toBe("robot$prefixed+ci");
    try {
      expect((await put({ robot_name_prefix: "bot-" })).status).toBe(200);
      const renamed = (await api.get(`/robots/${robot.id}`)).json as { name: string };
      expect(renamed.name).toBe("bot-prefixed+ci");
      const asNew = new OciClient(registry.url, { username: "bot-prefixed+ci", password: robot.secret });
      expect((await asNew.request("GET", "/v2/")).status).toBe(200);
      const asOld = new OciClient(registry.url, { username: "robot$prefixed+ci", password: robot.secret });
      expect((await asOld.request("GET", "/v2/")).status).toBe(401);
      // A robot created now is named with the new prefix.
      const another = await api.createRobot({
        name: "cd",
        level: "project",
        duration: -1,
        permissions: projectPermissions("prefixed", [["repository", "pull"]]),
      });
      expect(another.name).toBe("bot-prefixed+cd");
    } finally {
      expect((await put({ robot_name_prefix: "robot$" })).status).toBe(200);
    }
    const asDefault = new OciClient(registry.url, { username: "robot$prefixed+ci", password: robot.secret });
    expect((await asDefault.request("GET", "/v2/")).status).toBe(200);
  });

  it("robot_token_duration is the lifetime of a robot created with duration 0", async () => {
    expect((await put({ robot_token_duration: 7 })).status).toBe(200);
    const robot = await api.createRobot({
      name: "weekly",
      level: "system",
      duration: 0,
      permissions: [{ kind: "project", namespace: "*", access: [{ resource: "repository", action: "pull" }] }],
    });
    const expected = Math.floor(Date.now() / 1000) + 7 * 86_400;
    expect(Math.abs(robot.expires_at - expected)).toBeLessThan(120);
  });

  it("token_expiration is the lifetime of a registry token, in minutes", async () => {
    expect((await put({ token_expiration: 2 })).status).toBe(200);
    const reply = await oci.request("GET", "/service/token?service=airlock&scope=repository:library/after:pull");
    expect(((await reply.json()) as { expires_in: number }).expires_in).toBe(120);
  });

  it("storage_per_project is the quota of new projects, and quotas go when quota_per_project_enable is off", async () => {
    expect((await put({ storage_per_project: 3000 })).status).toBe(200);
    const small = await api.createProject("small-default", false);
    const quota = async (id: number): Promise<number> =>
      ((await api.get(`/quotas/${id}`)).json as { hard: { storage: number } }).hard.storage;
    expect(await quota(small)).toBe(3000);
    // The administrator's own limit stands; a user's is replaced by the default, as in Harbor.
    const admins = expectCreatedEmpty(
      await api.call("POST", "/projects", { body: { project_name: "admin-sized", storage_limit: 9000 } }),
      "/api/v2.0/projects/",
    );
    expect(await quota(admins)).toBe(9000);
    const users = expectCreatedEmpty(
      await api.call("POST", "/projects", { auth: USER, body: { project_name: "user-sized", storage_limit: 9000 } }),
      "/api/v2.0/projects/",
    );
    expect(await quota(users)).toBe(3000);
    // Over the quota: refused; with quotas off: accepted.
    const big = "q".repeat(4000);
    await expect(oci.pushImage("small-default/app", "v1", { layer: big })).rejects.toThrow(/exceed|DENIED|403/);
    expect((await put({ quota_per_project_enable: false })).status).toBe(200);
    await oci.pushImage("small-default/app", "v1", { layer: big });
    const unlimited = await api.createProject("no-quota", false);
    expect(await quota(unlimited)).toBe(-1);
    expect((await put({ quota_per_project_enable: true, storage_per_project: -1 })).status).toBe(200);
  });

  describe("the audit log settings", () => {
    const auditEntries = async (): Promise<Array<{ resource: string; operation: string; resource_type: string }>> =>
      (await api.get("/auditlog-exts?page=0&page_size=0")).json as Array<{
        resource: string;
        operation: string;
        resource_type: string;
      }>;

    it("drops disabled event types and records the configuration change itself", async () => {
      expect((await put({ disabled_audit_log_event_types: "pull_artifact" })).status).toBe(200);
      await oci.pushImage("library/audited", "v1");
      expect((await oci.request("GET", "/v2/library/audited/manifests/v1")).status).toBe(200);
      const entries = await eventually(auditEntries, (list) =>
        list.some((e) => e.resource.startsWith("library/audited") && e.operation === "create"),
      );
      const mine = entries.filter((e) => e.resource.startsWith("library/audited"));
      expect(mine.map((e) => e.operation)).toEqual(["create"]);
      expect(entries.some((e) => e.resource_type === "configure" && e.operation === "update")).toBe(true);
      expect((await put({ disabled_audit_log_event_types: "" })).status).toBe(200);
    });

    it("forwards entries to a syslog endpoint, and may skip the database copy", async () => {
      expectError(await put({ skip_audit_log_database: true }), 400, "BAD_REQUEST", /forward endpoint/);
      const unused = net.createServer();
      await new Promise<void>((resolve) => unused.listen(0, "127.0.0.1", resolve));
      const closedPort = (unused.address() as net.AddressInfo).port;
      await new Promise<void>((resolve) => unused.close(() => resolve()));
      expectError(
        await put({ audit_log_forward_endpoint: `127.0.0.1:${closedPort}` }),
        400,
        "BAD_REQUEST",
        /could not connect/,
      );

      const syslog = await syslogServer();
      try {
        expect(
          (await put({ audit_log_forward_endpoint: `127.0.0.1:${syslog.port}`, skip_audit_log_database: true })).status,
        ).toBe(200);
        await oci.pushImage("library/forwarded", "v1");
        await eventually(
          async () => syslog.lines.filter((line) => line.includes("library/forwarded")),
          (lines) => lines.length > 0,
        );
        const line = syslog.lines.find((l) => l.includes("library/forwarded")) ?? "";
        // Go's syslog format, as Harbor sends it: <PRI>TIMESTAMP HOST TAG[PID]: MESSAGE.
        expect(line).toMatch(/^<14>\d{4}-\d{2}-\d{2}T\S+ \S+ audit\[\d+\]: \{/);
        const message = JSON.parse(line.slice(line.indexOf("{"))) as Record<string, unknown>;
        expect(message).toMatchObject({ operator: "admin", event_type: "create_artifact", resource_type: "artifact" });
        // Not in the database.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        expect((await auditEntries()).some((e) => e.resource.startsWith("library/forwarded"))).toBe(false);
      } finally {
        expect((await put({ skip_audit_log_database: false, audit_log_forward_endpoint: "" })).status).toBe(200);
        await syslog.close();
      }
    });
  });
});
