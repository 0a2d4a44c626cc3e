// `GET /metrics` for the whole server when several worker processes serve it: whichever worker
// gets the scrape asks the primary, which gathers every worker's metrics (and its own), adds them
// up with prom-client's aggregation (counters and histograms summed, each default metric by its
// own rule) and answers the text. A scrape therefore sees every request the server answered,
// whichever worker took it, and a restarted worker's counters start again from zero like a
// restarted server's. A worker that does not answer within the limit is left out of that scrape
// (`airlock_cluster_workers` says how many serve) rather than failing it.

import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Registry } from "../http/prometheus.ts";
import type { MetricsSource } from "../http/metrics.ts";
import type { IpcPeer } from "./ipc-peer.ts";

const WORKER_METRICS = "metrics-of-worker";
const SERVER_METRICS = "metrics-of-server";
/** Per worker, and for the whole scrape as the requesting worker sees it. */
const WORKER_TIMEOUT_MS = 3_000;
const SCRAPE_TIMEOUT_MS = 10_000;

/** The primary's side: its own process metrics and the pool's, plus the gathering. */
export class ServerMetrics {
  private readonly registry = new Registry();
  private readonly workers: Gauge;
  private readonly restarts: Counter;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "airlock_" });
    this.workers = new Gauge({
      name: "airlock_cluster_workers",
      help: "Worker processes serving the port (started and not stopped).",
      registers: [this.registry],
    });
    this.restarts = new Counter({
      name: "airlock_cluster_worker_restarts_total",
      help: "Worker processes started again after one ended unexpectedly.",
      registers: [this.registry],
    });
  }

  setWorkers(count: number): void {
    this.workers.set(count);
  }

  countRestart(): void {
    this.restarts.inc();
  }

  /** Answers the scrapes `peer`'s worker receives, over `members` (every worker's peer). */
  attach(peer: IpcPeer, members: () => readonly IpcPeer[]): void {
    peer.handle(SERVER_METRICS, () => this.gather(members()));
  }

  private async gather(peers: readonly IpcPeer[]): Promise<{ text: string; contentType: string }> {
    const parts = await Promise.all(
      peers.map((peer) => peer.request<object[]>(WORKER_METRICS, undefined, WORKER_TIMEOUT_MS).catch(() => undefined)),
    );
    const all = [await this.registry.getMetricsAsJSON(), ...parts.filter((part) => part !== undefined)];
    const aggregated = AggregatorRegistry.aggregate(all);
    return { text: await aggregated.metrics(), contentType: aggregated.contentType };
  }
}

/**
 * A worker's side: answers the primary with `local` (this worker's registry) and returns what its
 * `GET /metrics` serves.
 */
export function shareWorkerMetrics(peer: IpcPeer, local: Registry): MetricsSource {
  peer.handle(WORKER_METRICS, () => local.getMetricsAsJSON());
  return () => peer.request(SERVER_METRICS, undefined, SCRAPE_TIMEOUT_MS);
}
