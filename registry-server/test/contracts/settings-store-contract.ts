// The behaviour every metadata store backend must have in its settings area (the system settings
// of Harbor's /configurations), as one vitest suite each backend's test file calls with a way to
// open a fresh, empty store. Semantics come from src/metadata/settings-store.ts.

import { describe, expect, it } from "vitest";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openEachTest, type ContractStore } from "./metadata-store-contract.ts";

const T0 = new Date("2024-05-06T07:08:09.123Z");

export function settingsStoreContract(name: string, setup: () => Promise<ContractStore>): void {
  describe(`settings store contract: ${name}`, () => {
    let store!: MetadataStore;
    openEachTest(setup, (opened) => (store = opened));

    it("starts empty and keeps JSON values of every type by key", async () => {
      expect(await store.settings.all()).toEqual({});
      const values = {
        read_only: true,
        robot_name_prefix: "bot-",
        storage_per_project: 10_737_418_240,
        nested: { list: [1, "two", null], flag: false },
      };
      await store.settings.put(values, T0);
      expect(await store.settings.all()).toEqual(values);
    });

    it("replaces only the keys it is given and ignores undefined values", async () => {
      await store.settings.put({ a: 1, b: "x" }, T0);
      await store.settings.put({ b: "y", c: false, d: undefined }, T0);
      expect(await store.settings.all()).toEqual({ a: 1, b: "y", c: false });
    });

    it("writes inside a transaction, all or nothing", async () => {
      await store.transaction(async (tx) => tx.settings.put({ a: 1 }, T0));
      await expect(
        store.transaction(async (tx) => {
          await tx.settings.put({ a: 2, b: 2 }, T0);
          expect(await tx.settings.all()).toEqual({ a: 2, b: 2 });
          throw new Error("abandoned");
        }),
      ).rejects.toThrow("abandoned");
      expect(await store.settings.all()).toEqual({ a: 1 });
    });
  });
}
