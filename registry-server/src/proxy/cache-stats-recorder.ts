// The proxy cache's figures per upstream endpoint, added up in memory and written to the
// database in batches off the request path (metadata/proxy-cache-stats-store.ts), as
// content/access-recorder.ts does for pull times: a pull costs a map update, not a write. The
// pending counts are one entry per endpoint (a set the administrator declares), so memory stays
// small whatever the traffic. A process that dies loses at most one flush interval of counts;
// a failed write is logged and its counts dropped, so a broken database cannot grow the map.

import type { Logger } from "../logger.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ProxyCacheCounts } from "../metadata/proxy-cache-stats-store.ts";

type Counts = { -readonly [K in keyof ProxyCacheCounts]: number };

const ZERO: ProxyCacheCounts = { hits: 0, misses: 0, staleServed: 0, bytesServedFromCache: 0, upstreamErrors: 0 };

export class CacheStatsRecorder {
  private readonly store: Pick<MetadataStore, "proxyCacheStats">;
  private readonly flushIntervalMs: number;
  private readonly log: Logger;
  private readonly now: () => number;
  /** Endpoint id → counts not written yet. */
  private pending = new Map<number, Counts>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    store: Pick<MetadataStore, "proxyCacheStats">,
    flushIntervalMs: number,
    log: Logger,
    now: () => number = Date.now,
  ) {
    this.store = store;
    this.flushIntervalMs = flushIntervalMs;
    this.log = log;
    this.now = now;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.flushIntervalMs).unref();
  }

  /** Writes what is pending, then stops. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Adds to an endpoint's counts. */
  count(registryId: number, change: Partial<ProxyCacheCounts>): void {
    let counts = this.pending.get(registryId);
    if (!counts) {
      counts = { ...ZERO };
      this.pending.set(registryId, counts);
    }
    for (const key of Object.keys(change) as Array<keyof ProxyCacheCounts>) counts[key] += change[key] ?? 0;
  }

  /** Writes the counts so far; one write at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batches = [...this.pending].map(([registryId, counts]) => ({ registryId, ...counts }));
    this.pending = new Map();
    try {
      await this.store.proxyCacheStats.add(batches, new Date(this.now()));
    } catch (err) {
      this.log.warn({ err, endpoints: batches.length }, "could not record the proxy cache's statistics");
    }
  }
}
