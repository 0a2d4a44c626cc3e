// The behaviour every metadata store backend must have in its identity areas (users, projects,
// members, robots, audit log), as one vitest suite: each backend's test file calls
// `identityStoreContract` with a way to open a fresh, empty store. Semantics come from the doc
// comments in src/metadata/identity-store.ts.

import { describe, expect, it } from "vitest";
import {
  ConflictError,
  ROLES,
  type NewAuditRecord,
  type NewProject,
  type NewRobot,
  type NewUser,
  type ProjectRecord,
  type RobotPermission,
  type UserRecord,
} from "../../src/metadata/identity-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { digestOf, openEachTest, type ContractStore } from "./metadata-store-contract.ts";

/** A fixed time with milliseconds, so that a store keeping only seconds fails. */
const T0 = Date.parse("2024-05-06T07:08:09.123Z");
function at(offsetMs: number): Date {
  return new Date(T0 + offsetMs);
}

const ALL = { offset: 0, limit: 100 };

function newUser(username: string, overrides: Partial<NewUser> = {}): NewUser {
  return {
    username,
    email: `${username}@example.com`,
    realname: `${username} Example`,
    comment: "",
    passwordHash: `$scrypt$ln=15,r=8,p=1$c2FsdA$${username}`,
    sysadmin: false,
    ...overrides,
  };
}

function newProject(name: string, ownerId: number, overrides: Partial<NewProject> = {}): NewProject {
  return { name, ownerId, metadata: { public: "false" }, storageLimit: -1, ...overrides };
}

const PERMISSIONS: RobotPermission[] = [
  {
    kind: "project",
    namespace: "library",
    access: [
      { resource: "repository", action: "pull" },
      { resource: "repository", action: "push", effect: "allow" },
    ],
  },
  { kind: "system", namespace: "/", access: [{ resource: "audit-log", action: "list" }] },
];

function newRobot(name: string, overrides: Partial<NewRobot> = {}): NewRobot {
  return {
    name: `robot$${name}`,
    description: `${name} robot`,
    level: "system",
    duration: 30,
    expiresAt: 1_720_000_000,
    disabled: false,
    secretHash: `hash-${name}`,
    permissions: PERMISSIONS,
    ...overrides,
  };
}

function entry(overrides: Partial<NewAuditRecord> = {}): NewAuditRecord {
  return {
    username: "admin",
    resource: "library/nginx:1.25",
    resourceType: "artifact",
    operation: "push",
    success: true,
    opTime: at(0),
    ...overrides,
  };
}

