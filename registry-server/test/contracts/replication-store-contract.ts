// The behaviour every metadata store backend must have in its replication policies area, as one
// vitest suite each backend's test file calls with a way to open a fresh, empty store. Semantics
// come from the doc comments in src/metadata/replication-store.ts.

import { describe, expect, it } from "vitest";
import { ConflictError } from "../../src/metadata/identity-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import type { NewReplicationPolicy } from "../../src/metadata/replication-store.ts";
import { openEachTest, type ContractStore } from "./metadata-store-contract.ts";

/** A fixed time with milliseconds, so that a store keeping only seconds fails. */
const T0 = Date.parse("2024-05-06T07:08:09.123Z");
const at = (offsetMs: number): Date => new Date(T0 + offsetMs);
const ALL = { offset: 0, limit: 100 };

export function replicationStoreContract(name: string, setup: () => Promise<ContractStore>): void {
  describe(`replication store contract: ${name}`, () => {
    let store!: MetadataStore;
    let hub: number;
    let dr: number;
    openEachTest(setup, (opened) => (store = opened));

    async function endpoints(): Promise<void> {
      const registry = (registryName: string) =>
        store.registries.create(
          {
            name: registryName,
            type: "docker-registry",
            url: `https://${registryName}.example`,
            description: "",
            insecure: false,
            status: "unknown",
          },
          at(0),
        );
      hub = (await registry("hub")).id;
      dr = (await registry("dr-site")).id;
    }

    function policy(policyName: string, overrides: Partial<NewReplicationPolicy> = {}): NewReplicationPolicy {
      return {
        name: policyName,
        description: `${policyName} policy`,
        creator: "admin",
        srcRegistryId: hub,
        destNamespace: "mirror",
        destNamespaceReplaceCount: 1,
        trigger: { type: "scheduled", cron: "0 0 3 * * *" },
        filters: [
          { type: "name", value: "library/**" },
          { type: "tag", value: "v*", decoration: "matches" },
          { type: "label", value: ["prod", "signed"], decoration: "excludes" },
          { type: "resource", value: "image" },
        ],
        replicateDeletion: true,
        override: true,
        enabled: true,
        speedKbps: 1024,
        copyByChunk: true,
        singleActiveReplication: true,
        ...overrides,
      };
    }

    it("creates a policy and reads every field back by id and by name", async () => {
      await endpoints();
      const given = policy("pull-hub");
      const made = await store.replicationPolicies.create(given, at(0));
      expect(made).toEqual({ ...given, id: made.id, createdAt: at(0), updatedAt: at(0) });
      expect(made.destRegistryId).toBeUndefined();
      expect(await store.replicationPolicies.get(made.id)).toEqual(made);
      expect(await store.replicationPolicies.getByName("pull-hub")).toEqual(made);
      expect(await store.replicationPolicies.get(made.id + 1)).toBeUndefined();
      expect(await store.replicationPolicies.getByName("other")).toBeUndefined();
    });

    it("keeps a push policy's destination and a manual trigger without a cron", async () => {
      await endpoints();
      const made = await store.replicationPolicies.create(
        policy("push-dr", {
          srcRegistryId: undefined,
          destRegistryId: dr,
          trigger: { type: "manual" },
          filters: [],
          enabled: false,
          speedKbps: 0,
          destNamespaceReplaceCount: -1,
        }),
        at(0),
      );
      expect(made).toMatchObject({ destRegistryId: dr, trigger: { type: "manual" }, filters: [], enabled: false });
      expect(made.srcRegistryId).toBeUndefined();
      expect(made.destNamespaceReplaceCount).toBe(-1);
    });

    it("refuses a policy naming both registries or neither, and an endpoint that does not exist", async () => {
      await endpoints();
      await expect(store.replicationPolicies.create(policy("both", { destRegistryId: dr }), at(0))).rejects.toThrow();
      await expect(
        store.replicationPolicies.create(policy("neither", { srcRegistryId: undefined }), at(0)),
      ).rejects.toThrow();
      await expect(
        store.replicationPolicies.create(policy("ghost", { srcRegistryId: hub + dr + 100 }), at(0)),
      ).rejects.toThrow();
      expect((await store.replicationPolicies.list({ sort: [] }, ALL)).total).toBe(0);
    });

    it("refuses a taken name, on create and on rename, as a conflict", async () => {
      await endpoints();
      await store.replicationPolicies.create(policy("a"), at(0));
      const b = await store.replicationPolicies.create(policy("b"), at(1));
      await expect(store.replicationPolicies.create(policy("a"), at(2))).rejects.toBeInstanceOf(ConflictError);
      await expect(store.replicationPolicies.update(b.id, { name: "a" }, at(3))).rejects.toBeInstanceOf(ConflictError);
      expect((await store.replicationPolicies.get(b.id))?.name).toBe("b");
    });

    it("lists the newest first by default, filters on the name, sorts and pages with the total", async () => {
      await endpoints();
      const old = await store.replicationPolicies.create(policy("nightly-Hub"), at(0));
      const mid = await store.replicationPolicies.create(
        policy("dr-push", { srcRegistryId: undefined, destRegistryId: dr }),
        at(1),
      );
      const recent = await store.replicationPolicies.create(policy("hourly-hub"), at(2));
      const all = await store.replicationPolicies.list({ sort: [] }, ALL);
      expect(all.total).toBe(3);
      expect(all.items.map((p) => p.id)).toEqual([recent.id, mid.id, old.id]);
      expect(await store.replicationPolicies.list({ sort: [] }, { offset: 1, limit: 1 })).toEqual({
        items: [mid],
        total: 3,
      });
      const hubs = await store.replicationPolicies.list({ name: { value: "HUB", fuzzy: true }, sort: [] }, ALL);
      expect(hubs.items.map((p) => p.name)).toEqual(["hourly-hub", "nightly-Hub"]);
      expect(
        (await store.replicationPolicies.list({ name: { value: "hub", fuzzy: false }, sort: [] }, ALL)).total,
      ).toBe(0);
      expect(
        (await store.replicationPolicies.list({ name: { value: "dr-push", fuzzy: false }, sort: [] }, ALL)).items,
      ).toEqual([mid]);
      const byName = await store.replicationPolicies.list({ sort: [{ key: "name", desc: false }] }, ALL);
      expect(byName.items.map((p) => p.name)).toEqual(["dr-push", "hourly-hub", "nightly-Hub"]);
      const byId = await store.replicationPolicies.list({ sort: [{ key: "id", desc: false }] }, ALL);
      expect(byId.items.map((p) => p.id)).toEqual([old.id, mid.id, recent.id]);
    });

    it("lists the enabled policies, of one trigger type when asked, by id", async () => {
      await endpoints();
      const scheduled = await store.replicationPolicies.create(policy("scheduled"), at(0));
      const events = await store.replicationPolicies.create(
        policy("events", { trigger: { type: "event_based" } }),
        at(1),
      );
      await store.replicationPolicies.create(
        policy("off", { trigger: { type: "event_based" }, enabled: false }),
        at(2),
      );
      expect((await store.replicationPolicies.listEnabled()).map((p) => p.id)).toEqual([scheduled.id, events.id]);
      expect(await store.replicationPolicies.listEnabled("event_based")).toEqual([events]);
      expect(await store.replicationPolicies.listEnabled("manual")).toEqual([]);
    });

    it("updates the fields given, keeps the others, moves only the update time, and can swap the sides", async () => {
      await endpoints();
      const made = await store.replicationPolicies.create(policy("edit"), at(0));
      const updated = await store.replicationPolicies.update(
        made.id,
        {
          description: "changed",
          enabled: false,
          trigger: { type: "manual" },
          filters: [{ type: "name", value: "x/**" }],
        },
        at(5),
      );
      expect(updated).toEqual({
        ...made,
        description: "changed",
        enabled: false,
        trigger: { type: "manual" },
        filters: [{ type: "name", value: "x/**" }],
        updatedAt: at(5),
      });
      const swapped = await store.replicationPolicies.update(
        made.id,
        { srcRegistryId: null, destRegistryId: dr },
        at(6),
      );
      expect(swapped?.srcRegistryId).toBeUndefined();
      expect(swapped?.destRegistryId).toBe(dr);
      await expect(store.replicationPolicies.update(made.id, { srcRegistryId: hub }, at(7))).rejects.toThrow();
      expect(await store.replicationPolicies.update(made.id + 1, { name: "x" }, at(8))).toBeUndefined();
    });

    it("says which policies use an endpoint, and keeps an endpoint in use from being deleted", async () => {
      await endpoints();
      const pull = await store.replicationPolicies.create(policy("pull"), at(0));
      const push = await store.replicationPolicies.create(
        policy("push", { srcRegistryId: undefined, destRegistryId: hub }),
        at(1),
      );
      expect(await store.replicationPolicies.usingRegistry(hub)).toEqual([pull.id, push.id]);
      expect(await store.replicationPolicies.usingRegistry(dr)).toEqual([]);
      await expect(store.registries.delete(hub)).rejects.toThrow();
      expect(await store.registries.delete(dr)).toBe(true);
    });

    it("deletes a policy, after which its name is free again", async () => {
      await endpoints();
      const made = await store.replicationPolicies.create(policy("gone"), at(0));
      expect(await store.replicationPolicies.delete(made.id)).toBe(true);
      expect(await store.replicationPolicies.delete(made.id)).toBe(false);
      expect(await store.replicationPolicies.get(made.id)).toBeUndefined();
      expect(await store.replicationPolicies.usingRegistry(hub)).toEqual([]);
      const again = await store.replicationPolicies.create(policy("gone"), at(1));
      expect(again.id).not.toBe(made.id);
    });

    it("works through a transaction's areas, committed together", async () => {
      await endpoints();
      const id = await store.transaction(async (tx) => {
        const made = await tx.replicationPolicies.create(policy("tx"), at(0));
        expect((await tx.replicationPolicies.get(made.id))?.name).toBe("tx");
        return made.id;
      });
      expect((await store.replicationPolicies.get(id))?.name).toBe("tx");
      await expect(
        store.transaction(async (tx) => {
          await tx.replicationPolicies.create(policy("rolled-back"), at(1));
          throw new Error("abandon");
        }),
      ).rejects.toThrow("abandon");
      expect((await store.replicationPolicies.list({ sort: [] }, ALL)).total).toBe(1);
    });
  });
}
