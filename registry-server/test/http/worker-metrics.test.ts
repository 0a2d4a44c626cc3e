// The per-worker figures: each worker's series keeps its `worker` label through the adding up of
// the workers' metrics (so one stalled or growing process shows), and the event loop delay is
// the interval's since the previous scrape.

import { AggregatorRegistry, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { WorkerMetrics } from "../../src/http/worker-metrics.ts";

function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Keeps the event loop busy for `ms`, as a blocking request would. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

describe("the per-worker figures", () => {
  it("stay one series per worker when the workers' metrics are added up", async () => {
    const registries = [new Registry(), new Registry()];
    const metrics = registries.map((registry, index) => new WorkerMetrics(registry, index + 1));
    try {
      const aggregated = AggregatorRegistry.aggregate(await Promise.all(registries.map((r) => r.getMetricsAsJSON())));
      const text = await aggregated.metrics();
      const heap = process.memoryUsage().heapUsed;
      for (const worker of ["1", "2"]) {
        // Not summed: each near this process's own heap, not twice it.
        const used = value(text, `airlock_worker_heap_used_bytes{worker="${worker}"}`) ?? 0;
        expect(used).toBeGreaterThan(heap / 2);
        expect(used).toBeLessThan(heap * 1.5);
        expect(value(text, `airlock_worker_resident_memory_bytes{worker="${worker}"}`)).toBeGreaterThan(used);
      }
    } finally {
      for (const m of metrics) m.close();
    }
  });

  it("report the event loop's delay since the previous scrape", async () => {
    const registry = new Registry();
    const metrics = new WorkerMetrics(registry, 1);
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      block(300);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const stalled = await registry.metrics();
      expect(value(stalled, 'airlock_worker_event_loop_delay_seconds{worker="1",quantile="1"}')).toBeGreaterThan(0.25);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const calm = await registry.metrics();
      expect(value(calm, 'airlock_worker_event_loop_delay_seconds{worker="1",quantile="1"}')).toBeLessThan(0.25);
    } finally {
      metrics.close();
    }
  });
});