export function identityStoreContract(name: string, setup: () => Promise<ContractStore>): void {
  describe(`identity store contract: ${name}`, () => {
    let store!: MetadataStore;
    openEachTest(setup, (opened) => (store = opened));

    async function user(username: string, overrides: Partial<NewUser> = {}): Promise<UserRecord> {
      return store.users.create(newUser(username, overrides), at(0));
    }

    async function project(projectName: string, overrides: Partial<NewProject> = {}): Promise<ProjectRecord> {
      const owner = (await store.users.getByName("owner")) ?? (await user("owner"));
      return store.projects.create(newProject(projectName, owner.id, overrides), at(0));
    }

    describe("users", () => {
      it("creates a user with a new id and gets it back by id and by name", async () => {
        const created = await store.users.create(newUser("alice", { sysadmin: true, comment: "c" }), at(1));
        expect(created).toEqual({
          ...newUser("alice", { sysadmin: true, comment: "c" }),
          id: created.id,
          createdAt: at(1),
          updatedAt: at(1),
        });
        expect(Number.isInteger(created.id)).toBe(true);
        const other = await user("bob");
        expect(other.id).not.toBe(created.id);
        expect(other.sysadmin).toBe(false);
        expect(await store.users.get(created.id)).toEqual(created);
        expect(await store.users.getByName("alice")).toEqual(created);
        expect(await store.users.get(other.id + created.id + 1000)).toBeUndefined();
        expect(await store.users.getByName("carol")).toBeUndefined();
      });

      it("rejects a taken user name with ConflictError", async () => {
        await user("alice");
        const again = store.users.create(newUser("alice", { email: "other@example.com" }), at(1));
        await expect(again).rejects.toBeInstanceOf(ConflictError);
        await expect(store.users.create(newUser("alice", { email: "x@example.com" }), at(1))).rejects.toThrow(/alice/);
        expect((await store.users.list({}, ALL)).total).toBe(1);
      });

      it("rejects a taken email, but any number of users may have none", async () => {
        await user("alice", { email: "shared@example.com" });
        await expect(store.users.create(newUser("bob", { email: "shared@example.com" }), at(1))).rejects.toThrow(
          ConflictError,
        );
        await expect(store.users.create(newUser("bob", { email: "shared@example.com" }), at(1))).rejects.toThrow(
          /email/,
        );
        const first = await user("carol", { email: "" });
        const second = await user("dave", { email: "" });
        expect(first.email).toBe("");
        expect(second.email).toBe("");
        expect((await store.users.list({}, ALL)).items.map((u) => u.username)).toEqual(["alice", "carol", "dave"]);
      });

      it("lists users by id, filtered by a username substring, with offset, limit and total", async () => {
        // Created in non-alphabetical order: the list follows ids, not names.
        for (const username of ["zed", "anna", "hanna", "bob", "joanna"]) await user(username);
        const all = await store.users.list({}, ALL);
        expect(all.total).toBe(5);
        expect(all.items.map((u) => u.username)).toEqual(["zed", "anna", "hanna", "bob", "joanna"]);
        expect(all.items.map((u) => u.id)).toEqual([...all.items.map((u) => u.id)].sort((a, b) => a - b));

        const page = await store.users.list({}, { offset: 1, limit: 2 });
        expect(page.items.map((u) => u.username)).toEqual(["anna", "hanna"]);
        expect(page.total).toBe(5);

        const filtered = await store.users.list({ username: "nna" }, { offset: 1, limit: 1 });
        expect(filtered.items.map((u) => u.username)).toEqual(["hanna"]);
        expect(filtered.total).toBe(3);
        expect(await store.users.list({ username: "nobody" }, ALL)).toEqual({ items: [], total: 0 });
        // "_" and "%" are plain characters, not wildcards.
        await user("a_b");
        expect((await store.users.list({ username: "_" }, ALL)).items.map((u) => u.username)).toEqual(["a_b"]);
        expect((await store.users.list({ username: "%" }, ALL)).total).toBe(0);
      });

      it("updates the given fields only, bumps updatedAt and returns the new record", async () => {
        const created = await user("alice", { comment: "before" });
        const updated = await store.users.update(
          created.id,
          { email: "new@example.com", sysadmin: true, passwordHash: "new-hash" },
          at(5_000),
        );
        expect(updated).toEqual({
          ...created,
          email: "new@example.com",
          sysadmin: true,
          passwordHash: "new-hash",
          updatedAt: at(5_000),
        });
        expect(await store.users.get(created.id)).toEqual(updated);
        const demoted = await store.users.update(created.id, { sysadmin: false, comment: "after" }, at(6_000));
        expect(demoted?.sysadmin).toBe(false);
        expect(demoted?.comment).toBe("after");
        expect(demoted?.email).toBe("new@example.com");
        expect(demoted?.createdAt).toEqual(at(0));
        expect(await store.users.update(created.id + 1000, { comment: "x" }, at(7_000))).toBeUndefined();
      });

      it("rejects an update to a taken email with ConflictError, leaving the user unchanged", async () => {
        await user("alice", { email: "alice@example.com" });
        const bob = await user("bob", { email: "bob@example.com" });
        await expect(store.users.update(bob.id, { email: "alice@example.com" }, at(1))).rejects.toBeInstanceOf(
          ConflictError,
        );
        expect(await store.users.get(bob.id)).toEqual(bob);
        // Clearing an email is fine even when another user has none.
        await user("carol", { email: "" });
        expect((await store.users.update(bob.id, { email: "" }, at(2)))?.email).toBe("");
      });

      it("deletes a user with their memberships, and never reuses the id", async () => {
        const alice = await user("alice");
        const p = await project("p");
        await store.members.add(p.id, alice.id, ROLES.developer, at(1));
        expect(await store.users.delete(alice.id)).toBe(true);
        expect(await store.users.delete(alice.id)).toBe(false);
        expect(await store.users.get(alice.id)).toBeUndefined();
        expect(await store.users.getByName("alice")).toBeUndefined();
        expect(await store.members.roleOf(p.id, alice.id)).toBeUndefined();
        expect(await store.members.list(p.id)).toEqual([]);
        // The name is free again, under a new id.
        const again = await user("alice");
        expect(again.id).not.toBe(alice.id);
        expect(await store.projects.get(p.id)).toEqual(p);
      });
    });

    describe("projects", () => {
      it("creates a project and gets it back by id and by name", async () => {
        const owner = await user("owner");
        const created = await store.projects.create(
          newProject("library", owner.id, { metadata: { public: "true", auto_scan: "false" }, storageLimit: 1024 }),
          at(1),
        );
        expect(created).toEqual({
          id: created.id,
          name: "library",
          ownerId: owner.id,
          metadata: { public: "true", auto_scan: "false" },
          storageLimit: 1024,
          createdAt: at(1),
          updatedAt: at(1),
        });
        expect(created.registryId).toBeUndefined();
        const proxy = await store.projects.create(newProject("dockerhub", owner.id, { registryId: 7 }), at(2));
        expect(proxy.registryId).toBe(7);
        expect(await store.projects.get(created.id)).toEqual(created);
        expect(await store.projects.getByName("library")).toEqual(created);
        expect(await store.projects.get(proxy.id)).toEqual(proxy);
        expect(await store.projects.get(proxy.id + created.id + 1000)).toBeUndefined();
        expect(await store.projects.getByName("nope")).toBeUndefined();
      });

      it("rejects a taken project name with ConflictError", async () => {
        await project("library");
        await expect(project("library")).rejects.toBeInstanceOf(ConflictError);
        await expect(project("library")).rejects.toThrow(/library/);
        expect((await store.projects.list({}, ALL)).total).toBe(1);
      });

      it("lists projects by name with filters, offset, limit and total", async () => {
        const alice = await user("alice");
        const bob = await user("bob");
        const created: Record<string, ProjectRecord> = {};
        for (const [projectName, isPublic] of [
          ["zeta", true],
          ["alpha", false],
          ["team_a", true],
          ["teamxa", false],
          ["beta", undefined],
        ] as const) {
          created[projectName] = await project(projectName, {
            metadata: isPublic === undefined ? {} : { public: String(isPublic) },
          });
        }
        const id = (projectName: string): number => {
          const p = created[projectName];
          if (!p) throw new Error(`no project ${projectName}`);
          return p.id;
        };
        await store.members.add(id("zeta"), alice.id, ROLES.guest, at(1));
        await store.members.add(id("alpha"), alice.id, ROLES.developer, at(1));
        await store.members.add(id("beta"), bob.id, ROLES.developer, at(1));

        const names = async (filter: Parameters<MetadataStore["projects"]["list"]>[0], window = ALL) => {
          const listing = await store.projects.list(filter, window);
          return { names: listing.items.map((p) => p.name), total: listing.total };
        };
        expect(await names({})).toEqual({ names: ["alpha", "beta", "team_a", "teamxa", "zeta"], total: 5 });
        expect(await names({}, { offset: 1, limit: 2 })).toEqual({ names: ["beta", "team_a"], total: 5 });
        expect(await names({}, { offset: 5, limit: 2 })).toEqual({ names: [], total: 5 });
        expect(await names({ name: "ta" })).toEqual({ names: ["beta", "zeta"], total: 2 });
        // "_" is a plain character: teamxa does not match.
        expect(await names({ name: "m_" })).toEqual({ names: ["team_a"], total: 1 });
        expect(await names({ public: true })).toEqual({ names: ["team_a", "zeta"], total: 2 });
        // Without a "public" entry a project is not public.
        expect(await names({ public: false })).toEqual({ names: ["alpha", "beta", "teamxa"], total: 3 });
        expect(await names({ memberUserId: alice.id })).toEqual({ names: ["alpha", "zeta"], total: 2 });
        expect(await names({ memberUserId: alice.id, public: true })).toEqual({ names: ["zeta"], total: 1 });
        expect(await names({ ids: [id("teamxa"), id("alpha"), id("zeta") + 1000] })).toEqual({
          names: ["alpha", "teamxa"],
          total: 2,
        });
        expect(await names({ ids: [] })).toEqual({ names: [], total: 0 });
        expect(
          await names({ ids: [id("zeta"), id("beta"), id("alpha")], public: false }, { offset: 1, limit: 1 }),
        ).toEqual({ names: ["beta"], total: 2 });
        expect(await names({ memberUserId: bob.id, name: "zzz" })).toEqual({ names: [], total: 0 });
      });

      it("updates metadata, storage limit and registry, bumps updatedAt and returns the new record", async () => {
        const created = await project("library", { metadata: { public: "false" }, storageLimit: -1 });
        const updated = await store.projects.update(
          created.id,
          { metadata: { public: "true", auto_scan: "true" }, storageLimit: 10_000 },
          at(5_000),
        );
        expect(updated).toEqual({
          ...created,
          metadata: { public: "true", auto_scan: "true" },
          storageLimit: 10_000,
          updatedAt: at(5_000),
        });
        expect(await store.projects.get(created.id)).toEqual(updated);
        const withRegistry = await store.projects.update(created.id, { registryId: 3 }, at(6_000));
        expect(withRegistry).toEqual({ ...updated, registryId: 3, updatedAt: at(6_000) });
        expect(await store.projects.update(created.id + 1000, { storageLimit: 1 }, at(7_000))).toBeUndefined();
      });

      it("deletes a project with its members and robots, keeping system robots and the audit log", async () => {
        const alice = await user("alice");
        const p = await project("p");
        const other = await project("other");
        const member = await store.members.add(p.id, alice.id, ROLES.maintainer, at(1));
        await store.members.add(other.id, alice.id, ROLES.guest, at(1));
        const projectRobot = await store.robots.create(newRobot("p+ci", { level: "project", projectId: p.id }), at(1));
        const otherRobot = await store.robots.create(
          newRobot("other+ci", { level: "project", projectId: other.id }),
          at(1),
        );
        const systemRobot = await store.robots.create(newRobot("ops"), at(1));
        await store.audit.append(entry({ projectId: p.id, resource: "project/p", resourceType: "project" }));

        expect(await store.projects.delete(p.id)).toBe(true);
        expect(await store.projects.delete(p.id)).toBe(false);
        expect(await store.projects.get(p.id)).toBeUndefined();
        expect(await store.projects.getByName("p")).toBeUndefined();
        expect(await store.members.get(p.id, member.id)).toBeUndefined();
        expect(await store.members.list(p.id)).toEqual([]);
        expect(await store.robots.get(projectRobot.id)).toBeUndefined();
        expect(await store.robots.get(otherRobot.id)).toEqual(otherRobot);
        expect(await store.robots.get(systemRobot.id)).toEqual(systemRobot);
        expect(await store.members.roleOf(other.id, alice.id)).toBe(ROLES.guest);
        expect(await store.users.get(alice.id)).toBeDefined();
        const log = await store.audit.list({ projectId: p.id }, ALL);
        expect(log.total).toBe(1);
        expect(log.items[0]?.resource).toBe("project/p");
        // A new project with the same name gets a new id, so it does not inherit the old log.
        const again = await project("p");
        expect(again.id).not.toBe(p.id);
        expect((await store.audit.list({ projectId: again.id }, ALL)).total).toBe(0);
      });

      it("counts the repositories named <project>/…", async () => {
        const record = {
          digest: digestOf("layer"),
          size: 10,
          parts: [{ path: "blobs/layer", size: 10 }],
          createdAt: at(0),
        };
        await store.blobs.create(record);
        // "pyx/e" would match a LIKE 'p_x/%'.
        for (const repository of ["p/a", "p/b", "p/b/c", "p_x/c", "pyx/e", "p2/d", "px", "p", "o/p"]) {
          await store.blobs.link(repository, record.digest);
        }
        expect(await store.projects.repositoryCount("p")).toBe(3);
        expect(await store.projects.repositoryCount("p_x")).toBe(1);
        expect(await store.projects.repositoryCount("p2")).toBe(1);
        expect(await store.projects.repositoryCount("o")).toBe(1);
        expect(await store.projects.repositoryCount("q")).toBe(0);
      });

      it("sums the sizes of the distinct blobs linked in the project's repositories", async () => {
        const blob = (blobName: string, size: number) => ({
          digest: digestOf(blobName),
          size,
          parts: [{ path: `blobs/${blobName}`, size }],
          createdAt: at(0),
        });
        const shared = blob("shared", 1_000);
        const onlyA = blob("only-a", 20);
        const onlyB = blob("only-b", 300);
        const elsewhere = blob("elsewhere", 4_000);
        const inP2 = blob("in-p2", 50_000);
        for (const b of [shared, onlyA, onlyB, elsewhere, inP2]) await store.blobs.create(b);
        await store.blobs.link("p/a", shared.digest);
        await store.blobs.link("p/b", shared.digest);
        await store.blobs.link("p/a", onlyA.digest);
        await store.blobs.link("p/b", onlyB.digest);
        await store.blobs.link("p_x/c", elsewhere.digest);
        await store.blobs.link("p_x/c", shared.digest);
        await store.blobs.link("p2/d", inP2.digest);
        await store.blobs.link("pyx/e", inP2.digest);

        expect(await store.projects.storageUsed("p")).toBe(1_320);
        expect(await store.projects.storageUsed("p_x")).toBe(5_000);
        expect(await store.projects.storageUsed("p2")).toBe(50_000);
        expect(await store.projects.storageUsed("q")).toBe(0);
        // Unlinked from one repository, the shared blob still counts through the other.
        await store.blobs.unlink("p/a", shared.digest);
        expect(await store.projects.storageUsed("p")).toBe(1_320);
        await store.blobs.unlink("p/b", shared.digest);
        expect(await store.projects.storageUsed("p")).toBe(320);
      });

      it("reports every project's usage in one call: storage, repositories and members", async () => {
        const p = await project("p");
        const px = await project("p_x");
        await project("empty");
        const alice = await user("alice");
        const bob = await user("bob");
        await store.members.add(p.id, alice.id, ROLES.developer, at(1));
        await store.members.add(p.id, bob.id, ROLES.guest, at(1));
        await store.members.add(px.id, bob.id, ROLES.maintainer, at(1));
        const blob = (blobName: string, size: number) => ({
          digest: digestOf(blobName),
          size,
          parts: [{ path: `blobs/${blobName}`, size }],
          createdAt: at(0),
        });
        const shared = blob("shared", 1_000);
        const own = blob("own", 20);
        for (const b of [shared, own]) await store.blobs.create(b);
        // Shared by two repositories of p: counted once; "pyx/e" and "p" belong to no project here.
        for (const repository of ["p/a", "p/b", "p_x/c", "pyx/e", "p"])
          await store.blobs.link(repository, shared.digest);
        await store.blobs.link("p/b", own.digest);

        expect(await store.projects.usage()).toEqual([
          { name: "empty", storageUsed: 0, repositories: 0, members: 0 },
          { name: "p", storageUsed: 1_020, repositories: 2, members: 2 },
          { name: "p_x", storageUsed: 1_000, repositories: 1, members: 1 },
        ]);
        for (const usage of await store.projects.usage()) {
          expect(usage.storageUsed).toBe(await store.projects.storageUsed(usage.name));
          expect(usage.repositories).toBe(await store.projects.repositoryCount(usage.name));
        }
      });
    });

    describe("members", () => {
      it("adds members and reads their roles", async () => {
        const alice = await user("alice");
        const bob = await user("bob");
        const p = await project("p");
        const other = await project("other");
        const first = await store.members.add(p.id, alice.id, ROLES.projectAdmin, at(1));
        expect(first).toEqual({
          id: first.id,
          projectId: p.id,
          userId: alice.id,
          roleId: ROLES.projectAdmin,
          createdAt: at(1),
          updatedAt: at(1),
        });
        const second = await store.members.add(p.id, bob.id, ROLES.limitedGuest, at(2));
        await store.members.add(other.id, bob.id, ROLES.maintainer, at(3));

        expect(await store.members.roleOf(p.id, alice.id)).toBe(ROLES.projectAdmin);
        expect(await store.members.roleOf(p.id, bob.id)).toBe(ROLES.limitedGuest);
        expect(await store.members.roleOf(other.id, bob.id)).toBe(ROLES.maintainer);
        expect(await store.members.roleOf(other.id, alice.id)).toBeUndefined();
        expect(await store.members.get(p.id, first.id)).toEqual(first);
        // A member id of another project is not found through this one.
        expect(await store.members.get(other.id, first.id)).toBeUndefined();
        expect(await store.members.list(p.id)).toEqual([first, second]);
        expect((await store.members.list(other.id)).map((m) => m.userId)).toEqual([bob.id]);
      });

      it("rejects a second membership of the same user in a project with ConflictError", async () => {
        const alice = await user("alice");
        const p = await project("p");
        const member = await store.members.add(p.id, alice.id, ROLES.guest, at(1));
        await expect(store.members.add(p.id, alice.id, ROLES.developer, at(2))).rejects.toBeInstanceOf(ConflictError);
        expect(await store.members.list(p.id)).toEqual([member]);
        expect(await store.members.roleOf(p.id, alice.id)).toBe(ROLES.guest);
      });

      it("updates a member's role, bumping updatedAt, only through its project", async () => {
        const alice = await user("alice");
        const p = await project("p");
        const other = await project("other");
        const member = await store.members.add(p.id, alice.id, ROLES.guest, at(1));
        expect(await store.members.update(other.id, member.id, ROLES.projectAdmin, at(2))).toBeUndefined();
        expect(await store.members.roleOf(p.id, alice.id)).toBe(ROLES.guest);
        const updated = await store.members.update(p.id, member.id, ROLES.developer, at(3));
        expect(updated).toEqual({ ...member, roleId: ROLES.developer, updatedAt: at(3) });
        expect(await store.members.roleOf(p.id, alice.id)).toBe(ROLES.developer);
        expect(await store.members.update(p.id, member.id + 1000, ROLES.guest, at(4))).toBeUndefined();
      });

      it("deletes a member only through its project", async () => {
        const alice = await user("alice");
        const bob = await user("bob");
        const p = await project("p");
        const other = await project("other");
        const member = await store.members.add(p.id, alice.id, ROLES.guest, at(1));
        const kept = await store.members.add(p.id, bob.id, ROLES.guest, at(1));
        expect(await store.members.delete(other.id, member.id)).toBe(false);
        expect(await store.members.delete(p.id, member.id)).toBe(true);
        expect(await store.members.delete(p.id, member.id)).toBe(false);
        expect(await store.members.roleOf(p.id, alice.id)).toBeUndefined();
        expect(await store.members.list(p.id)).toEqual([kept]);
        // The user may be added again.
        expect((await store.members.add(p.id, alice.id, ROLES.developer, at(2))).roleId).toBe(ROLES.developer);
      });
    });

    describe("robots", () => {
      it("creates a robot, round-tripping its permissions, and gets it back by id and by name", async () => {
        const p = await project("library");
        const created = await store.robots.create(
          newRobot("library+ci", { level: "project", projectId: p.id, disabled: true, expiresAt: -1, duration: -1 }),
          at(1),
        );
        expect(created).toEqual({
          ...newRobot("library+ci", { level: "project", projectId: p.id, disabled: true, expiresAt: -1, duration: -1 }),
          id: created.id,
          createdAt: at(1),
          updatedAt: at(1),
        });
        expect(created.permissions).toEqual(PERMISSIONS);
        const system = await store.robots.create(newRobot("ops"), at(2));
        expect(system.projectId).toBeUndefined();
        expect(system.disabled).toBe(false);
        expect(await store.robots.get(created.id)).toEqual(created);
        expect(await store.robots.getByName("robot$library+ci")).toEqual(created);
        expect(await store.robots.get(system.id)).toEqual(system);
        expect(await store.robots.get(system.id + created.id + 1000)).toBeUndefined();
        expect(await store.robots.getByName("robot$nope")).toBeUndefined();
      });

      it("rejects a taken robot name with ConflictError", async () => {
        await store.robots.create(newRobot("ops"), at(1));
        await expect(store.robots.create(newRobot("ops", { description: "again" }), at(2))).rejects.toBeInstanceOf(
          ConflictError,
        );
        expect((await store.robots.list({}, ALL)).total).toBe(1);
      });

      it("lists robots by id with filters, offset, limit and total", async () => {
        const p = await project("p");
        const q = await project("q");
        const created = [
          await store.robots.create(newRobot("zz-ops"), at(1)),
          await store.robots.create(newRobot("p+ci", { level: "project", projectId: p.id }), at(2)),
          await store.robots.create(newRobot("q+ci", { level: "project", projectId: q.id }), at(3)),
          await store.robots.create(newRobot("p+deploy", { level: "project", projectId: p.id }), at(4)),
          await store.robots.create(newRobot("a-ops"), at(5)),
        ];
        const names = async (filter: Parameters<MetadataStore["robots"]["list"]>[0], window = ALL) => {
          const listing = await store.robots.list(filter, window);
          return { names: listing.items.map((r) => r.name), total: listing.total };
        };
        expect(await names({})).toEqual({ names: created.map((r) => r.name), total: 5 });
        expect(await names({}, { offset: 3, limit: 5 })).toEqual({
          names: ["robot$p+deploy", "robot$a-ops"],
          total: 5,
        });
        expect(await names({ level: "system" })).toEqual({ names: ["robot$zz-ops", "robot$a-ops"], total: 2 });
        expect(await names({ level: "project", projectId: p.id })).toEqual({
          names: ["robot$p+ci", "robot$p+deploy"],
          total: 2,
        });
        expect(await names({ projectId: p.id }, { offset: 0, limit: 1 })).toEqual({ names: ["robot$p+ci"], total: 2 });
        expect(await names({ name: "+ci" })).toEqual({ names: ["robot$p+ci", "robot$q+ci"], total: 2 });
        expect(await names({ name: "ops", level: "project" })).toEqual({ names: [], total: 0 });
      });

      it("updates the given fields only, bumps updatedAt and returns the new record", async () => {
        const created = await store.robots.create(newRobot("ops"), at(1));
        const permissions: RobotPermission[] = [
          { kind: "project", namespace: "*", access: [{ resource: "artifact", action: "delete", effect: "deny" }] },
        ];
        const updated = await store.robots.update(
          created.id,
          { disabled: true, secretHash: "rotated", permissions, expiresAt: 1_800_000_000 },
          at(5_000),
        );
        expect(updated).toEqual({
          ...created,
          disabled: true,
          secretHash: "rotated",
          permissions,
          expiresAt: 1_800_000_000,
          updatedAt: at(5_000),
        });
        expect(await store.robots.get(created.id)).toEqual(updated);
        const again = await store.robots.update(
          created.id,
          { description: "new", duration: 7, disabled: false },
          at(6_000),
        );
        expect(again).toEqual({ ...updated, description: "new", duration: 7, disabled: false, updatedAt: at(6_000) });
        expect(await store.robots.update(created.id + 1000, { description: "x" }, at(7_000))).toBeUndefined();
      });

      it("deletes a robot", async () => {
        const ops = await store.robots.create(newRobot("ops"), at(1));
        const ci = await store.robots.create(newRobot("ci"), at(1));
        expect(await store.robots.delete(ops.id)).toBe(true);
        expect(await store.robots.delete(ops.id)).toBe(false);
        expect(await store.robots.get(ops.id)).toBeUndefined();
        expect(await store.robots.getByName("robot$ops")).toBeUndefined();
        expect(await store.robots.list({}, ALL)).toEqual({ items: [ci], total: 1 });
      });
    });

    describe("audit log", () => {
      it("appends entries and lists them newest first, the later append first at equal times", async () => {
        await store.audit.append(entry({ resource: "a", opTime: at(2_000) }));
        await store.audit.append(entry({ resource: "b", opTime: at(1_000), success: false, projectId: 4 }));
        await store.audit.append(entry({ resource: "c", opTime: at(3_000) }));
        await store.audit.append(entry({ resource: "d", opTime: at(2_000) }));
        const log = await store.audit.list({}, ALL);
        expect(log.total).toBe(4);
        expect(log.items.map((e) => e.resource)).toEqual(["c", "d", "a", "b"]);
        const b = log.items[3];
        expect(b).toEqual({ ...entry({ resource: "b", opTime: at(1_000), success: false, projectId: 4 }), id: b?.id });
        expect(b?.opTime).toBeInstanceOf(Date);
        expect(log.items[0]?.projectId).toBeUndefined();
        expect(log.items[0]?.success).toBe(true);
        const ids = log.items.map((e) => e.id);
        expect(new Set(ids).size).toBe(4);

        const page = await store.audit.list({}, { offset: 1, limit: 2 });
        expect(page.items.map((e) => e.resource)).toEqual(["d", "a"]);
        expect(page.total).toBe(4);
      });

      it("filters by project, user, operation, resource type, resource substring and time range", async () => {
        await store.audit.append(
          entry({ username: "alice", resource: "p/app:1", operation: "push", projectId: 1, opTime: at(1_000) }),
        );
        await store.audit.append(
          entry({ username: "bob", resource: "p/app:1", operation: "pull", projectId: 1, opTime: at(2_000) }),
        );
        await store.audit.append(
          entry({
            username: "alice",
            resource: "project/q",
            resourceType: "project",
            operation: "create",
            projectId: 2,
            opTime: at(3_000),
          }),
        );
        await store.audit.append(
          entry({
            username: "alice",
            resource: "robot$ops",
            resourceType: "robot",
            operation: "create",
            opTime: at(4_000),
          }),
        );
        await store.audit.append(
          entry({ username: "alice_x", resource: "q/db:2", operation: "delete", projectId: 2, opTime: at(5_000) }),
        );

        const resources = async (filter: Parameters<MetadataStore["audit"]["list"]>[0], window = ALL) => {
          const listing = await store.audit.list(filter, window);
          return { resources: listing.items.map((e) => e.resource), total: listing.total };
        };
        expect(await resources({ projectId: 1 })).toEqual({ resources: ["p/app:1", "p/app:1"], total: 2 });
        expect(await resources({ projectId: 2 }, { offset: 0, limit: 1 })).toEqual({ resources: ["q/db:2"], total: 2 });
        expect(await resources({ projectIds: [1, 2] })).toEqual({
          resources: ["q/db:2", "project/q", "p/app:1", "p/app:1"],
          total: 4,
        });
        expect(await resources({ projectIds: [] })).toEqual({ resources: [], total: 0 });
        // The user name is matched exactly: not alice_x.
        expect(await resources({ username: "alice" })).toEqual({
          resources: ["robot$ops", "project/q", "p/app:1"],
          total: 3,
        });
        expect(await resources({ operations: ["create"] })).toEqual({
          resources: ["robot$ops", "project/q"],
          total: 2,
        });
        expect(await resources({ operations: ["pull", "delete"] })).toEqual({
          resources: ["q/db:2", "p/app:1"],
          total: 2,
        });
        expect(await resources({ operations: [] })).toEqual({ resources: [], total: 0 });
        expect(await resources({ resourceTypes: ["project", "robot"] })).toEqual({
          resources: ["robot$ops", "project/q"],
          total: 2,
        });
        expect(await resources({ resourceTypes: ["artifact"] })).toEqual({
          resources: ["q/db:2", "p/app:1", "p/app:1"],
          total: 3,
        });
        expect(await resources({ resource: "app" })).toEqual({ resources: ["p/app:1", "p/app:1"], total: 2 });
        expect(await resources({ resource: "$" })).toEqual({ resources: ["robot$ops"], total: 1 });
        expect(await resources({ resource: "_" })).toEqual({ resources: [], total: 0 });
        // The range includes both ends.
        expect(await resources({ from: at(2_000), to: at(4_000) })).toEqual({
          resources: ["robot$ops", "project/q", "p/app:1"],
          total: 3,
        });
        expect(await resources({ from: at(4_001) })).toEqual({ resources: ["q/db:2"], total: 1 });
        expect(await resources({ to: at(1_999) })).toEqual({ resources: ["p/app:1"], total: 1 });
        expect(await resources({ username: "alice", projectId: 2, operations: ["create"], from: at(0) })).toEqual({
          resources: ["project/q"],
          total: 1,
        });
      });
    });

    describe("audit log purge", () => {
      const append = (resource: string, operation: string, resourceType: string, ms: number): Promise<void> =>
        store.audit.append(entry({ resource, operation, resourceType, opTime: at(ms) }));
      const remaining = async (): Promise<string[]> =>
        (await store.audit.list({}, ALL)).items.map((e) => e.resource).sort();

      it("selects entries older than the cut-off by operation or by event type", async () => {
        await append("push-old", "create", "artifact", 1_000);
        await append("pull-old", "pull", "artifact", 2_000);
        await append("user-old", "create", "user", 3_000);
        await append("delete-old", "delete", "project", 4_000);
        await append("pull-new", "pull", "artifact", 9_000);
        const purge = { before: at(5_000), operations: ["pull"], eventTypes: ["create_artifact"] };
        expect(await store.audit.countPurgeable(purge)).toBe(2);
        expect(await store.audit.countPurgeable({ ...purge, operations: [], eventTypes: [] })).toBe(0);
        expect(await store.audit.countPurgeable({ before: at(10_000), operations: ["create"], eventTypes: [] })).toBe(
          2,
        );
        // The cut-off is exclusive.
        expect(await store.audit.countPurgeable({ before: at(1_000), operations: ["create"], eventTypes: [] })).toBe(0);
        expect(await store.audit.deletePurgeable(purge, 100)).toBe(2);
        expect(await remaining()).toEqual(["delete-old", "pull-new", "user-old"]);
      });

      it("deletes at most the limit, oldest first", async () => {
        for (let i = 0; i < 5; i++) await append(`e${i}`, "pull", "artifact", 1_000 + i);
        const purge = { before: at(9_000), operations: ["pull"], eventTypes: [] };
        expect(await store.audit.deletePurgeable(purge, 2)).toBe(2);
        expect(await remaining()).toEqual(["e2", "e3", "e4"]);
        expect(await store.audit.deletePurgeable(purge, 10)).toBe(3);
        expect(await store.audit.deletePurgeable(purge, 10)).toBe(0);
      });
    });

    describe("transactions", () => {
      it("rolls back identity writes with a rejected transaction", async () => {
        const alice = await user("alice");
        const p = await project("p");
        const failure = new Error("work failed");
        await expect(
          store.transaction(async (tx) => {
            const bob = await tx.users.create(newUser("bob"), at(1));
            const q = await tx.projects.create(newProject("q", bob.id), at(1));
            await tx.members.add(q.id, bob.id, ROLES.projectAdmin, at(1));
            await tx.members.add(p.id, alice.id, ROLES.developer, at(1));
            await tx.robots.create(newRobot("q+ci", { level: "project", projectId: q.id }), at(1));
            await tx.audit.append(entry({ resource: "project/q", projectId: q.id }));
            await tx.users.update(alice.id, { sysadmin: true }, at(1));
            await tx.projects.update(p.id, { storageLimit: 5 }, at(1));
            // The transaction reads its own writes.
            expect((await tx.users.getByName("bob"))?.id).toBe(bob.id);
            expect(await tx.members.roleOf(q.id, bob.id)).toBe(ROLES.projectAdmin);
            expect((await tx.projects.list({ memberUserId: alice.id }, ALL)).total).toBe(1);
            // A conflict inside the transaction is reported without ending it.
            await expect(tx.users.create(newUser("alice", { email: "" }), at(1))).rejects.toBeInstanceOf(ConflictError);
            expect((await tx.audit.list({}, ALL)).total).toBe(1);
            throw failure;
          }),
        ).rejects.toBe(failure);

        expect(await store.users.getByName("bob")).toBeUndefined();
        expect(await store.projects.getByName("q")).toBeUndefined();
        expect(await store.members.roleOf(p.id, alice.id)).toBeUndefined();
        expect(await store.robots.list({}, ALL)).toEqual({ items: [], total: 0 });
        expect(await store.audit.list({}, ALL)).toEqual({ items: [], total: 0 });
        expect(await store.users.get(alice.id)).toEqual(alice);
        expect(await store.projects.get(p.id)).toEqual(p);
        expect((await store.users.list({}, ALL)).total).toBe(2);
      });

      it("commits identity writes with a resolved transaction", async () => {
        const id = await store.transaction(async (tx) => {
          const bob = await tx.users.create(newUser("bob"), at(1));
          const q = await tx.projects.create(newProject("q", bob.id), at(1));
          await tx.members.add(q.id, bob.id, ROLES.projectAdmin, at(1));
          await tx.audit.append(entry({ resource: "project/q", projectId: q.id }));
          return q.id;
        });
        expect((await store.projects.get(id))?.name).toBe("q");
        const bob = await store.users.getByName("bob");
        expect(bob).toBeDefined();
        expect(await store.members.roleOf(id, bob?.id ?? -1)).toBe(ROLES.projectAdmin);
        expect((await store.audit.list({ projectId: id }, ALL)).total).toBe(1);
      });
    });
  });
}
