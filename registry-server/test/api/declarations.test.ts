// Beyond Harbor: /api/v2.0/declarations, which Pulumi stack declared an object. Over real HTTP
// against a server started here: the upsert (201 then 200) and the listing with Harbor's paging,
// the checks on kind, key, stack and resource (400), objects that do not exist (404), who may
// read and write (anonymous, an outsider, a guest, a project administrator, the administrator),
// and a project's declarations going with it.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES } from "../../src/metadata/identity-store.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { expectError, HarborClient, links, projectPermissions, type Credentials } from "./harbor-client.ts";

const GUEST = { username: "gwen", password: "Guest-pass-1" };
const OWNER = { username: "olga", password: "Owner-pass-1" };
const OUTSIDER = { username: "otto", password: "Outsider-pass-1" };
const STACK = "acme/airlock/prod";
const UPDATE_TIME: unknown = expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
const urn = (type: string, name: string) => `urn:pulumi:prod::airlock::pulumi-nodejs:dynamic/registry:${type}::${name}`;

describe("declarations API", () => {
  let registry: TestRegistry;
  let api: HarborClient;

  const put = (kind: string, key: string, auth?: Credentials | null, body?: unknown) =>
    api.call("PUT", `/declarations/${kind}/${encodeURIComponent(key)}`, {
      ...(auth !== undefined && { auth }),
      body: body ?? { stack: STACK, resource: urn(kind, key) },
    });
  const list = async (query = "", auth?: Credentials | null) => {
    const reply = await api.call("GET", `/declarations${query}`, { ...(auth !== undefined && { auth }) });
    expect(reply.status, reply.text).toBe(200);
    return reply;
  };
  const keysOf = (reply: { json: unknown }) =>
    (reply.json as Array<{ kind: string; key: string }>).map((d) => `${d.kind}:${d.key}`);

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    await api.createProject("team", false);
    await api.createProject("open", true);
    await api.createProject("hidden", false);
    for (const user of [GUEST, OWNER, OUTSIDER]) await api.createUser(user.username, user.password);
    await api.addMember("team", GUEST.username, ROLES.guest);
    await api.addMember("team", OWNER.username, ROLES.projectAdmin);
    await api.createRobot({
      name: "ci",
      level: "project",
      duration: -1,
      permissions: projectPermissions("team", [["repository", "pull"]]),
    });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("records a declaration (201, then 200 when replaced) and lists it in Harbor's shape", async () => {
    const first = await put("project", "team");
    expect(first.status, first.text).toBe(201);
    expect(first.headers.get("location")).toBe("/api/v2.0/declarations/project/team");
    const again = await put("project", "team", undefined, { stack: "acme/airlock/dev", resource: urn("Project", "t") });
    expect(again.status, again.text).toBe(200);
    const listed = await list("?kind=project&key=team");
    expect(listed.headers.get("x-total-count")).toBe("1");
    expect(listed.json).toEqual([
      {
        kind: "project",
        key: "team",
        stack: "acme/airlock/dev",
        resource: urn("Project", "t"),
        update_time: UPDATE_TIME,
      },
    ]);
    expect((await list("?kind=project&key=nothing")).json).toEqual([]);
  });

  it("names objects inside projects by <project>/<name>, the robot by its full name", async () => {
    expect((await put("member", `team/${GUEST.username}`)).status).toBe(201);
    // The key's slash may also come unencoded.
    const raw = await api.call("PUT", `/declarations/member/team/${OWNER.username}`, {
      body: { stack: STACK, resource: urn("ProjectMember", "owner") },
    });
    expect(raw.status, raw.text).toBe(201);
    expect((await put("robot", "robot$team+ci")).status).toBe(201);
    expect((await put("user", GUEST.username)).status).toBe(201);
    expect((await put("schedule", "gc")).status).toBe(201);
    expect((await put("cve_allowlist", "system")).status).toBe(201);
    expect(keysOf(await list("?kind=member&page_size=0"))).toEqual([
      `member:team/${GUEST.username}`,
      `member:team/${OWNER.username}`,
    ]);
  });

  it("pages the listing as Harbor does", async () => {
    const first = await list("?page=1&page_size=2");
    expect(first.headers.get("x-total-count")).toBe("7");
    expect(keysOf(first)).toEqual(["cve_allowlist:system", `member:team/${GUEST.username}`]);
    expect(links(first)["next"]).toBe("/api/v2.0/declarations?page=2&page_size=2");
    const second = await list("?page=2&page_size=2");
    expect(keysOf(second)).toEqual([`member:team/${OWNER.username}`, "project:team"]);
    expect(links(second)["prev"]).toBe("/api/v2.0/declarations?page=1&page_size=2");
  });

  it("refuses an unknown kind, a malformed key, stack or resource with Harbor's 400", async () => {
    expectError(await put("bucket", "team"), 400, "BAD_REQUEST", /unknown declaration kind "bucket"/);
    expectError(await api.call("GET", "/declarations?kind=bucket"), 400, "BAD_REQUEST", /"bucket"/);
    expectError(await put("member", "team"), 400, "BAD_REQUEST", /<project>\/<user name>/);
    expectError(await put("immutable_rule", "team/abc"), 400, "BAD_REQUEST", /rule id/);
    expectError(await put("project", "Team"), 400, "BAD_REQUEST", /project name/);
    expectError(await put("user", "x".repeat(601)), 400, "BAD_REQUEST", /600/);
    expectError(await put("user", "line\nbreak"), 400, "BAD_REQUEST", /printable/);
    expectError(await put("schedule", "nightly"), 400, "BAD_REQUEST", /gc or purge_audit/);
    expectError(await put("robot", "ci"), 400, "BAD_REQUEST", /full name/);
    for (const stack of ["prod", "acme/airlock", "acme/air lock/prod", `acme/airlock/${"s".repeat(101)}`, 7]) {
      expectError(await put("project", "team", undefined, { stack, resource: "a::b" }), 400, "BAD_REQUEST", /stack/);
    }
    for (const resource of ["no-separator", "a::b\nforged", `urn:pulumi:${"x".repeat(2048)}::y`, null]) {
      expectError(await put("project", "team", undefined, { stack: STACK, resource }), 400, "BAD_REQUEST", /resource/);
    }
    expectError(await api.call("PUT", "/declarations/project/team", { body: "[" }), 400, "BAD_REQUEST");
  });

  it("refuses a declaration of an object that does not exist (404)", async () => {
    expectError(await put("project", "ghost"), 404, "NOT_FOUND");
    expectError(await put("robot", "robot$team+ghost"), 404, "NOT_FOUND", /robot/);
    expectError(await put("robot", "robot$ghost"), 404, "NOT_FOUND", /robot/);
    expectError(await put("registry", "ghost"), 404, "NOT_FOUND", /registry ghost/);
    expectError(await put("user", "ghost"), 404, "NOT_FOUND", /user ghost/);
    expectError(await put("member", "team/ghost"), 404, "NOT_FOUND");
    expectError(await put("member", `team/${OUTSIDER.username}`), 404, "NOT_FOUND");
    expectError(await put("retention", "hidden"), 404, "NOT_FOUND");
    expectError(await put("immutable_rule", "team/12345"), 404, "NOT_FOUND");
    expectError(await put("webhook_policy", "team/ghost"), 404, "NOT_FOUND");
    expectError(await put("scanner", "ghost"), 404, "NOT_FOUND");
    expectError(await put("replication_policy", "ghost"), 404, "NOT_FOUND");
    expect(keysOf(await list("?key=ghost"))).toEqual([]);
  });

  it("shows each caller what they may see: projects by visibility, system objects to the administrator", async () => {
    expect((await put("project", "open")).status).toBe(201);
    expect((await put("project", "hidden")).status).toBe(201);
    const projectKinds = [
      "member:team/gwen",
      "member:team/olga",
      "project:open",
      "project:team",
      "robot:robot$team+ci",
    ];
    expect(keysOf(await list("?page_size=0", GUEST))).toEqual(projectKinds);
    expect(keysOf(await list("?page_size=0", OWNER))).toEqual(projectKinds);
    expect(keysOf(await list("?page_size=0", OUTSIDER))).toEqual(["project:open"]);
    expect(keysOf(await list("?page_size=0", null))).toEqual(["project:open"]);
    expect(keysOf(await list("?kind=user", GUEST))).toEqual([]);
    expect((await list("?kind=user", GUEST)).headers.get("x-total-count")).toBe("0");
    expect(keysOf(await list("?kind=user"))).toEqual(["user:gwen"]);
    expect(keysOf(await list("?kind=project&page_size=0"))).toEqual(["project:hidden", "project:open", "project:team"]);
  });

  it("lets the project's administrators write its declarations, and only the administrator system ones", async () => {
    expectError(await put("project", "team", GUEST), 403, "FORBIDDEN");
    expectError(await put("project", "team", null), 401, "UNAUTHORIZED");
    // A project the caller cannot see is answered as a missing one.
    expectError(await put("project", "hidden", OUTSIDER), 404, "NOT_FOUND");
    expectError(await put("project", "open", OUTSIDER), 403, "FORBIDDEN");
    expect((await put("project", "team", OWNER)).status).toBe(200);
    expectError(await put("user", GUEST.username, OWNER), 403, "FORBIDDEN");
    expectError(await put("cve_allowlist", "system", OWNER), 403, "FORBIDDEN");
    expectError(await api.call("DELETE", "/declarations/user/gwen", { auth: OWNER }), 403, "FORBIDDEN");
    expectError(
      await api.call("DELETE", `/declarations/member/${encodeURIComponent("team/gwen")}`, { auth: GUEST }),
      403,
      "FORBIDDEN",
    );
    const removed = await api.call("DELETE", `/declarations/member/${encodeURIComponent("team/gwen")}`, {
      auth: OWNER,
    });
    expect(removed.status, removed.text).toBe(200);
    expectError(
      await api.call("DELETE", `/declarations/member/${encodeURIComponent("team/gwen")}`, { auth: OWNER }),
      404,
      "NOT_FOUND",
    );
    expect((await api.call("DELETE", "/declarations/schedule/gc")).status).toBe(200);
    expectError(await api.call("DELETE", "/declarations/bucket/x"), 400, "BAD_REQUEST", /bucket/);
  });

  it("forgets a project's declarations when the project is deleted, and keeps the others", async () => {
    expect(keysOf(await list("?page_size=0"))).toEqual(
      expect.arrayContaining(["project:team", "member:team/olga", "robot:robot$team+ci"]),
    );
    const deleted = await api.call("DELETE", "/projects/team");
    expect(deleted.status, deleted.text).toBe(200);
    expect(keysOf(await list("?page_size=0"))).toEqual([
      "cve_allowlist:system",
      "project:hidden",
      "project:open",
      "user:gwen",
    ]);
    expectError(await put("project", "team"), 404, "NOT_FOUND");
    expectError(await api.call("DELETE", "/declarations/project/team"), 404, "NOT_FOUND");
  });
});
