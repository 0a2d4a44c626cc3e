// The behaviour every metadata store backend must have in its proxy cache statistics area (the
// totals per upstream endpoint), as one vitest suite each backend's test file calls with a way to
// open a fresh, empty store. Semantics come from src/metadata/proxy-cache-stats-store.ts.

import { describe, expect, it } from "vitest";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openEachTest, type ContractStore } from "./metadata-store-contract.ts";

/** A fixed time with milliseconds, so that a store keeping only seconds fails. */
const T0 = Date.parse("2024-05-06T07:08:09.123Z");
const at = (offsetMs: number): Date => new Date(T0 + offsetMs);

const counts = (hits: number, misses: number, staleServed = 0, bytesServedFromCache = 0, upstreamErrors = 0) => ({
  hits,
  misses,
  staleServed,
  bytesServedFromCache,
  upstreamErrors,
});

export function proxyCacheStatsContract(name: string, setup: () => Promise<ContractStore>): void {
  describe(`proxy cache statistics contract: ${name}`, () => {
    let store!: MetadataStore;
    openEachTest(setup, (opened) => (store = opened));

    async function endpoint(endpointName: string): Promise<number> {
      const made = await store.registries.create(
        {
          name: endpointName,
          type: "docker-registry",
          url: `https://${endpointName}.test`,
          description: "",
          insecure: false,
          status: "unknown",
        },
        at(0),
      );
      return made.id;
    }

    it("knows nothing of an endpoint before its first batch", async () => {
      const hub = await endpoint("hub");
      expect(await store.proxyCacheStats.get(hub)).toBeUndefined();
    });

    it("adds batches to each endpoint's totals, since the first batch", async () => {
      const hub = await endpoint("hub");
      const quay = await endpoint("quay");
      await store.proxyCacheStats.add([{ registryId: hub, ...counts(1, 2, 3, 4_000, 5) }], at(1_000));
      await store.proxyCacheStats.add(
        [
          { registryId: hub, ...counts(10, 0, 0, 6_000_000_000, 1) },
          { registryId: quay, ...counts(0, 7) },
        ],
        at(2_000),
      );
      expect(await store.proxyCacheStats.get(hub)).toEqual({
        registryId: hub,
        ...counts(11, 2, 3, 6_000_004_000, 6),
        since: at(1_000),
      });
      expect(await store.proxyCacheStats.get(quay)).toEqual({ registryId: quay, ...counts(0, 7), since: at(2_000) });
    });

    it("drops a batch for an endpoint that does not exist, keeping the others of the call", async () => {
      const hub = await endpoint("hub");
      await store.proxyCacheStats.add(
        [
          { registryId: hub + 1_000, ...counts(1, 1) },
          { registryId: hub, ...counts(2, 0) },
        ],
        at(0),
      );
      expect(await store.proxyCacheStats.get(hub + 1_000)).toBeUndefined();
      expect((await store.proxyCacheStats.get(hub))?.hits).toBe(2);
    });

    it("deletes an endpoint's totals with the endpoint", async () => {
      const hub = await endpoint("hub");
      await store.proxyCacheStats.add([{ registryId: hub, ...counts(1, 1) }], at(0));
      expect(await store.registries.delete(hub)).toBe(true);
      expect(await store.proxyCacheStats.get(hub)).toBeUndefined();
      // A batch counted before the delete and written after it is dropped, not an error.
      await store.proxyCacheStats.add([{ registryId: hub, ...counts(1, 0) }], at(1));
      expect(await store.proxyCacheStats.get(hub)).toBeUndefined();
    });
  });
}
