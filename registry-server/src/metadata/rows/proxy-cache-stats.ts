// The proxy cache statistics area's rows (ProxyCacheStatsMetadata in proxy-cache-stats-store.ts),
// and the upsert both backends run: one statement per endpoint per batch, adding to the totals.

import type { ProxyCacheStats } from "../proxy-cache-stats-store.ts";
import type { RowReader, StoredTime } from "./sql.ts";

export interface ProxyCacheStatsRow {
  registry_id: number | string;
  hits: number | string;
  misses: number | string;
  stale_served: number | string;
  bytes_served_from_cache: number | string;
  upstream_errors: number | string;
  since: StoredTime;
}

export const PROXY_CACHE_STATS_COLUMNS =
  "registry_id, hits, misses, stale_served, bytes_served_from_cache, upstream_errors, since";

/**
 * Adds one batch. `p(n, type)` is the backend's placeholder of parameter n, typed where the
 * backend needs it (a SELECT list gives PostgreSQL no column to infer from): 1 the registry id,
 * 2-6 the counts in column order, 7 the time, 8 the registry id again. Only for an endpoint that
 * exists; the SELECT's WHERE also makes SQLite's INSERT … SELECT … ON CONFLICT parse.
 */
export function addStatement(p: (n: number, type: "bigint" | "timestamptz") => string): string {
  const counts = [2, 3, 4, 5, 6].map((n) => p(n, "bigint")).join(", ");
  return `INSERT INTO proxy_cache_stats (${PROXY_CACHE_STATS_COLUMNS})
    SELECT ${p(1, "bigint")}, ${counts}, ${p(7, "timestamptz")}
    WHERE EXISTS (SELECT 1 FROM registries WHERE id = ${p(8, "bigint")})
    ON CONFLICT (registry_id) DO UPDATE SET
      hits = proxy_cache_stats.hits + excluded.hits,
      misses = proxy_cache_stats.misses + excluded.misses,
      stale_served = proxy_cache_stats.stale_served + excluded.stale_served,
      bytes_served_from_cache = proxy_cache_stats.bytes_served_from_cache + excluded.bytes_served_from_cache,
      upstream_errors = proxy_cache_stats.upstream_errors + excluded.upstream_errors`;
}

export function toProxyCacheStats(row: ProxyCacheStatsRow, r: RowReader): ProxyCacheStats {
  return {
    registryId: Number(row.registry_id),
    hits: Number(row.hits),
    misses: Number(row.misses),
    staleServed: Number(row.stale_served),
    bytesServedFromCache: Number(row.bytes_served_from_cache),
    upstreamErrors: Number(row.upstream_errors),
    since: r.date(row.since),
  };
}
