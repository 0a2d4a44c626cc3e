// The proxy cache statistics area of the SQLite metadata store (ProxyCacheStatsMetadata): its
// statements, bound to the store's connections by store.ts. Rows and the upsert are in
// rows/proxy-cache-stats.ts; postgres/proxy-cache-stats.ts is the same area on PostgreSQL.

import type { ProxyCacheStatsMetadata } from "../proxy-cache-stats-store.ts";
import {
  addStatement,
  PROXY_CACHE_STATS_COLUMNS,
  toProxyCacheStats,
  type ProxyCacheStatsRow,
} from "../rows/proxy-cache-stats.ts";
import { SQLITE } from "./dialect.ts";
import type { Run } from "./statements.ts";

const ADD = addStatement(() => "?");

export function proxyCacheStatsArea(read: Run, write: Run): ProxyCacheStatsMetadata {
  return {
    add: (batches, at) =>
      write((db) => {
        for (const batch of batches) {
          db.run(
            ADD,
            batch.registryId,
            batch.hits,
            batch.misses,
            batch.staleServed,
            batch.bytesServedFromCache,
            batch.upstreamErrors,
            at.getTime(),
            batch.registryId,
          );
        }
      }),
    get: (registryId) =>
      read((db) => {
        const row = db.row<ProxyCacheStatsRow>(
          `SELECT ${PROXY_CACHE_STATS_COLUMNS} FROM proxy_cache_stats WHERE registry_id = ?`,
          registryId,
        );
        return row && toProxyCacheStats(row, SQLITE);
      }),
  };
}
