// The behaviour every metadata store backend must have in its declarations area (which Pulumi
// stack declared an object), as one vitest suite each backend's test file calls with a way to
// open a fresh, empty store. Semantics come from the doc comments in
// src/metadata/declaration-store.ts.

import { describe, expect, it } from "vitest";
import type { NewDeclaration } from "../../src/metadata/declaration-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openEachTest, type ContractStore } from "./metadata-store-contract.ts";

/** A fixed time with milliseconds, so that a store keeping only seconds fails. */
const T0 = Date.parse("2024-05-06T07:08:09.123Z");
const at = (offsetMs: number): Date => new Date(T0 + offsetMs);
const ALL = { offset: 0, limit: 100 };

function declaration(kind: string, key: string, overrides: Partial<NewDeclaration> = {}): NewDeclaration {
  return {
    kind,
    key,
    stack: "acme/airlock/prod",
    resource: `urn:pulumi:prod::airlock::pulumi-nodejs:dynamic/registry:X::${key}`,
    ...overrides,
  };
}

export function declarationStoreContract(name: string, setup: () => Promise<ContractStore>): void {
  describe(`declaration store contract: ${name}`, () => {
    let store!: MetadataStore;
    openEachTest(setup, (opened) => (store = opened));

    async function project(projectName: string): Promise<number> {
      return (await store.projects.create({ name: projectName, ownerId: 1, metadata: {}, storageLimit: -1 }, at(0))).id;
    }

    it("records a declaration, reads it back, and replaces it on a second put", async () => {
      const p = await project("alpha");
      const first = await store.declarations.put(declaration("project", "alpha", { projectId: p }), at(0));
      expect(first).toEqual({
        created: true,
        record: { ...declaration("project", "alpha", { projectId: p }), updatedAt: at(0) },
      });
      expect(await store.declarations.get("project", "alpha")).toEqual(first?.record);
      const second = await store.declarations.put(
        declaration("project", "alpha", { projectId: p, stack: "acme/airlock/dev", resource: "urn:x" }),
        at(5),
      );
      expect(second?.created).toBe(false);
      expect(await store.declarations.get("project", "alpha")).toEqual({
        kind: "project",
        key: "alpha",
        projectId: p,
        stack: "acme/airlock/dev",
        resource: "urn:x",
        updatedAt: at(5),
      });
      // The same key under another kind is another object.
      expect(await store.declarations.get("retention", "alpha")).toBeUndefined();
    });

    it("keeps system objects without a project", async () => {
      const made = await store.declarations.put(declaration("registry", "hub"), at(1));
      expect(made?.record.projectId).toBeUndefined();
      expect(await store.declarations.get("registry", "hub")).toEqual(made?.record);
    });

    it("refuses a declaration naming a project that does not exist, writing nothing", async () => {
      expect(await store.declarations.put(declaration("project", "ghost", { projectId: 999_999 }), at(0))).toBe(
        undefined,
      );
      expect(await store.declarations.get("project", "ghost")).toBeUndefined();
    });

    it("lists by kind then key in byte order, filtered by kind, key and projects, with a total", async () => {
      const a = await project("alpha");
      const b = await project("beta");
      await store.declarations.put(declaration("robot", "robot$beta+ci", { projectId: b }), at(0));
      await store.declarations.put(declaration("project", "beta", { projectId: b }), at(0));
      await store.declarations.put(declaration("project", "alpha", { projectId: a }), at(0));
      await store.declarations.put(declaration("member", "alpha/Zed", { projectId: a }), at(0));
      await store.declarations.put(declaration("member", "alpha/al", { projectId: a }), at(0));
      await store.declarations.put(declaration("registry", "hub"), at(0));
      const keys = (listing: { items: { kind: string; key: string }[] }) =>
        listing.items.map((d) => `${d.kind}:${d.key}`);

      const all = await store.declarations.list({}, ALL);
      expect(all.total).toBe(6);
      expect(keys(all)).toEqual([
        "member:alpha/Zed",
        "member:alpha/al",
        "project:alpha",
        "project:beta",
        "registry:hub",
        "robot:robot$beta+ci",
      ]);
      expect(keys(await store.declarations.list({ kind: "project" }, ALL))).toEqual(["project:alpha", "project:beta"]);
      expect(keys(await store.declarations.list({ kind: "project", key: "beta" }, ALL))).toEqual(["project:beta"]);
      expect(keys(await store.declarations.list({ key: "hub" }, ALL))).toEqual(["registry:hub"]);
      // Only the given projects: system objects are left out.
      const inBeta = await store.declarations.list({ projectIds: [b] }, ALL);
      expect(keys(inBeta)).toEqual(["project:beta", "robot:robot$beta+ci"]);
      expect(inBeta.total).toBe(2);
      expect((await store.declarations.list({ projectIds: [] }, ALL)).total).toBe(0);
      const page = await store.declarations.list({}, { offset: 2, limit: 2 });
      expect(keys(page)).toEqual(["project:alpha", "project:beta"]);
      expect(page.total).toBe(6);
    });

    it("deletes one declaration, and says when there was none", async () => {
      await store.declarations.put(declaration("user", "alice"), at(0));
      expect(await store.declarations.delete("user", "alice")).toBe(true);
      expect(await store.declarations.delete("user", "alice")).toBe(false);
      expect(await store.declarations.get("user", "alice")).toBeUndefined();
    });

    it("forgets a project's declarations when the project is deleted, and only those", async () => {
      const a = await project("alpha");
      const b = await project("beta");
      await store.declarations.put(declaration("project", "alpha", { projectId: a }), at(0));
      await store.declarations.put(declaration("webhook_policy", "alpha/hooks", { projectId: a }), at(0));
      await store.declarations.put(declaration("project", "beta", { projectId: b }), at(0));
      await store.declarations.put(declaration("scanner", "trivy"), at(0));
      expect(await store.projects.delete(a)).toBe(true);
      const left = await store.declarations.list({}, ALL);
      expect(left.items.map((d) => `${d.kind}:${d.key}`)).toEqual(["project:beta", "scanner:trivy"]);
    });

    it("writes inside a transaction, and not at all when it rolls back", async () => {
      await store
        .transaction(async (tx) => {
          await tx.declarations.put(declaration("user", "bob"), at(0));
          expect(await tx.declarations.get("user", "bob")).toBeDefined();
          throw new Error("roll back");
        })
        .catch(() => undefined);
      expect(await store.declarations.get("user", "bob")).toBeUndefined();
    });
  });
}
