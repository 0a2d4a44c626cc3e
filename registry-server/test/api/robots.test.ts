// Contract tests of Harbor's robot accounts API (/api/v2.0/robots…) against Harbor's
// `RobotCreate`, `RobotCreated`, `Robot` and `RobotSec`, and of what the secrets do on /v2.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { OciClient } from "../distribution/oci-client.ts";
import {
  expectError,
  HarborClient,
  links,
  projectPermissions,
  RFC3339,
  type Credentials,
  type RobotCreated,
} from "./harbor-client.ts";

interface RobotJson {
  id: number;
  name: string;
  description: string;
  level: string;
  duration: number;
  editable: boolean;
  disable: boolean;
  expires_at: number;
  permissions: Array<{ kind: string; namespace: string; access: Array<{ resource: string; action: string }> }>;
  creation_time: string;
  update_time: string;
}

const PADMIN: Credentials = { username: "padmin", password: "Padmin1password" };
const DEV: Credentials = { username: "dev", password: "Dev1password" };
const GUEST: Credentials = { username: "guest", password: "Guest1password" };
const LIMITED: Credentials = { username: "limited", password: "Limited1password" };
const PULL = [["repository", "pull"]] as const;
const PULL_PUSH = [
  ["repository", "pull"],
  ["repository", "push"],
] as const;
const SECRET_RULE = /^(?=.*[A-Z])(?=.*[a-z])(?=.*\d).{8,128}$/;

