import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRequestListener } from "../../src/http/app.ts";
import { HttpMetrics } from "../../src/http/metrics.ts";
import { Router } from "../../src/http/router.ts";
import { listen, type RunningServer } from "../../src/http/server.ts";
import { createLogger } from "../../src/logger.ts";

describe("HttpMetrics", () => {
  it("exposes observations with their labels", async () => {
    const metrics = new HttpMetrics();
    metrics.observe({
      method: "GET",
      route: "blob_get",
      status: 200,
      durationSeconds: 0.003,
      bytesIn: 0,
      bytesOut: 1024,
    });
    metrics.observe({ method: "GET", route: "blob_get", status: 200, durationSeconds: 2, bytesIn: 0, bytesOut: 4096 });
    metrics.observe({
      method: "put",
      route: "manifest_put",
      status: 201,
      durationSeconds: 0.02,
      bytesIn: 512,
      bytesOut: 0,
    });
    const text = await metrics.registry.metrics();

    expect(text).toContain('airlock_http_requests_total{method="GET",route="blob_get",status="200"} 2');
    expect(text).toContain('airlock_http_requests_total{method="PUT",route="manifest_put",status="201"} 1');
    expect(text).toContain('airlock_http_response_bytes_total{method="GET",route="blob_get"} 5120');
    expect(text).toContain('airlock_http_request_bytes_total{method="PUT",route="manifest_put"} 512');
    expect(text).toContain('airlock_http_request_duration_seconds_bucket{le="0.005",method="GET",route="blob_get"} 1');
    expect(text).toContain('airlock_http_request_duration_seconds_bucket{le="60",method="GET",route="blob_get"} 2');
    expect(text).toContain('airlock_http_request_duration_seconds_bucket{le="0.001",method="GET",route="blob_get"} 0');
    expect(text).toContain('airlock_http_request_duration_seconds_count{method="GET",route="blob_get"} 2');
    expect(text).toContain('airlock_http_request_duration_seconds_sum{method="GET",route="blob_get"} 2.003');
  });

  it("includes the process metrics under the airlock_ prefix", async () => {
    const text = await new HttpMetrics().registry.metrics();
    expect(text).toMatch(/^airlock_process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^airlock_nodejs_heap_size_used_bytes /m);
    expect(text).not.toMatch(/^process_cpu/m);
  });

  it("keeps label values bounded whatever it is given", async () => {
    const metrics = new HttpMetrics();
    metrics.observe({
      method: "BREW",
      route: "/v2/a/b/blobs/sha256:abc",
      status: 999,
      durationSeconds: -1,
      bytesIn: NaN,
      bytesOut: -5,
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain('airlock_http_requests_total{method="OTHER",route="other",status="other"} 1');
    expect(text).toContain('airlock_http_request_bytes_total{method="OTHER",route="other"} 0');
    expect(text).not.toContain("sha256");
  });

  it("keeps instances apart", async () => {
    const first = new HttpMetrics();
    const second = new HttpMetrics();
    first.observe({ method: "GET", route: "ping", status: 200, durationSeconds: 0.001, bytesIn: 0, bytesOut: 4 });
    expect(await second.registry.metrics()).not.toContain('route="ping"');
  });

  describe("GET /metrics", () => {
    let server: RunningServer;
    const metrics = new HttpMetrics();

    beforeAll(async () => {
      const router = new Router();
      metrics.addMetricsRoute(router);
      const log = createLogger("fatal", new PassThrough());
      server = await listen(
        createRequestListener(router, log),
        { host: "127.0.0.1", port: 0, shutdownTimeoutMs: 1_000 },
        log,
      );
    });
    afterAll(() => server.stop());

    it("answers in the Prometheus text format", async () => {
      metrics.observe({
        method: "HEAD",
        route: "manifest_head",
        status: 404,
        durationSeconds: 0.01,
        bytesIn: 0,
        bytesOut: 0,
      });
      const response = await fetch(`${server.url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      const text = await response.text();
      expect(response.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
      expect(text).toContain('airlock_http_requests_total{method="HEAD",route="manifest_head",status="404"} 1');
      expect(text).toContain("# TYPE airlock_http_request_duration_seconds histogram");
    });
  });
});
