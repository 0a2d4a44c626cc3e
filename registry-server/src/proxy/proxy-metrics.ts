// Prometheus metrics of the proxy cache, per upstream (labelled with the registry endpoint's
// name: a bounded set, declared by administrators). Registered in the server's own registry.
// The same figures, by endpoint id, also go to the database's totals (cache-stats-recorder.ts),
// which add up every process's and which the portal shows.

import { Counter, Histogram, type Registry } from "../http/prometheus.ts";
import type { UpstreamFailure } from "../upstream/upstream-registry.ts";
import type { CacheStatsRecorder } from "./cache-stats-recorder.ts";

/** The endpoint a figure is about: its name labels the metrics, its id keys the stored totals. */
export interface UpstreamRef {
  readonly id: number;
  readonly name: string;
}

export type ProxiedKind = "manifest" | "blob";
export type UpstreamOperation = "manifest_head" | "manifest_get" | "blob_get";

export class ProxyMetrics {
  private readonly hits: Counter<"upstream" | "kind">;
  private readonly misses: Counter<"upstream" | "kind">;
  private readonly staleServed: Counter<"upstream" | "kind">;
  private readonly bytesFromCache: Counter<"upstream">;
  private readonly bytesFromUpstream: Counter<"upstream">;
  private readonly upstreamRequests: Counter<"upstream" | "operation">;
  private readonly upstreamErrors: Counter<"upstream" | "operation" | "reason">;
  private readonly upstreamDuration: Histogram<"upstream" | "operation">;
  private readonly stats: Pick<CacheStatsRecorder, "count"> | undefined;

  constructor(registry: Registry, stats?: Pick<CacheStatsRecorder, "count">) {
    this.stats = stats;
    const registers = [registry];
    this.hits = new Counter({
      name: "airlock_proxy_cache_hits_total",
      help: "Pulls from proxy-cache projects answered from the cache, by upstream and kind (manifest, blob).",
      labelNames: ["upstream", "kind"],
      registers,
    });
    this.misses = new Counter({
      name: "airlock_proxy_cache_misses_total",
      help: "Pulls from proxy-cache projects that had to fetch from the upstream, by upstream and kind.",
      labelNames: ["upstream", "kind"],
      registers,
    });
    this.staleServed = new Counter({
      name: "airlock_proxy_stale_served_total",
      help: "Pulls answered from the cache because the upstream failed, by upstream and kind.",
      labelNames: ["upstream", "kind"],
      registers,
    });
    this.bytesFromCache = new Counter({
      name: "airlock_proxy_cache_bytes_served_total",
      help: "Blob bytes served from the cache of proxy-cache projects: upstream traffic saved.",
      labelNames: ["upstream"],
      registers,
    });
    this.bytesFromUpstream = new Counter({
      name: "airlock_proxy_upstream_bytes_total",
      help: "Blob bytes fetched from upstream registries.",
      labelNames: ["upstream"],
      registers,
    });
    this.upstreamRequests = new Counter({
      name: "airlock_proxy_upstream_requests_total",
      help: "Requests made to upstream registries, by upstream and operation.",
      labelNames: ["upstream", "operation"],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: "airlock_proxy_upstream_errors_total",
      help: "Failed upstream requests, by upstream, operation and reason (unreachable, timeout, unauthorized, rate-limited, server-error, protocol).",
      labelNames: ["upstream", "operation", "reason"],
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: "airlock_proxy_upstream_request_duration_seconds",
      help: "Time to an upstream's answer (headers for blobs), by upstream and operation.",
      labelNames: ["upstream", "operation"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }

  hit(upstream: UpstreamRef, kind: ProxiedKind): void {
    this.hits.inc({ upstream: upstream.name, kind });
    this.stats?.count(upstream.id, { hits: 1 });
  }

  miss(upstream: UpstreamRef, kind: ProxiedKind): void {
    this.misses.inc({ upstream: upstream.name, kind });
    this.stats?.count(upstream.id, { misses: 1 });
  }

  stale(upstream: UpstreamRef, kind: ProxiedKind): void {
    this.staleServed.inc({ upstream: upstream.name, kind });
    this.stats?.count(upstream.id, { staleServed: 1 });
  }

  servedFromCache(upstream: UpstreamRef, bytes: number): void {
    this.bytesFromCache.inc({ upstream: upstream.name }, bytes);
    this.stats?.count(upstream.id, { bytesServedFromCache: bytes });
  }

  fetchedFromUpstream(upstream: UpstreamRef, bytes: number): void {
    this.bytesFromUpstream.inc({ upstream: upstream.name }, bytes);
  }

  /** Times one upstream request and counts it, and its failure when it throws. */
  async request<T>(
    upstream: UpstreamRef,
    operation: UpstreamOperation,
    work: () => Promise<T>,
    failureOf: (err: unknown) => UpstreamFailure,
  ): Promise<T> {
    const labels = { upstream: upstream.name, operation };
    this.upstreamRequests.inc(labels);
    const end = this.upstreamDuration.startTimer(labels);
    try {
      return await work();
    } catch (err) {
      this.upstreamErrors.inc({ ...labels, reason: failureOf(err) });
      this.stats?.count(upstream.id, { upstreamErrors: 1 });
      throw err;
    } finally {
      end();
    }
  }
}