describe("Harbor robot accounts API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let projectId: number;

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    await api.createUser(PADMIN.username, PADMIN.password);
    await api.createUser(DEV.username, DEV.password);
    await api.createUser(GUEST.username, GUEST.password);
    await api.createUser(LIMITED.username, LIMITED.password);
    projectId = await api.createProject("robo", false);
    await api.createProject("other", false);
    await api.addMember("robo", PADMIN.username, 1);
    await api.addMember("robo", DEV.username, 2);
    await api.addMember("robo", GUEST.username, 3);
    await api.addMember("robo", LIMITED.username, 5);
    await new OciClient(registry.url).pushImage("robo/app", "v1");
  });
  afterAll(() => registry?.stop());

  /** GET /v2/ with a robot's basic credentials: 200 when they work, 401 when not. */
  async function v2Status(name: string, secret: string): Promise<number> {
    return (await api.get("/v2/", { username: name, password: secret })).status;
  }

  function projectRobot(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { name, level: "project", duration: -1, permissions: projectPermissions("robo", PULL), ...extra };
  }

  describe("create", () => {
    it("names a project robot robot$<project>+<name> and answers 201 with RobotCreated and Location", async () => {
      const reply = await api.call("POST", "/robots", { body: projectRobot("ci", { description: "the CI" }) });
      expect(reply.status, reply.text).toBe(201);
      expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
      const robot = reply.json as RobotCreated;
      expect(Object.keys(robot).sort()).toEqual(["creation_time", "expires_at", "id", "name", "secret"]);
      expect(reply.headers.get("location")).toBe(`/api/v2.0/robots/${robot.id}`);
      expect(Number.isInteger(robot.id)).toBe(true);
      expect(robot.name).toBe("robot$robo+ci");
      expect(robot.secret).toMatch(SECRET_RULE);
      expect(robot.creation_time).toMatch(RFC3339);
      expect(robot.expires_at).toBe(-1);
      expect(await v2Status(robot.name, robot.secret)).toBe(200);
    });

    it("computes expires_at from duration in days (0: Harbor's default of 30)", async () => {
      const week = await api.createRobot(projectRobot("week", { duration: 7 }));
      const created = Math.floor(Date.parse(week.creation_time) / 1000);
      expect(week.expires_at).toBe(created + 7 * 86_400);
      const defaulted = await api.createRobot(projectRobot("default-life", { duration: 0 }));
      expect(defaulted.expires_at).toBe(Math.floor(Date.parse(defaulted.creation_time) / 1000) + 30 * 86_400);
    });

    it("takes a chosen secret that meets the rule, and refuses one that breaks it with 400", async () => {
      const chosen = await api.createRobot(projectRobot("chosen", { secret: "Chosen1Secret" }));
      expect(chosen.secret).toBe("Chosen1Secret");
      expect(await v2Status(chosen.name, "Chosen1Secret")).toBe(200);
      for (const secret of ["short1A", "nouppercase1", "NOLOWERCASE1", "NoDigitsAtAll"]) {
        expectError(
          await api.call("POST", "/robots", { body: projectRobot("weak", { secret }) }),
          400,
          "BAD_REQUEST",
          /secret/,
        );
      }
      expect((await api.get(`/robots?q=${encodeURIComponent("name=~weak")}`)).json).toEqual([]);
    });

    it("creates a system robot for the administrator only", async () => {
      const body = {
        name: "sysbot",
        level: "system",
        duration: -1,
        permissions: projectPermissions("*", PULL),
      };
      expectError(await api.call("POST", "/robots", { auth: PADMIN, body }), 403, "FORBIDDEN");
      expectError(await api.call("POST", "/robots", { auth: null, body }), 401, "UNAUTHORIZED");
      const robot = await api.createRobot(body);
      expect(robot.name).toBe("robot$sysbot");
      expect(await v2Status(robot.name, robot.secret)).toBe(200);
    });

    it("lets the project's admin create its robots, not a developer or another project's admin", async () => {
      const robot = await api.createRobot(projectRobot("by-padmin"), PADMIN);
      expect(robot.name).toBe("robot$robo+by-padmin");
      expectError(await api.call("POST", "/robots", { auth: DEV, body: projectRobot("by-dev") }), 403, "FORBIDDEN");
      expectError(
        await api.call("POST", "/robots", {
          auth: PADMIN,
          body: { ...projectRobot("elsewhere"), permissions: projectPermissions("other", PULL) },
        }),
        403,
        "FORBIDDEN",
      );
    });

    it("refuses invalid bodies with 400 naming the field, unknown projects with 404, taken names with 409", async () => {
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [projectRobot("Bad Name"), /name/],
        [{ ...projectRobot("nolevel"), level: "galaxy" }, /level/],
        [{ ...projectRobot("noperms"), permissions: [] }, /permissions/],
        [{ ...projectRobot("badduration"), duration: -5 }, /duration/],
        [{ ...projectRobot("badkind"), permissions: [{ kind: "cluster", namespace: "robo", access: [] }] }, /kind/],
      ];
      for (const [body, field] of cases) {
        expectError(await api.call("POST", "/robots", { body }), 400, "BAD_REQUEST", field);
      }
      expectError(
        await api.call("POST", "/robots", {
          body: { ...projectRobot("lost"), permissions: projectPermissions("no-such-project", PULL) },
        }),
        404,
        "NOT_FOUND",
      );
      await api.createRobot(projectRobot("twice"));
      expectError(await api.call("POST", "/robots", { body: projectRobot("twice") }), 409, "CONFLICT");
    });
  });

  describe("list and get", () => {
    it("lists a project's robots with q=Level=project,ProjectID=<id>, X-Total-Count and Link", async () => {
      const query = `q=${encodeURIComponent(`Level=project,ProjectID=${projectId}`)}`;
      const reply = await api.get(`/robots?${query}&page_size=100`);
      expect(reply.status).toBe(200);
      const robots = reply.json as RobotJson[];
      expect(robots.length).toBeGreaterThanOrEqual(3);
      expect(Number(reply.headers.get("x-total-count"))).toBe(robots.length);
      for (const robot of robots) {
        expect(robot.level).toBe("project");
        expect(robot.name).toMatch(/^robot\$robo\+/);
        expect(robot).not.toHaveProperty("secret");
      }
      expect(reply.text).not.toMatch(/secret/i);

      const first = await api.get(`/robots?${query}&page=1&page_size=1`);
      expect(first.json as unknown[]).toHaveLength(1);
      expect(links(first)["next"]).toBe(
        `/api/v2.0/robots?q=${encodeURIComponent(`Level=project,ProjectID=${projectId}`)}&page=2&page_size=1`,
      );

      // Every project role reads the project's robots, as Harbor's RBAC has it, but the limited guest.
      for (const member of [PADMIN, DEV, GUEST]) {
        const listed = await api.get(`/robots?${query}&page_size=100`, member);
        expect(listed.status, member.username).toBe(200);
        expect((listed.json as RobotJson[]).length).toBe(robots.length);
        expect(listed.text).not.toMatch(/secret/i);
      }
      expectError(await api.get(`/robots?${query}`, LIMITED), 403, "FORBIDDEN");
      expectError(await api.get(`/robots?${query}`, null), 401, "UNAUTHORIZED");
      expectError(await api.get(`/robots?q=${encodeURIComponent("ProjectID=999999")}`), 404, "NOT_FOUND");
    });

    it("lists every robot for the administrator only, filtered by Level", async () => {
      const all = (await api.get("/robots?page_size=100")).json as RobotJson[];
      expect(all.map((r) => r.name)).toEqual(expect.arrayContaining(["robot$robo+ci", "robot$sysbot"]));
      const system = (await api.get(`/robots?q=${encodeURIComponent("Level=system")}&page_size=100`))
        .json as RobotJson[];
      expect(system.map((r) => r.name)).toEqual(["robot$sysbot"]);
      expectError(await api.get("/robots", PADMIN), 403, "FORBIDDEN");
    });

    it("gets a robot as Robot, never with its secret", async () => {
      const created = await api.createRobot(projectRobot("shown", { description: "visible", duration: 3 }));
      const reply = await api.get(`/robots/${created.id}`);
      expect(reply.status).toBe(200);
      const robot = reply.json as RobotJson;
      expect(robot).toEqual({
        id: created.id,
        name: "robot$robo+shown",
        description: "visible",
        level: "project",
        duration: 3,
        editable: true,
        disable: false,
        expires_at: created.expires_at,
        permissions: [{ kind: "project", namespace: "robo", access: [{ resource: "repository", action: "pull" }] }],
        creation_time: created.creation_time,
        update_time: expect.stringMatching(RFC3339) as unknown,
      });
      expect(reply.text).not.toContain(created.secret);
      expect(robot).not.toHaveProperty("secret");

      expect((await api.get(`/robots/${created.id}`, PADMIN)).status).toBe(200);
      expect((await api.get(`/robots/${created.id}`, GUEST)).json).toEqual(robot);
      expectError(await api.get(`/robots/${created.id}`, LIMITED), 403, "FORBIDDEN");
      // Reading is not managing: a guest or developer neither refreshes nor deletes it.
      expectError(await api.call("PATCH", `/robots/${created.id}`, { body: {}, auth: GUEST }), 403, "FORBIDDEN");
      expectError(await api.call("DELETE", `/robots/${created.id}`, { auth: DEV }), 403, "FORBIDDEN");
      expectError(await api.get(`/robots/${created.id}`, null), 401, "UNAUTHORIZED");
      expectError(await api.get("/robots/999999"), 404, "NOT_FOUND");
    });
  });

  describe("update", () => {
    it("disables and re-enables a robot, which takes effect on /v2 at once", async () => {
      const robot = await api.createRobot(projectRobot("switch"));
      expect(await v2Status(robot.name, robot.secret)).toBe(200);

      const reply = await api.call("PUT", `/robots/${robot.id}`, { body: { disable: true } });
      expect(reply.status).toBe(200);
      expect(reply.text).toBe("");
      expect(((await api.get(`/robots/${robot.id}`)).json as RobotJson).disable).toBe(true);
      expect(await v2Status(robot.name, robot.secret)).toBe(401);

      expect((await api.call("PUT", `/robots/${robot.id}`, { body: { disable: false } })).status).toBe(200);
      expect(await v2Status(robot.name, robot.secret)).toBe(200);
    });

    it("replaces permissions: a pull-only robot may push after the update", async () => {
      const robot = await api.createRobot(projectRobot("grows"));
      const client = new OciClient(registry.url, { username: robot.name, password: robot.secret });
      expect((await client.request("GET", "/v2/robo/app/manifests/v1")).status).toBe(200);
      expect((await client.request("POST", "/v2/robo/app/blobs/uploads/")).status).toBe(403);

      const reply = await api.call("PUT", `/robots/${robot.id}`, {
        body: { permissions: projectPermissions("robo", PULL_PUSH) },
      });
      expect(reply.status).toBe(200);
      const updated = (await api.get(`/robots/${robot.id}`)).json as RobotJson;
      expect(updated.permissions[0]?.access.map((a) => a.action)).toEqual(["pull", "push"]);
      expect((await client.request("POST", "/v2/robo/app/blobs/uploads/")).status).toBe(202);

      expectError(
        await api.call("PUT", `/robots/${robot.id}`, { body: { permissions: projectPermissions("other", PULL) } }),
        400,
        "BAD_REQUEST",
      );
    });

    it("recomputes expires_at from the creation time when duration changes", async () => {
      const robot = await api.createRobot(projectRobot("aging"));
      expect(robot.expires_at).toBe(-1);
      const created = Math.floor(Date.parse(robot.creation_time) / 1000);
      expect((await api.call("PUT", `/robots/${robot.id}`, { body: { duration: 10 } })).status).toBe(200);
      const updated = (await api.get(`/robots/${robot.id}`)).json as RobotJson;
      expect(updated.duration).toBe(10);
      expect(updated.expires_at).toBe(created + 10 * 86_400);
      expect((await api.call("PUT", `/robots/${robot.id}`, { body: { duration: -1 } })).status).toBe(200);
      expect(((await api.get(`/robots/${robot.id}`)).json as RobotJson).expires_at).toBe(-1);
    });

    it("refuses renames, level changes, bad values, non-managers and unknown robots", async () => {
      const robot = await api.createRobot(projectRobot("fixed"));
      const put = (body: unknown, auth?: Credentials | null) =>
        api.call("PUT", `/robots/${robot.id}`, { body, ...(auth !== undefined && { auth }) });
      expectError(await put({ name: "robot$robo+renamed" }), 400, "BAD_REQUEST", /rename/);
      expectError(await put({ level: "system" }), 400, "BAD_REQUEST", /level/);
      expectError(await put({ duration: -7 }), 400, "BAD_REQUEST", /duration/);
      expectError(await put({ disable: "yes" }), 400, "BAD_REQUEST", /disable/);
      expectError(await put({ disable: true }, DEV), 403, "FORBIDDEN");
      expectError(await put({ disable: true }, null), 401, "UNAUTHORIZED");
      expect(((await api.get(`/robots/${robot.id}`)).json as RobotJson).disable).toBe(false);
      expectError(await api.call("PUT", "/robots/999999", { body: { disable: true } }), 404, "NOT_FOUND");
      // The robot's full name given back unchanged is fine, as Harbor's UI sends the whole Robot.
      expect((await put({ name: robot.name, level: "project", description: "same" })).status).toBe(200);
    });
  });

  describe("refresh the secret (PATCH)", () => {
    it("returns a new secret; the old one stops working at once", async () => {
      const robot = await api.createRobot(projectRobot("rotate"));
      // Used once so that the credentials are in the verified cache.
      expect(await v2Status(robot.name, robot.secret)).toBe(200);
      expect(await v2Status(robot.name, robot.secret)).toBe(200);

      const reply = await api.call("PATCH", `/robots/${robot.id}`, { body: {} });
      expect(reply.status).toBe(200);
      const { secret } = reply.json as { secret: string };
      expect(Object.keys(reply.json as object)).toEqual(["secret"]);
      expect(secret).toMatch(SECRET_RULE);
      expect(secret).not.toBe(robot.secret);
      expect(await v2Status(robot.name, robot.secret)).toBe(401);
      expect(await v2Status(robot.name, secret)).toBe(200);
    });

    it("sets a chosen secret that meets the rule and refuses one that breaks it", async () => {
      const robot = await api.createRobot(projectRobot("rotate-chosen"));
      expectError(
        await api.call("PATCH", `/robots/${robot.id}`, { body: { secret: "weak" } }),
        400,
        "BAD_REQUEST",
        /secret/,
      );
      expect(await v2Status(robot.name, robot.secret)).toBe(200);
      const reply = await api.call("PATCH", `/robots/${robot.id}`, {
        auth: PADMIN,
        body: { secret: "Rotated1Secret" },
      });
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual({ secret: "Rotated1Secret" });
      expect(await v2Status(robot.name, "Rotated1Secret")).toBe(200);
      expectError(await api.call("PATCH", `/robots/${robot.id}`, { auth: DEV, body: {} }), 403, "FORBIDDEN");
      expectError(await api.call("PATCH", "/robots/999999", { body: {} }), 404, "NOT_FOUND");
    });
  });

  describe("delete", () => {
    it("deletes a robot, whose secret then fails", async () => {
      const robot = await api.createRobot(projectRobot("doomed"));
      expect(await v2Status(robot.name, robot.secret)).toBe(200);
      expectError(await api.call("DELETE", `/robots/${robot.id}`, { auth: DEV }), 403, "FORBIDDEN");
      expect((await api.get(`/robots/${robot.id}`)).status).toBe(200);

      const reply = await api.call("DELETE", `/robots/${robot.id}`, { auth: PADMIN });
      expect(reply.status).toBe(200);
      expect(reply.text).toBe("");
      expectError(await api.get(`/robots/${robot.id}`), 404, "NOT_FOUND");
      expect(await v2Status(robot.name, robot.secret)).toBe(401);
      expectError(await api.call("DELETE", `/robots/${robot.id}`), 404, "NOT_FOUND");
    });

    it("lets only the administrator delete a system robot", async () => {
      const robot = await api.createRobot({
        name: "sys-doomed",
        level: "system",
        permissions: projectPermissions("robo", PULL),
      });
      expectError(await api.call("DELETE", `/robots/${robot.id}`, { auth: PADMIN }), 403, "FORBIDDEN");
      expect((await api.call("DELETE", `/robots/${robot.id}`)).status).toBe(200);
      expectError(await api.get(`/robots/${robot.id}`), 404, "NOT_FOUND");
    });
  });
});
