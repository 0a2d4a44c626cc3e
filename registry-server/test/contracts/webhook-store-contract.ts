// The behaviour every metadata store backend must have in its webhooks area (Harbor's webhook
// policies and their last trigger times), as one vitest suite each backend's test file calls with
// a way to open a fresh, empty store. Semantics come from the doc comments in
// src/metadata/webhook-store.ts.

import { describe, expect, it } from "vitest";
import { ConflictError } from "../../src/metadata/identity-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import type { NewWebhookPolicy } from "../../src/metadata/webhook-store.ts";
import { openEachTest, type ContractStore } from "./metadata-store-contract.ts";

/** A fixed time with milliseconds, so that a store keeping only seconds fails. */
const T0 = Date.parse("2024-05-06T07:08:09.123Z");
const at = (offsetMs: number): Date => new Date(T0 + offsetMs);
const ALL = { offset: 0, limit: 100 };

function policy(projectId: number, name: string, overrides: Partial<NewWebhookPolicy> = {}): NewWebhookPolicy {
  return {
    projectId,
    name,
    description: `${name} hooks`,
    targets: [
      {
        type: "http",
        address: `http://${name}.example/hook`,
        sealedAuthHeader: `sealed:${name}`,
        skipCertVerify: true,
        payloadFormat: "CloudEvents",
      },
      { type: "slack", address: "https://hooks.slack.example/x", skipCertVerify: false, payloadFormat: "" },
    ],
    eventTypes: ["PUSH_ARTIFACT", "DELETE_ARTIFACT"],
    creator: "alice",
    enabled: true,
    ...overrides,
  };
}

