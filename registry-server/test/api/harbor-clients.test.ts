// The requests Harbor's own clients send, replayed byte for byte as their sources build them
// (goharbor/harbor-cli through goharbor/go-client, goharbor/terraform-provider-harbor), and what
// those clients read back: Harbor's leniency they depend on (unknown metadata keys, page_size=0,
// a doubly encoded q, storage_limit 0) and the shapes their decoders expect.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { expectCreatedEmpty, expectError, HarborClient, idFromLocation, type Credentials } from "./harbor-client.ts";

const DEV: Credentials = { username: "cli-dev", password: "Clidev1password" };

/** The metadata the Terraform provider sends on every project create and update, all as strings. */
const TERRAFORM_METADATA = {
  auto_scan: "true",
  public: "false",
  severity: "low",
  prevent_vul: "false",
  enable_content_trust: "false",
  enable_content_trust_cosign: "false",
  auto_sbom_generation: "false",
  proxy_speed_kb: "-1",
  reuse_sys_cve_allowlist: "true",
  // Sent by provider releases newer than Harbor 2.14's model: Harbor drops it.
  proxy_cache_local_on_not_found: "false",
};

interface ProjectJson {
  project_id: number;
  name: string;
  registry_id?: number;
  metadata: Record<string, string>;
}

