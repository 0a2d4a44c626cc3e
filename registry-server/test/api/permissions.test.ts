// Who may do what, over both APIs: Harbor's roles (1 projectAdmin, 2 developer, 3 guest,
// 4 maintainer, 5 limitedGuest), non-members, anonymous callers, robots by their permissions, and
// the system administrator, on /v2 (pull, push, delete) and on /api/v2.0 (project and member
// management, users, system robots); the token endpoint grants the same; expired robots fail.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialAuthenticator } from "../../src/auth/credential-authenticator.ts";
import { DEFAULT_LOGIN_LIMITS, LoginThrottle } from "../../src/auth/login-throttle.ts";
import { hashPassword } from "../../src/auth/password-hash.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";
import { ADMIN, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { basic, expectError, HarborClient, projectPermissions, type Credentials } from "./harbor-client.ts";

const PRIVATE = "vault";
const PUBLIC = "plaza";
const REPO = "app";

const USERS = {
  projectAdmin: { username: "p-admin", password: "Padmin1password", role: 1 },
  developer: { username: "p-developer", password: "Pdeveloper1password", role: 2 },
  guest: { username: "p-guest", password: "Pguest1password", role: 3 },
  maintainer: { username: "p-maintainer", password: "Pmaintainer1password", role: 4 },
  limitedGuest: { username: "p-limited", password: "Plimited1password", role: 5 },
} as const;
const NON_MEMBER: Credentials = { username: "p-outsider", password: "Poutsider1password" };

type Outcome = "ok" | 401 | 403;

interface Caller {
  label: string;
  credentials: () => Credentials | null;
  /** Expected on the private project: pull, push (start an upload), delete (a manifest by digest). */
  private: [pull: Outcome, push: Outcome, remove: Outcome];
  /** Expected on the public project. */
  public: [pull: Outcome, push: Outcome, remove: Outcome];
}

describe("permissions over /v2 and /api/v2.0", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let admin: OciClient;
  let privateId: number;
  const robots: Record<string, Credentials> = {};
  /** Per caller label and project, the digest of a manifest that caller tries to delete. */
  const victims = new Map<string, string>();

  const user = (key: keyof typeof USERS) => (): Credentials => USERS[key];
  const robot = (key: string) => (): Credentials => robots[key] ?? { username: "missing", password: "missing" };

  const CALLERS: Caller[] = [
    {
      label: "system administrator",
      credentials: () => ADMIN,
      private: ["ok", "ok", "ok"],
      public: ["ok", "ok", "ok"],
    },
    { label: "projectAdmin", credentials: user("projectAdmin"), private: ["ok", "ok", "ok"], public: ["ok", 403, 403] },
    { label: "maintainer", credentials: user("maintainer"), private: ["ok", "ok", "ok"], public: ["ok", 403, 403] },
    { label: "developer", credentials: user("developer"), private: ["ok", "ok", 403], public: ["ok", 403, 403] },
    { label: "guest", credentials: user("guest"), private: ["ok", 403, 403], public: ["ok", 403, 403] },
    { label: "limitedGuest", credentials: user("limitedGuest"), private: ["ok", 403, 403], public: ["ok", 403, 403] },
    { label: "non-member", credentials: () => NON_MEMBER, private: [403, 403, 403], public: ["ok", 403, 403] },
    { label: "anonymous", credentials: () => null, private: [401, 401, 401], public: ["ok", 401, 401] },
    { label: "robot with pull", credentials: robot("pull"), private: ["ok", 403, 403], public: ["ok", 403, 403] },
    { label: "robot with pull+push", credentials: robot("push"), private: ["ok", "ok", 403], public: ["ok", 403, 403] },
    { label: "system robot * pull", credentials: robot("system"), private: ["ok", 403, 403], public: ["ok", 403, 403] },
    // Credentials that do not check out are refused outright, even where anonymous pulls work:
    // a disabled robot learns it is disabled instead of silently pulling as anonymous.
    { label: "disabled robot", credentials: robot("disabled"), private: [401, 401, 401], public: [401, 401, 401] },
  ];

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    admin = new OciClient(registry.url);
    privateId = await api.createProject(PRIVATE, false);
    await api.createProject(PUBLIC, true);
    for (const { username, password, role } of Object.values(USERS)) {
      await api.createUser(username, password);
      await api.addMember(PRIVATE, username, role);
    }
    await api.createUser(NON_MEMBER.username, NON_MEMBER.password);

    const robotBodies: Record<string, Record<string, unknown>> = {
      pull: { name: "puller", level: "project", permissions: projectPermissions(PRIVATE, [["repository", "pull"]]) },
      push: {
        name: "pusher",
        level: "project",
        permissions: projectPermissions(PRIVATE, [
          ["repository", "pull"],
          ["repository", "push"],
        ]),
      },
      system: { name: "everywhere", level: "system", permissions: projectPermissions("*", [["repository", "pull"]]) },
      disabled: {
        name: "sleeper",
        level: "project",
        disable: true,
        permissions: projectPermissions(PRIVATE, [
          ["repository", "pull"],
          ["repository", "push"],
        ]),
      },
    };
    for (const [key, body] of Object.entries(robotBodies)) {
      const created = await api.createRobot(body);
      robots[key] = { username: created.name, password: created.secret };
    }

    for (const project of [PRIVATE, PUBLIC]) {
      await admin.pushImage(`${project}/${REPO}`, "v1");
      for (const caller of CALLERS) {
        const { digest } = await admin.pushImage(`${project}/${REPO}`, `victim-${CALLERS.indexOf(caller)}`, {
          layer: `layer for ${caller.label} in ${project}`,
        });
        victims.set(`${project}:${caller.label}`, digest);
      }
    }
  });
  afterAll(() => registry?.stop());

  function client(caller: Caller): OciClient {
    return new OciClient(registry.url, caller.credentials());
  }

  async function expectOutcome(response: Response, expected: Outcome, success: number): Promise<void> {
    const body = await response.text();
    if (expected === "ok") {
      expect(response.status, body).toBe(success);
      return;
    }
    expect(response.status, body).toBe(expected);
    const code = (JSON.parse(body) as { errors: Array<{ code: string }> }).errors[0]?.code;
    expect(code).toBe(expected === 401 ? "UNAUTHORIZED" : "DENIED");
  }

  describe.each([
    { project: PRIVATE, column: "private" as const },
    { project: PUBLIC, column: "public" as const },
  ])("on /v2, in the $column project", ({ project, column }) => {
    it.each(CALLERS.map((caller) => [caller.label, caller] as const))("%s", async (_label, caller) => {
      const [pull, push, remove] = caller[column];
      const oci = client(caller);

      await expectOutcome(await oci.request("GET", `/v2/${project}/${REPO}/manifests/v1`), pull, 200);
      await expectOutcome(await oci.request("POST", `/v2/${project}/${REPO}/blobs/uploads/`), push, 202);

      const digest = victims.get(`${project}:${caller.label}`) ?? "";
      await expectOutcome(await oci.request("DELETE", `/v2/${project}/${REPO}/manifests/${digest}`), remove, 202);
      // The manifest is gone exactly when the delete was allowed.
      const after = await admin.request("GET", `/v2/${project}/${REPO}/manifests/${digest}`);
      expect(after.status).toBe(remove === "ok" ? 404 : 200);
      await after.arrayBuffer();
    });
  });

  describe("on /api/v2.0", () => {
    const roleKeys = Object.keys(USERS) as Array<keyof typeof USERS>;

    it("lets only the projectAdmin (and the administrator) update the project", async () => {
      const path = `/projects/${privateId}`;
      const body = { metadata: { auto_scan: "true" } };
      for (const key of roleKeys.filter((k) => k !== "projectAdmin")) {
        expectError(await api.call("PUT", path, { auth: USERS[key], body }), 403, "FORBIDDEN");
      }
      expectError(await api.call("PUT", path, { auth: NON_MEMBER, body }), 403, "FORBIDDEN");
      expectError(await api.call("PUT", path, { auth: robots["push"] ?? null, body }), 403, "FORBIDDEN");
      expectError(await api.call("PUT", path, { auth: null, body }), 401, "UNAUTHORIZED");
      expect(
        ((await api.get(path)).json as { metadata: Record<string, string> }).metadata["auto_scan"],
      ).toBeUndefined();

      expect((await api.call("PUT", path, { auth: USERS.projectAdmin, body })).status).toBe(200);
      expect(((await api.get(path)).json as { metadata: Record<string, string> }).metadata["auto_scan"]).toBe("true");
      expect((await api.call("PUT", path, { body: { metadata: { auto_scan: "false" } } })).status).toBe(200);
    });

    it("lets only the projectAdmin (and the administrator) delete the project", async () => {
      // The private project has repositories: an authorized caller gets past the role check to 412.
      const path = `/projects/${privateId}`;
      for (const key of roleKeys.filter((k) => k !== "projectAdmin")) {
        expectError(await api.call("DELETE", path, { auth: USERS[key] }), 403, "FORBIDDEN");
      }
      expectError(await api.call("DELETE", path, { auth: NON_MEMBER }), 403, "FORBIDDEN");
      expectError(await api.call("DELETE", path, { auth: null }), 401, "UNAUTHORIZED");
      expectError(await api.call("DELETE", path, { auth: USERS.projectAdmin }), 412, "PRECONDITION");
      expectError(await api.call("DELETE", path), 412, "PRECONDITION");

      const scratch = await api.createProject("scratch", false);
      await api.addMember(scratch, USERS.projectAdmin.username, 1);
      await api.addMember(scratch, USERS.maintainer.username, 4);
      expectError(await api.call("DELETE", `/projects/${scratch}`, { auth: USERS.maintainer }), 403, "FORBIDDEN");
      expect((await api.call("DELETE", `/projects/${scratch}`, { auth: USERS.projectAdmin })).status).toBe(200);
      expectError(await api.get(`/projects/${scratch}`), 404, "NOT_FOUND");
    });

    it("lets only the projectAdmin (and the administrator) manage members", async () => {
      const members = `/projects/${privateId}/members`;
      const listed = (await api.get(`${members}?entityname=${USERS.limitedGuest.username}`)).json as Array<{
        id: number;
      }>;
      const limitedMid = listed[0]?.id;
      expect(limitedMid).toBeDefined();
      const add = { role_id: 3, member_user: { username: NON_MEMBER.username } };
      for (const key of roleKeys.filter((k) => k !== "projectAdmin")) {
        const auth = USERS[key];
        expectError(await api.call("POST", members, { auth, body: add }), 403, "FORBIDDEN");
        expectError(
          await api.call("PUT", `${members}/${limitedMid}`, { auth, body: { role_id: 1 } }),
          403,
          "FORBIDDEN",
        );
        expectError(await api.call("DELETE", `${members}/${limitedMid}`, { auth }), 403, "FORBIDDEN");
      }
      expectError(await api.call("POST", members, { auth: NON_MEMBER, body: add }), 403, "FORBIDDEN");
      expectError(await api.call("POST", members, { auth: robots["push"] ?? null, body: add }), 403, "FORBIDDEN");
      expectError(await api.call("POST", members, { auth: null, body: add }), 401, "UNAUTHORIZED");
      expect(((await api.get(`${members}/${limitedMid}`)).json as { role_id: number }).role_id).toBe(5);

      const created = await api.call("POST", members, { auth: USERS.projectAdmin, body: add });
      expect(created.status, created.text).toBe(201);
      const mid = (created.headers.get("location") ?? "").split("/").pop();
      expect(
        (await api.call("PUT", `${members}/${mid}`, { auth: USERS.projectAdmin, body: { role_id: 2 } })).status,
      ).toBe(200);
      expect(((await api.get(`${members}/${mid}`)).json as { role_id: number }).role_id).toBe(2);
      expect((await api.call("DELETE", `${members}/${mid}`, { auth: USERS.projectAdmin })).status).toBe(200);
      expectError(await api.get(`${members}/${mid}`), 404, "NOT_FOUND");
    });

    it("lets any member list the members, and no one else", async () => {
      const members = `/projects/${privateId}/members`;
      for (const key of roleKeys) {
        const reply = await api.get(members, USERS[key]);
        expect(reply.status, key).toBe(200);
        expect(Number(reply.headers.get("x-total-count"))).toBeGreaterThanOrEqual(roleKeys.length);
      }
      expect((await api.get(members)).status).toBe(200);
      expectError(await api.get(members, NON_MEMBER), 403, "FORBIDDEN");
      expectError(await api.get(members, null), 401, "UNAUTHORIZED");
    });

    it("lets only the administrator list users", async () => {
      expect((await api.get("/users")).status).toBe(200);
      for (const key of roleKeys) expectError(await api.get("/users", USERS[key]), 403, "FORBIDDEN");
      expectError(await api.get("/users", NON_MEMBER), 403, "FORBIDDEN");
      expectError(await api.get("/users", robots["system"] ?? null), 403, "FORBIDDEN");
      expectError(await api.get("/users", null), 401, "UNAUTHORIZED");
    });

    it("lets only the administrator create system robots", async () => {
      const body = { name: "sys-new", level: "system", permissions: projectPermissions("*", [["repository", "pull"]]) };
      for (const key of roleKeys) {
        expectError(await api.call("POST", "/robots", { auth: USERS[key], body }), 403, "FORBIDDEN");
      }
      expectError(await api.call("POST", "/robots", { auth: robots["system"] ?? null, body }), 403, "FORBIDDEN");
      expectError(await api.call("POST", "/robots", { auth: null, body }), 401, "UNAUTHORIZED");
      expect((await api.call("POST", "/robots", { body })).status).toBe(201);
    });
  });

  describe("the token endpoint", () => {
    async function tokenFor(credentials: Credentials, scope: string): Promise<{ token: string; access: unknown }> {
      const response = await fetch(`${registry.url}/service/token?service=airlock&scope=${encodeURIComponent(scope)}`, {
        headers: { Authorization: basic(credentials) },
        signal: AbortSignal.timeout(10_000),
      });
      expect(response.status).toBe(200);
      const { token } = (await response.json()) as { token: string };
      const payload = token.split(".")[1] ?? "";
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { access: unknown };
      return { token, access: claims.access };
    }

    it("grants a guest pull only when it asks for pull,push", async () => {
      const scope = `repository:${PRIVATE}/${REPO}:pull,push`;
      const { token, access } = await tokenFor(USERS.guest, scope);
      expect(access).toEqual([{ type: "repository", name: `${PRIVATE}/${REPO}`, actions: ["pull"] }]);

      const bearer = new OciClient(registry.url, null);
      bearer.authorization = `Bearer ${token}`;
      expect((await bearer.request("GET", `/v2/${PRIVATE}/${REPO}/manifests/v1`)).status).toBe(200);
      const push = await bearer.request("POST", `/v2/${PRIVATE}/${REPO}/blobs/uploads/`);
      expect(push.status).toBe(401);
      expect(push.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    });

    it("grants a developer pull and push, and a non-member nothing", async () => {
      const scope = `repository:${PRIVATE}/${REPO}:pull,push`;
      expect((await tokenFor(USERS.developer, scope)).access).toEqual([
        { type: "repository", name: `${PRIVATE}/${REPO}`, actions: ["pull", "push"] },
      ]);
      expect((await tokenFor(NON_MEMBER, scope)).access).toEqual([]);
      expect((await tokenFor(robots["pull"] ?? NON_MEMBER, scope)).access).toEqual([
        { type: "repository", name: `${PRIVATE}/${REPO}`, actions: ["pull"] },
      ]);
    });
  });
});

