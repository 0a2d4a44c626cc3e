// The proxy cache statistics area of the PostgreSQL metadata store (ProxyCacheStatsMetadata):
// its statements, bound to the store's connections by store.ts. Rows and the upsert are in
// rows/proxy-cache-stats.ts; sqlite/proxy-cache-stats.ts is the same area on SQLite.

import type { ProxyCacheStatsMetadata } from "../proxy-cache-stats-store.ts";
import {
  addStatement,
  PROXY_CACHE_STATS_COLUMNS,
  toProxyCacheStats,
  type ProxyCacheStatsRow,
} from "../rows/proxy-cache-stats.ts";
import type { Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

const ADD = addStatement((n, type) => `$${n}::${type}`);

export function proxyCacheStatsArea(read: Run, write: Run): ProxyCacheStatsMetadata {
  return {
    add: (batches, at) =>
      write(async (db) => {
        for (const batch of batches) {
          await db.run(
            ADD,
            batch.registryId,
            batch.hits,
            batch.misses,
            batch.staleServed,
            batch.bytesServedFromCache,
            batch.upstreamErrors,
            at,
            batch.registryId,
          );
        }
      }),
    get: (registryId) =>
      read(async (db) => {
        const row = await db.row<ProxyCacheStatsRow>(
          `SELECT ${PROXY_CACHE_STATS_COLUMNS} FROM proxy_cache_stats WHERE registry_id = $1`,
          registryId,
        );
        return row && toProxyCacheStats(row, POSTGRES);
      }),
  };
}