describe("Harbor's clients, as they call", () => {
  let registry: TestRegistry;
  let api: HarborClient;

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    await api.createUser(DEV.username, DEV.password);
  });
  afterAll(() => registry?.stop());

  describe("terraform-provider-harbor", () => {
    it("creates, reads and updates a harbor_project with the metadata it always sends", async () => {
      const body = {
        project_name: "tf-project",
        storage_limit: -1,
        cve_allowlist: { items: [] },
        metadata: TERRAFORM_METADATA,
      };
      const reply = await api.call("POST", "/projects", { body });
      const id = expectCreatedEmpty(reply, "/api/v2.0/projects/");
      // The provider strips /api and /v2.0 from Location and uses the rest as its resource id.
      expect(reply.headers.get("location")).toBe(`/api/v2.0/projects/${id}`);

      const read = (await api.get(`/projects/${id}`)).json as ProjectJson;
      // A project that is not a proxy cache has no registry_id at all: its presence means one.
      expect("registry_id" in read).toBe(false);
      // Known keys kept as sent; proxy_speed_kb dropped for a plain project and the unknown key
      // dropped, as Harbor does.
      expect(read.metadata).toEqual({
        auto_scan: "true",
        public: "false",
        severity: "low",
        prevent_vul: "false",
        enable_content_trust: "false",
        enable_content_trust_cosign: "false",
        auto_sbom_generation: "false",
        reuse_sys_cve_allowlist: "true",
      });

      // The data source asks for the project's scanner and reads 404 as "none".
      expectError(await api.get(`/projects/${id}/scanner`), 404, "NOT_FOUND", /scanner/);

      const update = await api.call("PUT", `/projects/${id}`, {
        body: { ...body, metadata: { ...TERRAFORM_METADATA, auto_scan: "false", severity: "High" } },
      });
      expect(update.status, update.text).toBe(200);
      const after = (await api.get(`/projects/${id}`)).json as ProjectJson;
      expect(after.metadata["auto_scan"]).toBe("false");
      // Normalised as Harbor's handlers do.
      expect(after.metadata["severity"]).toBe("high");
    });

    it("still checks the values of the keys Harbor knows", async () => {
      expectError(
        await api.call("POST", "/projects", {
          body: { project_name: "tf-bad", metadata: { ...TERRAFORM_METADATA, auto_scan: "maybe" } },
        }),
        400,
        "BAD_REQUEST",
        /metadata\.auto_scan/,
      );
      expectError(
        await api.call("POST", "/projects", {
          body: { project_name: "tf-bad", metadata: { ...TERRAFORM_METADATA, severity: "dire" } },
        }),
        400,
        "BAD_REQUEST",
        /metadata\.severity/,
      );
      // Go's ParseBool spellings are read as Harbor reads them.
      const id = expectCreatedEmpty(
        await api.call("POST", "/projects", {
          body: { project_name: "tf-bools", metadata: { public: "True", auto_scan: "0" } },
        }),
        "/api/v2.0/projects/",
      );
      expect(((await api.get(`/projects/${id}`)).json as ProjectJson).metadata).toMatchObject({
        public: "true",
        auto_scan: "false",
      });
    });

    it("adds a member sending the unused member object as {}", async () => {
      const id = await api.createProject("tf-members", false);
      const reply = await api.call("POST", `/projects/${id}/members`, {
        body: { role_id: 2, member_user: { username: DEV.username }, member_group: {} },
      });
      const memberId = idFromLocation(reply, `/projects/${id}/members/`);
      expect((await api.get(`/projects/${id}/members/${memberId}`)).status).toBe(200);
      // A group member, with member_user {}: refused for what it is.
      expectError(
        await api.call("POST", `/projects/${id}/members`, {
          body: { role_id: 2, member_group: { group_type: 1, group_name: "ops" }, member_user: {} },
        }),
        400,
        "BAD_REQUEST",
        /group/,
      );
    });

    it("finds a project's quota by paging /quotas/ (trailing slash) until an empty page", async () => {
      const id = await api.createProject("tf-quota", false);
      let found: { id: number; ref: { id: number } } | undefined;
      let pages = 0;
      for (let page = 1; page <= 50; page++) {
        const reply = await api.get(`/quotas/?page=${page}&page_size=100`);
        expect(reply.status).toBe(200);
        const items = reply.json as Array<{ id: number; ref: { id: number } }>;
        pages += 1;
        if (items.length === 0) break;
        found ??= items.find((quota) => quota.ref.id === id);
      }
      expect(found).toBeDefined();
      expect(pages).toBe(2);
      const put = await api.call("PUT", `/quotas/${found?.id}`, { body: { hard: { storage: 1_073_741_824 } } });
      expect(put.status).toBe(200);
    });

    it("creates a robot by short name, reads its full name back and the prefix from /configurations", async () => {
      await api.createProject("tf-robots", false);
      const created = await api.call("POST", "/robots", {
        body: {
          name: "deployer",
          description: "CI",
          duration: -1,
          level: "project",
          permissions: [
            { kind: "project", namespace: "tf-robots", access: [{ action: "pull", resource: "repository" }] },
          ],
        },
      });
      expect(created.status, created.text).toBe(201);
      const robotId = idFromLocation(created, "/api/v2.0/robots/");
      const robot = (await api.get(`/robots/${robotId}`)).json as {
        name: string;
        permissions: Array<{ namespace: string }>;
      };
      const prefix = ((await api.get("/configurations")).json as { robot_name_prefix: { value: string } })
        .robot_name_prefix.value;
      expect(prefix).toBe("robot$");
      // The provider's short name: what follows permissions[0].namespace + "+".
      expect(robot.name).toBe(`${prefix}tf-robots+deployer`);
      expect(robot.name.slice(robot.name.indexOf(`${robot.permissions[0]?.namespace}+`) + "tf-robots+".length)).toBe(
        "deployer",
      );
      // The update sends the full name back.
      const update = await api.call("PUT", `/robots/${robotId}`, {
        body: {
          name: robot.name,
          description: "CI, updated",
          duration: -1,
          level: "project",
          disable: false,
          permissions: [
            { kind: "project", namespace: "tf-robots", access: [{ action: "pull", resource: "repository" }] },
          ],
        },
      });
      expect(update.status, update.text).toBe(200);
      const secret = await api.call("PATCH", `/robots/${robotId}`, { body: { secret: "Chosen1secret" } });
      expect(secret.status).toBe(200);
      // The new secret authenticates (a robot has no user profile: 404, not 401).
      expect((await api.get("/users/current", { username: robot.name, password: "Chosen1secret" })).status).toBe(404);
      const pull = await new OciClient(registry.url, { username: robot.name, password: "Chosen1secret" }).request(
        "GET",
        "/v2/",
      );
      expect(pull.status).toBe(200);
    });

    it("answers a missing purge-audit schedule with 200 and an empty body, so the provider POSTs", async () => {
      const reply = await api.get("/system/purgeaudit/schedule");
      expect(reply.status).toBe(200);
      expect(reply.text).toBe("");
    });
  });

  describe("harbor-cli", () => {
    it("logs in with GET /users/current", async () => {
      expect((await api.get("/users/current", DEV)).status).toBe(200);
      expectError(await api.get("/users/current", { ...DEV, password: "Wrong1password" }), 401, "UNAUTHORIZED");
    });

    it("creates a project with storage_limit 0: the system default (no limit), so pushes work", async () => {
      const reply = await api.call("POST", "/projects", {
        body: { project_name: "cli-zero", public: false, metadata: { public: "false" }, storage_limit: 0 },
      });
      const id = expectCreatedEmpty(reply, "/api/v2.0/projects/");
      const quota = (await api.get(`/quotas?reference=project&reference_id=${id}`)).json as Array<{
        hard: { storage: number };
      }>;
      expect(quota[0]?.hard.storage).toBe(-1);
      await new OciClient(registry.url).pushImage("cli-zero/app", "v1", { layer: "z".repeat(2048) });
      // Absent: the default too.
      const absent = expectCreatedEmpty(
        await api.call("POST", "/projects", { body: { project_name: "cli-absent" } }),
        "/api/v2.0/projects/",
      );
      const summary = (await api.get(`/projects/${absent}/summary`)).json as { quota: { hard: { storage: number } } };
      expect(summary.quota.hard.storage).toBe(-1);
    });

    it("lists everything with page=0&page_size=0, with no Link, on every list it resolves names with", async () => {
      for (let i = 0; i < 12; i++) {
        await api.createUser(`bulk-user-${i}`, "Bulkuser1password");
        await api.call("POST", "/registries", {
          body: { name: `bulk-registry-${i}`, type: "docker-registry", url: `https://r${i}.example` },
        });
        await api.createProject(`bulk-project-${i}`, i % 2 === 0);
      }
      const checks: Array<[path: string, atLeast: number]> = [
        ["/users?page=0&page_size=0", 13],
        ["/registries?name=bulk-registry&page=0&page_size=0", 12],
        ["/quotas?page=1&page_size=0", 12],
        ["/projects?page=0&page_size=0", 12],
        ["/robots?page=0&page_size=0", 1],
        ["/audit-logs?page=0&page_size=0", 0],
        ["/auditlog-exts?page=0&page_size=0", 0],
        ["/usergroups?page=0&page_size=0", 0],
      ];
      for (const [path, atLeast] of checks) {
        const reply = await api.get(path);
        expect(reply.status, `${path}: ${reply.text}`).toBe(200);
        const items = reply.json as unknown[];
        expect(items.length, path).toBeGreaterThanOrEqual(atLeast);
        expect(reply.headers.get("x-total-count"), path).toBe(String(items.length));
        expect(reply.headers.get("link"), path).toBeNull();
      }
      // A negative page size is no limit too; a page below 1 the first page.
      expect(((await api.get("/users?page=-3&page_size=-1")).json as unknown[]).length).toBeGreaterThanOrEqual(13);
      // The registry a name resolves to.
      const registries = (await api.get("/registries?page=0&page_size=0")).json as Array<{ id: number; name: string }>;
      expect(registries.find((r) => r.name === "bulk-registry-11")?.id).toBeGreaterThan(0);
    });

    it("lists a project's robots with the doubly encoded q it sends", async () => {
      const projectId = await api.createProject("cli-robots", false);
      for (const name of ["a", "b"]) {
        await api.createRobot({
          name,
          level: "project",
          duration: -1,
          permissions: [
            { kind: "project", namespace: "cli-robots", access: [{ resource: "repository", action: "pull" }] },
          ],
        });
      }
      await api.createRobot({
        name: "elsewhere",
        level: "system",
        duration: -1,
        permissions: [{ kind: "project", namespace: "*", access: [{ resource: "repository", action: "pull" }] }],
      });
      // harbor-cli's constant is already percent-encoded, and go-client encodes it again.
      const reply = await api.get(`/robots?page=0&page_size=0&q=Level%253Dproject%252CProjectID%253D${projectId}`);
      expect(reply.status, reply.text).toBe(200);
      expect((reply.json as Array<{ name: string }>).map((r) => r.name).sort()).toEqual([
        "robot$cli-robots+a",
        "robot$cli-robots+b",
      ]);
    });

    it("reads the project's audit log through auditlog-exts with page=0&page_size=0", async () => {
      const reply = await api.get("/projects/cli-robots/auditlog-exts?page=0&page_size=0", undefined, {
        "X-Is-Resource-Name": "true",
      });
      expect(reply.status).toBe(200);
      expect(Array.isArray(reply.json)).toBe(true);
    });

    it("searches projects and repositories", async () => {
      await new OciClient(registry.url).pushImage("bulk-project-1/searchable-app", "v1");
      const reply = await api.get("/search?q=searchable");
      expect(reply.status).toBe(200);
      const body = reply.json as { project: unknown[]; repository: Array<Record<string, unknown>> };
      expect(body.project).toEqual([]);
      expect(body.repository).toEqual([
        {
          project_id: expect.any(Number) as number,
          project_name: "bulk-project-1",
          project_public: false,
          repository_name: "bulk-project-1/searchable-app",
          pull_count: 0,
          artifact_count: 1,
        },
      ]);
      const projects = (await api.get("/search?q=bulk-project-1")).json as { project: Array<{ name: string }> };
      expect(projects.project.map((p) => p.name).sort()).toEqual([
        "bulk-project-1",
        "bulk-project-10",
        "bulk-project-11",
      ]);
      // Anonymous callers see public projects only (even-numbered ones are public).
      const anonymous = (await api.get("/search?q=bulk-project-1", null)).json as { project: Array<{ name: string }> };
      expect(anonymous.project.map((p) => p.name).sort()).toEqual(["bulk-project-10"]);
    });

    it("shows statistics: totals for the administrator, public and own counts for a user", async () => {
      const admin = (await api.get("/statistics")).json as Record<string, number>;
      const projects = Number((await api.get("/projects")).headers.get("x-total-count"));
      expect(admin["total_project_count"]).toBe(projects);
      expect(admin["public_project_count"]).toBeGreaterThanOrEqual(6);
      expect(admin["private_project_count"]).toBe(projects - (admin["public_project_count"] ?? 0));
      expect(admin["total_repo_count"]).toBeGreaterThanOrEqual(2);
      expect(admin["total_storage_consumption"]).toBeGreaterThan(2048);
      const user = (await api.get("/statistics", DEV)).json as Record<string, number>;
      expect(user).toMatchObject({ total_project_count: 0, total_storage_consumption: 0, private_project_count: 1 });
      expectError(await api.get("/statistics", null), 401, "UNAUTHORIZED");
    });

    it("offers robot permissions from GET /permissions in Harbor's shape", async () => {
      const admin = (await api.get("/permissions")).json as {
        system: Array<{ resource: string; action: string }>;
        project: Array<{ resource: string; action: string }>;
      };
      expect(admin.system).toContainEqual({ resource: "registry", action: "create" });
      expect(admin.system).toContainEqual({ resource: "purge-audit", action: "create" });
      expect(admin.project).toContainEqual({ resource: "repository", action: "pull" });
      expect(admin.project).toContainEqual({ resource: "repository", action: "push" });
      expect(admin.project).toContainEqual({ resource: "artifact", action: "delete" });
      // A project administrator sees the project level only; others are refused.
      const owner: Credentials = { username: "cli-owner", password: "Cliowner1password" };
      await api.createUser(owner.username, owner.password);
      await api.call("POST", "/projects", { auth: owner, body: { project_name: "cli-owned" } });
      const projectLevel = (await api.get("/permissions", owner)).json as Record<string, unknown>;
      expect(Object.keys(projectLevel)).toEqual(["project"]);
      expectError(
        await api.get("/permissions", { username: "bulk-user-0", password: "Bulkuser1password" }),
        403,
        "FORBIDDEN",
      );
      expectError(await api.get("/permissions", null), 401, "UNAUTHORIZED");
    });

    it("answers user groups with an empty list, as Harbor does when there are none", async () => {
      const list = await api.get("/usergroups");
      expect(list.status).toBe(200);
      expect(list.json).toEqual([]);
      expect((await api.get("/usergroups/search?groupname=ops")).json).toEqual([]);
      expectError(await api.get("/usergroups/1"), 404, "NOT_FOUND");
      expectError(
        await api.call("POST", "/usergroups", { body: { group_name: "ops", group_type: 1, ldap_group_dn: "cn=ops" } }),
        400,
        "BAD_REQUEST",
        /LDAP/,
      );
    });

    it("reads and changes project metadata through /metadatas", async () => {
      await api.createProject("cli-meta", false);
      const headers = { "X-Is-Resource-Name": "true" };
      const all = await api.get("/projects/cli-meta/metadatas", undefined, headers);
      expect(all.json).toEqual({ public: "false" });
      expect(
        (await api.call("POST", "/projects/cli-meta/metadatas", { body: { auto_scan: "TRUE" }, headers })).status,
      ).toBe(200);
      expect((await api.get("/projects/cli-meta/metadatas/auto_scan", undefined, headers)).json).toEqual({
        auto_scan: "true",
      });
      expect(
        (await api.call("PUT", "/projects/cli-meta/metadatas/severity", { body: { severity: "critical" }, headers }))
          .status,
      ).toBe(200);
      expect((await api.call("DELETE", "/projects/cli-meta/metadatas/auto_scan", { headers })).status).toBe(200);
      expect((await api.get("/projects/cli-meta/metadatas", undefined, headers)).json).toEqual({
        public: "false",
        severity: "critical",
      });
      expectError(
        await api.call("POST", "/projects/cli-meta/metadatas", { body: { not_a_key: "x" }, headers }),
        400,
        "BAD_REQUEST",
      );
      expectError(await api.get("/projects/cli-meta/metadatas/auto_scan", undefined, headers), 404, "NOT_FOUND");
    });
  });
});