export function webhookStoreContract(name: string, setup: () => Promise<ContractStore>): void {
  describe(`webhook store contract: ${name}`, () => {
    let store!: MetadataStore;
    openEachTest(setup, (opened) => (store = opened));

    async function project(projectName: string): Promise<number> {
      const made = await store.projects.create(
        { name: projectName, ownerId: 1, metadata: {}, storageLimit: -1 },
        at(0),
      );
      return made.id;
    }

    it("creates a policy and reads it back, targets and event types in order", async () => {
      const p = await project("alpha");
      const given = policy(p, "ci");
      const made = await store.webhookPolicies.create(given, at(0));
      expect(made).toEqual({ ...given, id: made.id, createdAt: at(0), updatedAt: at(0) });
      expect(made.targets[1]?.sealedAuthHeader).toBeUndefined();
      expect(await store.webhookPolicies.get(made.id)).toEqual(made);
      expect(await store.webhookPolicies.get(made.id + 1000)).toBeUndefined();
    });

    it("refuses a name taken in the project, not in another, on create and on update", async () => {
      const a = await project("alpha");
      const b = await project("beta");
      await store.webhookPolicies.create(policy(a, "ci"), at(0));
      await expect(store.webhookPolicies.create(policy(a, "ci"), at(1))).rejects.toBeInstanceOf(ConflictError);
      await expect(store.webhookPolicies.create(policy(a, "ci"), at(1))).rejects.toThrow(/ci already exists/);
      await store.webhookPolicies.create(policy(b, "ci"), at(1));
      const other = await store.webhookPolicies.create(policy(a, "cd"), at(2));
      await expect(store.webhookPolicies.update(other.id, { name: "ci" }, at(3))).rejects.toBeInstanceOf(ConflictError);
      expect((await store.webhookPolicies.get(other.id))?.name).toBe("cd");
    });

    it("updates what is given, keeps the rest, and answers undefined for no policy", async () => {
      const p = await project("alpha");
      const made = await store.webhookPolicies.create(policy(p, "ci"), at(0));
      const targets = [
        { type: "http", address: "https://new.example", skipCertVerify: false, payloadFormat: "Default" },
      ];
      const updated = await store.webhookPolicies.update(
        made.id,
        { description: "", targets, eventTypes: ["QUOTA_EXCEED"], enabled: false },
        at(5),
      );
      expect(updated).toEqual({
        ...made,
        description: "",
        targets,
        eventTypes: ["QUOTA_EXCEED"],
        enabled: false,
        updatedAt: at(5),
      });
      expect(await store.webhookPolicies.update(made.id + 1000, { name: "x" }, at(6))).toBeUndefined();
    });

    it("lists a project's policies newest first, filtered, sorted and paged", async () => {
      const p = await project("alpha");
      const other = await project("beta");
      const first = await store.webhookPolicies.create(policy(p, "build-hooks"), at(0));
      const second = await store.webhookPolicies.create(policy(p, "Deploy", { enabled: false, creator: "bob" }), at(1));
      const third = await store.webhookPolicies.create(policy(p, "audit"), at(2));
      await store.webhookPolicies.create(policy(other, "elsewhere"), at(3));

      const all = await store.webhookPolicies.list({ projectId: p }, ALL);
      expect(all.total).toBe(3);
      expect(all.items.map((x) => x.id)).toEqual([third.id, second.id, first.id]);

      const page = await store.webhookPolicies.list({ projectId: p }, { offset: 1, limit: 1 });
      expect(page).toEqual({ total: 3, items: [second] });

      const byName = await store.webhookPolicies.list({ projectId: p, sort: [{ key: "name", desc: false }] }, ALL);
      expect(byName.items.map((x) => x.name)).toEqual(["Deploy", "audit", "build-hooks"]);

      const fuzzy = await store.webhookPolicies.list({ projectId: p, name: { value: "DEP", fuzzy: true } }, ALL);
      expect(fuzzy.items.map((x) => x.id)).toEqual([second.id]);
      const exact = await store.webhookPolicies.list({ projectId: p, name: { value: "audit", fuzzy: false } }, ALL);
      expect(exact.items.map((x) => x.id)).toEqual([third.id]);
      const enabled = await store.webhookPolicies.list({ projectId: p, enabled: true }, ALL);
      expect(enabled.items.map((x) => x.id)).toEqual([third.id, first.id]);
      const byCreator = await store.webhookPolicies.list(
        { projectId: p, creator: { value: "bob", fuzzy: false } },
        ALL,
      );
      expect(byCreator.total).toBe(1);
    });

    it("keeps the latest trigger time per policy and event type", async () => {
      const p = await project("alpha");
      const other = await project("beta");
      const a = await store.webhookPolicies.create(policy(p, "a"), at(0));
      const b = await store.webhookPolicies.create(policy(other, "b"), at(0));
      await store.webhookPolicies.recordTrigger(a.id, "PUSH_ARTIFACT", at(10));
      await store.webhookPolicies.recordTrigger(a.id, "PUSH_ARTIFACT", at(30));
      // A late writer with an older time does not move it back.
      await store.webhookPolicies.recordTrigger(a.id, "PUSH_ARTIFACT", at(20));
      await store.webhookPolicies.recordTrigger(a.id, "DELETE_ARTIFACT", at(15));
      await store.webhookPolicies.recordTrigger(b.id, "PUSH_ARTIFACT", at(40));
      // A deleted (or never made) policy records nothing, and does not fail.
      await store.webhookPolicies.recordTrigger(b.id + 1000, "PUSH_ARTIFACT", at(50));
      expect(await store.webhookPolicies.lastTriggers(p)).toEqual([
        { policyId: a.id, eventType: "DELETE_ARTIFACT", triggeredAt: at(15) },
        { policyId: a.id, eventType: "PUSH_ARTIFACT", triggeredAt: at(30) },
      ]);
      expect(await store.webhookPolicies.lastTriggers(other)).toEqual([
        { policyId: b.id, eventType: "PUSH_ARTIFACT", triggeredAt: at(40) },
      ]);
    });

    it("deletes a policy with its trigger times, and its project's policies with the project", async () => {
      const p = await project("alpha");
      const a = await store.webhookPolicies.create(policy(p, "a"), at(0));
      const b = await store.webhookPolicies.create(policy(p, "b"), at(0));
      await store.webhookPolicies.recordTrigger(a.id, "PUSH_ARTIFACT", at(10));
      await store.webhookPolicies.recordTrigger(b.id, "PUSH_ARTIFACT", at(10));
      expect(await store.webhookPolicies.delete(a.id)).toBe(true);
      expect(await store.webhookPolicies.delete(a.id)).toBe(false);
      expect(await store.webhookPolicies.get(a.id)).toBeUndefined();
      expect((await store.webhookPolicies.lastTriggers(p)).map((t) => t.policyId)).toEqual([b.id]);
      // Ids are not reused.
      const c = await store.webhookPolicies.create(policy(p, "a"), at(1));
      expect(c.id).toBeGreaterThan(b.id);

      expect(await store.projects.delete(p)).toBe(true);
      expect(await store.webhookPolicies.get(b.id)).toBeUndefined();
      expect(await store.webhookPolicies.list({ projectId: p }, ALL)).toEqual({ total: 0, items: [] });
    });

    it("keeps policy writes of a rolled back transaction out", async () => {
      const p = await project("alpha");
      await expect(
        store.transaction(async (tx) => {
          await tx.webhookPolicies.create(policy(p, "ghost"), at(0));
          throw new Error("undo");
        }),
      ).rejects.toThrow("undo");
      expect((await store.webhookPolicies.list({ projectId: p }, ALL)).total).toBe(0);
    });
  });
}
