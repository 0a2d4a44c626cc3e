// http/prometheus.ts hands out prom-client's classes from the package's own modules: they must be
// the very classes its index exports (one module instance, so `instanceof` and the registries'
// merging keep working), and a registry built from them must serve the text format.

import * as promClient from "prom-client";
import { describe, expect, it } from "vitest";
import * as prometheus from "../../src/http/prometheus.ts";

describe("prom-client without its index", () => {
  it("gives the index's own classes and function", () => {
    expect(prometheus.Registry).toBe(promClient.Registry);
    expect(prometheus.AggregatorRegistry).toBe(promClient.AggregatorRegistry);
    expect(prometheus.Counter).toBe(promClient.Counter);
    expect(prometheus.Gauge).toBe(promClient.Gauge);
    expect(prometheus.Histogram).toBe(promClient.Histogram);
    expect(prometheus.collectDefaultMetrics).toBe(promClient.collectDefaultMetrics);
  });

  it("serves what its metrics count", async () => {
    const registry = new prometheus.Registry();
    const counter = new prometheus.Counter({
      name: "probe_total",
      help: "probe",
      labelNames: ["kind"],
      registers: [registry],
    });
    counter.inc({ kind: "a" }, 2);
    prometheus.collectDefaultMetrics({ register: registry, prefix: "probe_" });
    const text = await registry.metrics();
    expect(text).toContain('probe_total{kind="a"} 2');
    expect(text).toContain("probe_process_cpu_seconds_total");
  });
});
