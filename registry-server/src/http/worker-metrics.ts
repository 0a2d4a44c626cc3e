// Per-process figures labelled with the worker's slot (`worker="1"` when one process serves): the
// ones that adding up or averaging the workers' metrics (cluster/cluster-metrics.ts) would hide
// when one process is in trouble. An event loop that stalls delays every request its worker
// holds while the average looks fine; one worker's heap growing is lost in the sum. Everything
// else is a server-wide figure (request counters, the proxy cache's, Harbor's project gauges)
// and carries no worker label. Replicas are told apart by Prometheus's own target labels
// (`instance`, `pod`), so no figure carries a replica label.

import { monitorEventLoopDelay, type ELDHistogram } from "node:perf_hooks";
import { Gauge, type Registry } from "./prometheus.ts";

/** The delay histogram's resolution: finer costs timer wake-ups for nothing. */
const RESOLUTION_MS = 20;

export class WorkerMetrics {
  readonly #delay: ELDHistogram;

  constructor(registry: Registry, worker: number) {
    const labels = { worker: String(worker) };
    const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    delay.enable();
    this.#delay = delay;
    new Gauge({
      name: "airlock_worker_event_loop_delay_seconds",
      help: "Event loop delay of one worker process since the previous scrape, by quantile (0.99, 1 for the maximum).",
      labelNames: ["worker", "quantile"],
      registers: [registry],
      collect() {
        // The histogram counts from its reset: each scrape sees the interval since the last one.
        this.set({ ...labels, quantile: "0.99" }, delay.percentile(99) / 1e9);
        this.set({ ...labels, quantile: "1" }, delay.max / 1e9);
        delay.reset();
      },
    });
    new Gauge({
      name: "airlock_worker_heap_used_bytes",
      help: "V8 heap in use in one worker process.",
      labelNames: ["worker"],
      registers: [registry],
      collect() {
        this.set(labels, process.memoryUsage().heapUsed);
      },
    });
    new Gauge({
      name: "airlock_worker_resident_memory_bytes",
      help: "Resident memory of one worker process.",
      labelNames: ["worker"],
      registers: [registry],
      collect() {
        this.set(labels, process.memoryUsage.rss());
      },
    });
  }

  close(): void {
    this.#delay.disable();
  }
}
