// The proxy cache's own figures per upstream endpoint (beyond Harbor): pulls answered from the
// cache and fetched upstream, cached copies served because the upstream failed, blob bytes the
// cache saved the upstream link, and failed upstream requests. The Prometheus counters of
// proxy/proxy-metrics.ts say the same per process; these totals are kept in the database so that
// every worker and every replica adds to one figure per endpoint, which is what the portal shows.
//
// Writers add counts in batches (proxy/cache-stats-recorder.ts), never per pull. Totals go with
// their endpoint (deleting the endpoint deletes them); counts for an endpoint deleted meanwhile
// are dropped. `since` is when the endpoint's first counts were added.
//
// Every backend runs the shared contract suite in test/contracts/proxy-cache-stats-contract.ts.

export interface ProxyCacheCounts {
  /** Manifests and blobs answered from the cache. */
  readonly hits: number;
  /** Manifests and blobs that had to be fetched from the upstream. */
  readonly misses: number;
  /** Cached copies served because the upstream failed. */
  readonly staleServed: number;
  /** Blob bytes served from the cache: upstream traffic saved. */
  readonly bytesServedFromCache: number;
  /** Upstream requests that failed (unreachable, timeout, refused, server error, protocol). */
  readonly upstreamErrors: number;
}

export interface ProxyCacheStats extends ProxyCacheCounts {
  readonly registryId: number;
  /** When counting started for the endpoint (its first batch). */
  readonly since: Date;
}

export interface ProxyCacheStatsMetadata {
  /**
   * Adds each batch's counts to its endpoint's totals, starting them at `at` for an endpoint
   * counted the first time; a batch for an endpoint that no longer exists is dropped.
   */
  add(batches: ReadonlyArray<ProxyCacheCounts & { readonly registryId: number }>, at: Date): Promise<void>;
  /** The endpoint's totals; undefined when nothing was counted for it yet. */
  get(registryId: number): Promise<ProxyCacheStats | undefined>;
}