describe("expired robots", () => {
  let dir: { dir: string; remove: () => void };
  let store: MetadataStore;

  beforeAll(async () => {
    dir = tempDir("expiry");
    store = await openSqliteStore(`${dir.dir}/registry.db`);
  });
  afterAll(async () => {
    await store?.close();
    dir?.remove();
  });

  it("authenticate until expires_at and never after, even with cached credentials", async () => {
    const createdAt = new Date("2030-01-01T00:00:00Z");
    const expiresAt = Math.floor(createdAt.getTime() / 1000) + 86_400;
    await store.robots.create(
      {
        name: "robot$expiring",
        description: "",
        level: "system",
        duration: 1,
        expiresAt,
        disabled: false,
        secretHash: await hashPassword("Expiring1Secret"),
        permissions: [{ kind: "project", namespace: "*", access: [{ resource: "repository", action: "pull" }] }],
      },
      createdAt,
    );
    let now = createdAt.getTime();
    const authenticator = new CredentialAuthenticator(
      store,
      new LoginThrottle({ ...DEFAULT_LOGIN_LIMITS, now: () => now }),
      () => now,
    );
    const credentials = { username: "robot$expiring", password: "Expiring1Secret" };

    const fresh = await authenticator.authenticate(credentials, "test");
    expect(fresh.outcome).toBe("authenticated");
    now = expiresAt * 1000 - 1_000;
    expect((await authenticator.authenticate(credentials, "test")).outcome).toBe("authenticated");
    now = expiresAt * 1000;
    expect((await authenticator.authenticate(credentials, "test")).outcome).toBe("invalid");
    now = expiresAt * 1000 + 3_600_000;
    expect((await authenticator.authenticate(credentials, "test")).outcome).toBe("invalid");
  });
});
