// The behaviour every metadata store backend must have in its registries area (upstream
// endpoints), as one vitest suite each backend's test file calls with a way to open a fresh,
// empty store. Semantics come from the doc comments in src/metadata/registry-store.ts.

import { describe, expect, it } from "vitest";
import { ConflictError } from "../../src/metadata/identity-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import type { NewRegistry } from "../../src/metadata/registry-store.ts";
import { openEachTest, type ContractStore } from "./metadata-store-contract.ts";

/** A fixed time with milliseconds, so that a store keeping only seconds fails. */
const T0 = Date.parse("2024-05-06T07:08:09.123Z");
const at = (offsetMs: number): Date => new Date(T0 + offsetMs);
const ALL = { offset: 0, limit: 100 };

function newRegistry(name: string, overrides: Partial<NewRegistry> = {}): NewRegistry {
  return {
    name,
    type: "docker-registry",
    url: `https://${name}.example`,
    description: `${name} upstream`,
    insecure: false,
    credential: { type: "basic", accessKey: `${name}-user`, sealedSecret: `sealed:${name}` },
    status: "unknown",
    ...overrides,
  };
}

export function registryStoreContract(name: string, setup: () => Promise<ContractStore>): void {
  describe(`registry store contract: ${name}`, () => {
    let store!: MetadataStore;
    openEachTest(setup, (opened) => (store = opened));

    it("creates an endpoint and reads it back by id and by name", async () => {
      const made = await store.registries.create(
        newRegistry("hub", { caCertificate: "-----BEGIN CERTIFICATE-----\n…", insecure: true }),
        at(0),
      );
      expect(made).toEqual({
        ...newRegistry("hub"),
        caCertificate: "-----BEGIN CERTIFICATE-----\n…",
        insecure: true,
        id: made.id,
        createdAt: at(0),
        updatedAt: at(0),
      });
      expect(await store.registries.get(made.id)).toEqual(made);
      expect(await store.registries.getByName("hub")).toEqual(made);
      expect(await store.registries.get(made.id + 1)).toBeUndefined();
      expect(await store.registries.getByName("other")).toBeUndefined();
    });

    it("stores an anonymous endpoint without a credential", async () => {
      const made = await store.registries.create(newRegistry("public", { credential: undefined }), at(0));
      expect(made.credential).toBeUndefined();
      expect((await store.registries.get(made.id))?.credential).toBeUndefined();
    });

    it("refuses a second endpoint with a taken name, on create and on rename", async () => {
      await store.registries.create(newRegistry("hub"), at(0));
      const quay = await store.registries.create(newRegistry("quay"), at(0));
      await expect(store.registries.create(newRegistry("hub"), at(1))).rejects.toBeInstanceOf(ConflictError);
      await expect(store.registries.update(quay.id, { name: "hub" }, at(1))).rejects.toBeInstanceOf(ConflictError);
    });

    it("lists by id with exact and substring filters, counting the total", async () => {
      for (const n of ["hub", "quay", "ghcr-a", "ghcr-b"]) {
        await store.registries.create(
          newRegistry(n, { type: n.startsWith("ghcr") ? "github-ghcr" : "docker-hub" }),
          at(0),
        );
      }
      const all = await store.registries.list({}, ALL);
      expect(all.total).toBe(4);
      expect(all.items.map((r) => r.name)).toEqual(["hub", "quay", "ghcr-a", "ghcr-b"]);
      const page = await store.registries.list({}, { offset: 1, limit: 2 });
      expect(page).toEqual({ items: all.items.slice(1, 3), total: 4 });
      expect((await store.registries.list({ name: { value: "ghcr", fuzzy: true } }, ALL)).total).toBe(2);
      expect((await store.registries.list({ name: { value: "ghcr", fuzzy: false } }, ALL)).total).toBe(0);
      expect((await store.registries.list({ type: "github-ghcr" }, ALL)).items.map((r) => r.name)).toEqual([
        "ghcr-a",
        "ghcr-b",
      ]);
      expect((await store.registries.list({ url: { value: "https://quay.example", fuzzy: false } }, ALL)).total).toBe(
        1,
      );
    });

    it("updates the fields given, removes the credential and CA with null, and keeps the rest", async () => {
      const made = await store.registries.create(newRegistry("hub", { caCertificate: "pem" }), at(0));
      const renamed = await store.registries.update(made.id, { name: "docker-hub", insecure: true }, at(5));
      expect(renamed).toEqual({ ...made, name: "docker-hub", insecure: true, updatedAt: at(5) });
      const rotated = await store.registries.update(
        made.id,
        { credential: { type: "basic", accessKey: "new-user", sealedSecret: "sealed:new" } },
        at(6),
      );
      expect(rotated?.credential).toEqual({ type: "basic", accessKey: "new-user", sealedSecret: "sealed:new" });
      expect(rotated?.caCertificate).toBe("pem");
      const cleared = await store.registries.update(made.id, { credential: null, caCertificate: null }, at(7));
      expect(cleared?.credential).toBeUndefined();
      expect(cleared?.caCertificate).toBeUndefined();
      expect(await store.registries.get(made.id)).toEqual(cleared);
      expect(await store.registries.update(made.id + 100, { name: "x" }, at(8))).toBeUndefined();
    });

    it("records a health status without touching the update time", async () => {
      const made = await store.registries.create(newRegistry("hub"), at(0));
      await store.registries.setStatus(made.id, "healthy");
      expect(await store.registries.get(made.id)).toEqual({ ...made, status: "healthy" });
      await store.registries.setStatus(made.id + 100, "healthy");
    });

    it("tells which projects use an endpoint, and deletes it", async () => {
      const hub = await store.registries.create(newRegistry("hub"), at(0));
      const quay = await store.registries.create(newRegistry("quay"), at(0));
      const owner = await store.users.create(
        { username: "owner", email: "", realname: "", comment: "", passwordHash: "h", sysadmin: false },
        at(0),
      );
      const project = (name: string, registryId?: number) =>
        store.projects.create(
          { name, ownerId: owner.id, metadata: {}, storageLimit: -1, ...(registryId !== undefined && { registryId }) },
          at(0),
        );
      const a = await project("proxy-a", hub.id);
      const b = await project("proxy-b", hub.id);
      await project("plain");
      expect(await store.registries.projectsUsing(hub.id)).toEqual([a.id, b.id]);
      expect(await store.registries.projectsUsing(quay.id)).toEqual([]);
      expect(await store.registries.delete(quay.id)).toBe(true);
      expect(await store.registries.delete(quay.id)).toBe(false);
      expect(await store.registries.get(quay.id)).toBeUndefined();
    });

    it("never reuses the id of a deleted endpoint", async () => {
      const first = await store.registries.create(newRegistry("hub"), at(0));
      await store.registries.delete(first.id);
      const second = await store.registries.create(newRegistry("hub"), at(1));
      expect(second.id).toBeGreaterThan(first.id);
    });

    it("creates endpoints within a transaction, or not at all", async () => {
      await expect(
        store.transaction(async (tx) => {
          await tx.registries.create(newRegistry("hub"), at(0));
          throw new Error("rolled back");
        }),
      ).rejects.toThrow("rolled back");
      expect(await store.registries.getByName("hub")).toBeUndefined();
      await store.transaction(async (tx) => {
        const made = await tx.registries.create(newRegistry("hub"), at(0));
        expect(await tx.registries.get(made.id)).toEqual(made);
      });
      expect(await store.registries.getByName("hub")).toBeDefined();
    });
  });
}
