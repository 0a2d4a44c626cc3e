// Contract tests of Harbor's projects API (/api/v2.0/projects…) against the shapes of Harbor's
// swagger: `Project`, `ProjectReq`, `ProjectSummary` and `Errors`.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { expectCreatedEmpty, expectError, HarborClient, links, RFC3339, type Credentials } from "./harbor-client.ts";

const ALICE: Credentials = { username: "alice", password: "Alice1password" };
const BOB: Credentials = { username: "bob", password: "Bob1password" };

interface ProjectJson {
  project_id: number;
  owner_id: number;
  name: string;
  creation_time: string;
  update_time: string;
  deleted: boolean;
  owner_name: string;
  togglable: boolean;
  current_user_role_id?: number;
  current_user_role_ids?: number[];
  repo_count: number;
  metadata: Record<string, unknown>;
}

describe("Harbor projects API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let adminId: number;
  let aliceId: number;
  /** Private, alice a developer in it. */
  let alphaId: number;
  /** Public. */
  let betaId: number;
  /** Private, alice not in it. */
  let gammaId: number;

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    aliceId = await api.createUser(ALICE.username, ALICE.password);
    await api.createUser(BOB.username, BOB.password);
    alphaId = await api.createProject("alpha", false);
    betaId = await api.createProject("beta", true);
    gammaId = await api.createProject("gamma", false);
    await api.addMember("alpha", ALICE.username, 2);
    adminId = ((await api.get("/users/current")).json as { user_id: number }).user_id;
  });
  afterAll(() => registry?.stop());

  describe("create and get", () => {
    it("answers 201 with an empty body and the new project's URL in Location", async () => {
      const reply = await api.call("POST", "/projects", {
        body: { project_name: "created", metadata: { public: "false", auto_scan: "true" }, storage_limit: 1024 },
      });
      const id = expectCreatedEmpty(reply, "/api/v2.0/projects/");
      expect(reply.headers.get("location")).toBe(`/api/v2.0/projects/${id}`);

      const got = await api.get(`/projects/${id}`);
      expect(got.status).toBe(200);
      expect(got.headers.get("content-type")).toMatch(/^application\/json/);
      const project = got.json as ProjectJson;
      expect(project.project_id).toBe(id);
      expect(Number.isInteger(project.project_id)).toBe(true);
      expect(project.name).toBe("created");
      expect(project.owner_id).toBe(adminId);
      expect(project.owner_name).toBe(ADMIN.username);
      expect(project.creation_time).toMatch(RFC3339);
      expect(project.update_time).toMatch(RFC3339);
      expect(Math.abs(Date.parse(project.creation_time) - Date.now())).toBeLessThan(60_000);
      expect(project.deleted).toBe(false);
      expect(typeof project.togglable).toBe("boolean");
      expect(project.repo_count).toBe(0);
      // Metadata values are strings, as Harbor sends them.
      expect(project.metadata).toEqual({ public: "false", auto_scan: "true" });
    });

    it("finds a project by name as well as by id", async () => {
      const byName = await api.get("/projects/beta");
      expect(byName.status).toBe(200);
      const project = byName.json as ProjectJson;
      expect(project.project_id).toBe(betaId);
      expect(project.metadata["public"]).toBe("true");
      expect(typeof project.metadata["public"]).toBe("string");
      expect(((await api.get(`/projects/${betaId}`)).json as ProjectJson).name).toBe("beta");
    });

    it("takes a numeric path segment as a name with X-Is-Resource-Name: true", async () => {
      expectCreatedEmpty(
        await api.call("POST", "/projects", { body: { project_name: "98765" } }),
        "/api/v2.0/projects/",
      );
      expectError(await api.get("/projects/98765"), 404, "NOT_FOUND");
      const byName = await api.get("/projects/98765", undefined, { "X-Is-Resource-Name": "true" });
      expect(byName.status).toBe(200);
      expect((byName.json as ProjectJson).name).toBe("98765");
    });

    it("maps the deprecated boolean `public` to metadata.public", async () => {
      const reply = await api.call("POST", "/projects", { body: { project_name: "legacy-public", public: true } });
      const id = expectCreatedEmpty(reply, "/api/v2.0/projects/");
      expect(((await api.get(`/projects/${id}`)).json as ProjectJson).metadata["public"]).toBe("true");
      expect((await api.get(`/projects/${id}`, null)).status).toBe(200);
    });

    it("lets a user create a project and makes them its project admin", async () => {
      const reply = await api.call("POST", "/projects", { auth: ALICE, body: { project_name: "alice-own" } });
      const id = expectCreatedEmpty(reply, "/api/v2.0/projects/");
      const project = (await api.get(`/projects/${id}`, ALICE)).json as ProjectJson;
      expect(project.owner_id).toBe(aliceId);
      expect(project.owner_name).toBe(ALICE.username);
      expect(project.current_user_role_id).toBe(1);
      expect(project.current_user_role_ids).toEqual([1]);
      expect(project.metadata["public"]).toBe("false");
    });

    it("refuses invalid bodies with 400 BAD_REQUEST naming the field", async () => {
      const cases: Array<[unknown, RegExp]> = [
        [{ project_name: "Upper_Case!" }, /project_name/],
        [{ project_name: "" }, /project_name/],
        [{ metadata: { public: "true" } }, /project_name/],
        [{ project_name: "typed", metadata: { public: true } }, /metadata\.public/],
        [{ project_name: "typed", metadata: { public: "yes" } }, /metadata\.public/],
        [{ project_name: "typed", storage_limit: "lots" }, /storage_limit/],
      ];
      for (const [body, field] of cases) {
        expectError(await api.call("POST", "/projects", { body }), 400, "BAD_REQUEST", field);
      }
      expectError(await api.call("POST", "/projects", { body: "{not json" }), 400, "BAD_REQUEST");
      expect((await api.call("HEAD", "/projects?project_name=typed")).status).toBe(404);
    });

    it("refuses a taken name with 409 CONFLICT and anonymous callers with 401", async () => {
      expectError(await api.call("POST", "/projects", { body: { project_name: "alpha" } }), 409, "CONFLICT");
      expectError(
        await api.call("POST", "/projects", { auth: null, body: { project_name: "anon" } }),
        401,
        "UNAUTHORIZED",
      );
      expectError(
        await api.call("POST", "/projects", {
          auth: { ...ALICE, password: "Wrong1password" },
          body: { project_name: "x" },
        }),
        401,
        "UNAUTHORIZED",
      );
    });

    it("answers 404 NOT_FOUND for an unknown project, by id and by name", async () => {
      expectError(await api.get("/projects/999999"), 404, "NOT_FOUND");
      expectError(await api.get("/projects/no-such-project"), 404, "NOT_FOUND");
    });

    it("hides a private project: 401 for anonymous callers, 403 for non-members", async () => {
      expectError(await api.get(`/projects/${alphaId}`, null), 401, "UNAUTHORIZED");
      expectError(await api.get(`/projects/${alphaId}`, BOB), 403, "FORBIDDEN");
      const asMember = await api.get(`/projects/${alphaId}`, ALICE);
      expect(asMember.status).toBe(200);
      expect((asMember.json as ProjectJson).current_user_role_id).toBe(2);
      expect((await api.get(`/projects/${betaId}`, null)).status).toBe(200);
    });
  });

  describe("HEAD /projects", () => {
    it("answers 200 when the name exists and 404 when not, with no body", async () => {
      const found = await api.call("HEAD", "/projects?project_name=alpha", { auth: null });
      expect(found.status).toBe(200);
      expect(found.text).toBe("");
      expect((await api.call("HEAD", "/projects?project_name=nope")).status).toBe(404);
    });

    it("answers 400 without project_name", async () => {
      expect((await api.call("HEAD", "/projects")).status).toBe(400);
    });
  });

  describe("list", () => {
    const names = (reply: { json: unknown }): string[] => (reply.json as ProjectJson[]).map((p) => p.name);

    it("shows anonymous callers the public projects only", async () => {
      const reply = await api.get("/projects?page_size=100", null);
      expect(reply.status).toBe(200);
      const projects = reply.json as ProjectJson[];
      expect(names(reply)).toContain("beta");
      expect(names(reply)).not.toContain("alpha");
      expect(names(reply)).not.toContain("gamma");
      for (const project of projects) expect(project.metadata["public"]).toBe("true");
      expect(Number(reply.headers.get("x-total-count"))).toBe(projects.length);
    });

    it("shows a member the public projects and their own, and nothing else", async () => {
      const reply = await api.get("/projects?page_size=100", ALICE);
      expect(reply.status).toBe(200);
      expect(names(reply)).toEqual(expect.arrayContaining(["alpha", "beta"]));
      expect(names(reply)).not.toContain("gamma");
      const alpha = (reply.json as ProjectJson[]).find((p) => p.name === "alpha");
      expect(alpha?.current_user_role_id).toBe(2);
      expect(Number(reply.headers.get("x-total-count"))).toBe((reply.json as ProjectJson[]).length);

      const bob = await api.get("/projects?page_size=100", BOB);
      expect(names(bob)).toContain("beta");
      expect(names(bob)).not.toContain("alpha");
    });

    it("shows the administrator every project", async () => {
      const reply = await api.get("/projects?page_size=100");
      expect(names(reply)).toEqual(expect.arrayContaining(["alpha", "beta", "gamma"]));
      expect(Number(reply.headers.get("x-total-count"))).toBe((reply.json as ProjectJson[]).length);
      const gamma = (reply.json as ProjectJson[]).find((p) => p.project_id === gammaId);
      expect(gamma?.metadata["public"]).toBe("false");
    });

    it("pages with page and page_size, X-Total-Count and Link", async () => {
      const total = Number((await api.get("/projects")).headers.get("x-total-count"));
      expect(total).toBeGreaterThanOrEqual(3);

      const first = await api.get("/projects?page=1&page_size=1");
      expect(first.json as unknown[]).toHaveLength(1);
      expect(Number(first.headers.get("x-total-count"))).toBe(total);
      expect(links(first)).toEqual({ next: "/api/v2.0/projects?page=2&page_size=1" });

      const second = await api.get("/projects?page=2&page_size=1");
      expect(second.json as unknown[]).toHaveLength(1);
      expect(names(second)).not.toEqual(names(first));
      expect(links(second)).toEqual({
        prev: "/api/v2.0/projects?page=1&page_size=1",
        next: "/api/v2.0/projects?page=3&page_size=1",
      });

      const last = await api.get(`/projects?page=${total}&page_size=1`);
      expect(links(last)).toEqual({ prev: `/api/v2.0/projects?page=${total - 1}&page_size=1` });
      const beyond = await api.get(`/projects?page=${total + 1}&page_size=1`);
      expect(beyond.json).toEqual([]);

      // Harbor reads page 0 as the first page.
      expect(names(await api.get("/projects?page=0&page_size=1"))).toEqual(names(first));
      expectError(await api.get("/projects?page_size=abc"), 400, "BAD_REQUEST", /page_size/);
    });

    it("filters by name, by q=name=~… and by public", async () => {
      expect(names(await api.get("/projects?name=alph"))).toEqual(["alpha"]);
      expect(names(await api.get(`/projects?q=${encodeURIComponent("name=~gam")}`))).toEqual(["gamma"]);
      const publicOnly = await api.get("/projects?public=true&page_size=100");
      expect(names(publicOnly)).toContain("beta");
      for (const project of publicOnly.json as ProjectJson[]) expect(project.metadata["public"]).toBe("true");
      const privateOnly = await api.get("/projects?public=false&page_size=100");
      expect(names(privateOnly)).toEqual(expect.arrayContaining(["alpha", "gamma"]));
      expect(names(privateOnly)).not.toContain("beta");
      expectError(await api.get(`/projects?q=${encodeURIComponent("name=[a b]")}`), 400, "BAD_REQUEST");
    });
  });

  describe("update", () => {
    it("merges metadata, keeps values as strings, and can make a project public", async () => {
      const id = await api.createProject("to-update", false);
      const before = (await api.get(`/projects/${id}`)).json as ProjectJson;
      expectError(await api.get(`/projects/${id}`, null), 401, "UNAUTHORIZED");

      const reply = await api.call("PUT", `/projects/${id}`, {
        body: { metadata: { auto_scan: "true", severity: "high" } },
      });
      expect(reply.status).toBe(200);
      expect(reply.text).toBe("");
      const after = (await api.get(`/projects/${id}`)).json as ProjectJson;
      expect(after.metadata).toEqual({ public: "false", auto_scan: "true", severity: "high" });
      expect(Date.parse(after.update_time)).toBeGreaterThanOrEqual(Date.parse(before.update_time));

      expect((await api.call("PUT", "/projects/to-update", { body: { metadata: { public: "true" } } })).status).toBe(
        200,
      );
      const anonymous = await api.get(`/projects/${id}`, null);
      expect(anonymous.status).toBe(200);
      expect((anonymous.json as ProjectJson).metadata["public"]).toBe("true");
    });

    it("ignores storage_limit, as Harbor does: the quota changes through /quotas", async () => {
      const id = await api.createProject("quota-update", false);
      expect((await api.call("PUT", `/projects/${id}`, { body: { storage_limit: 5_000_000 } })).status).toBe(200);
      const quota = async (): Promise<number> =>
        ((await api.get(`/projects/${id}/summary`)).json as { quota: { hard: { storage: number } } }).quota.hard
          .storage;
      expect(await quota()).toBe(-1);
      expect((await api.call("PUT", `/quotas/${id}`, { body: { hard: { storage: 5_000_000 } } })).status).toBe(200);
      expect(await quota()).toBe(5_000_000);
    });

    it("refuses invalid updates, renames and unknown projects", async () => {
      expectError(
        await api.call("PUT", `/projects/${alphaId}`, { body: { metadata: { public: false } } }),
        400,
        "BAD_REQUEST",
        /metadata\.public/,
      );
      expectError(
        await api.call("PUT", `/projects/${alphaId}`, { body: { project_name: "renamed" } }),
        400,
        "BAD_REQUEST",
        /renamed|project/,
      );
      expectError(await api.call("PUT", "/projects/999999", { body: { metadata: {} } }), 404, "NOT_FOUND");
      expectError(
        await api.call("PUT", `/projects/${alphaId}`, { auth: null, body: { metadata: { public: "true" } } }),
        401,
        "UNAUTHORIZED",
      );
      expectError(
        await api.call("PUT", `/projects/${alphaId}`, { auth: ALICE, body: { metadata: { public: "true" } } }),
        403,
        "FORBIDDEN",
      );
      expect(((await api.get(`/projects/${alphaId}`)).json as ProjectJson).metadata["public"]).toBe("false");
    });
  });

  describe("summary", () => {
    it("counts members by role, repositories, and reports the quota", async () => {
      const reply = await api.call("POST", "/projects", {
        body: { project_name: "summed", metadata: { public: "false" }, storage_limit: 10_485_760 },
      });
      const id = expectCreatedEmpty(reply, "/api/v2.0/projects/");
      await api.createUser("sum-dev", "Sumdev1password");
      await api.createUser("sum-guest", "Sumguest1password");
      await api.createUser("sum-guest2", "Sumguest2password");
      await api.createUser("sum-maint", "Summaint1password");
      await api.createUser("sum-limited", "Sumlimited1password");
      await api.addMember(id, "sum-dev", 2);
      await api.addMember(id, "sum-guest", 3);
      await api.addMember(id, "sum-guest2", 3);
      await api.addMember(id, "sum-maint", 4);
      await api.addMember(id, "sum-limited", 5);

      const empty = await api.get(`/projects/${id}/summary`);
      expect(empty.status).toBe(200);
      expect(empty.json).toEqual({
        repo_count: 0,
        // The creator is the project's admin.
        project_admin_count: 1,
        maintainer_count: 1,
        developer_count: 1,
        guest_count: 2,
        limited_guest_count: 1,
        quota: { hard: { storage: 10_485_760 }, used: { storage: 0 } },
      });

      const oci = new OciClient(registry.url);
      await oci.pushImage("summed/app", "v1", { layer: "x".repeat(4000) });
      await oci.pushImage("summed/tool", "v1", { layer: "y".repeat(1000) });
      const full = (await api.get("/projects/summed/summary")).json as {
        repo_count: number;
        quota: { used: { storage: number } };
      };
      expect(full.repo_count).toBe(2);
      expect(full.quota.used.storage).toBeGreaterThanOrEqual(5000);
      expect(Number.isInteger(full.quota.used.storage)).toBe(true);
      expect(((await api.get(`/projects/${id}`)).json as ProjectJson).repo_count).toBe(2);

      // Readable by any member, not by others.
      expect(
        (await api.get(`/projects/${id}/summary`, { username: "sum-limited", password: "Sumlimited1password" })).status,
      ).toBe(200);
      expectError(await api.get(`/projects/${id}/summary`, BOB), 403, "FORBIDDEN");
      expectError(await api.get(`/projects/${id}/summary`, null), 401, "UNAUTHORIZED");
      expectError(await api.get("/projects/999999/summary"), 404, "NOT_FOUND");
    });
  });

  describe("delete", () => {
    it("deletes an empty project, by id or by name", async () => {
      const id = await api.createProject("short-lived", false);
      const reply = await api.call("DELETE", `/projects/${id}`);
      expect(reply.status).toBe(200);
      expect(reply.text).toBe("");
      expectError(await api.get(`/projects/${id}`), 404, "NOT_FOUND");
      expect((await api.call("HEAD", "/projects?project_name=short-lived")).status).toBe(404);

      await api.createProject("short-lived-2", true);
      expect((await api.call("DELETE", "/projects/short-lived-2")).status).toBe(200);
      expectError(await api.get("/projects/short-lived-2"), 404, "NOT_FOUND");
      expectError(await api.call("DELETE", "/projects/short-lived-2"), 404, "NOT_FOUND");
    });

    it("refuses with 412 PRECONDITION while the project still has repositories", async () => {
      const id = await api.createProject("occupied", false);
      await new OciClient(registry.url).pushImage("occupied/app", "v1");
      expectError(await api.call("DELETE", `/projects/${id}`), 412, "PRECONDITION", /repositor/);
      expect((await api.get(`/projects/${id}`)).status).toBe(200);
    });

    it("refuses callers who are not its project admin", async () => {
      expectError(await api.call("DELETE", `/projects/${alphaId}`, { auth: null }), 401, "UNAUTHORIZED");
      expectError(await api.call("DELETE", `/projects/${alphaId}`, { auth: ALICE }), 403, "FORBIDDEN");
      expectError(await api.call("DELETE", `/projects/${gammaId}`, { auth: BOB }), 403, "FORBIDDEN");
      expect((await api.get(`/projects/${alphaId}`)).status).toBe(200);
    });
  });
});
