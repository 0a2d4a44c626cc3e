import { readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, request, selfSignedCertificate, startTestRegistry, tempDir, type TestRegistry } from "./helpers.ts";

describe("registry HTTP surface", () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startTestRegistry();
  });
  afterAll(() => registry.stop());

  it("challenges an anonymous GET /v2/ to get a token, with the OCI error body", async () => {
    const reply = await request(`${registry.url}/v2/`);
    expect(reply.status).toBe(401);
    expect(reply.headers["www-authenticate"]).toBe(`Bearer realm="${registry.url}/service/token",service="airlock"`);
    expect(reply.headers["docker-distribution-api-version"]).toBe("registry/2.0");
    expect(JSON.parse(reply.body)).toEqual({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] });
  });

  it("answers GET and HEAD /v2/ for the admin, and refuses a wrong password", async () => {
    const ok = await request(`${registry.url}/v2/`, { auth: ADMIN });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe("{}");
    expect(ok.headers["docker-distribution-api-version"]).toBe("registry/2.0");

    const head = await request(`${registry.url}/v2/`, { method: "HEAD", auth: ADMIN });
    expect(head.status).toBe(200);
    expect(head.body).toBe("");

    const wrong = await request(`${registry.url}/v2/`, { auth: { ...ADMIN, password: "nope" } });
    expect(wrong.status).toBe(401);
    const unknownUser = await request(`${registry.url}/v2/`, { auth: { ...ADMIN, username: "mallory" } });
    expect(unknownUser.status).toBe(401);
  });

  it("answers Harbor's ping and health without authentication", async () => {
    const ping = await request(`${registry.url}/api/v2.0/ping`);
    expect(ping.status).toBe(200);
    expect(ping.body).toBe("Pong");

    const health = await request(`${registry.url}/api/v2.0/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({
      status: "healthy",
      components: [
        { name: "core", status: "healthy" },
        { name: "storage", status: "healthy" },
      ],
    });
  });

  it("speaks each API's error format for unknown endpoints and methods", async () => {
    const oci = await request(`${registry.url}/v2/no/such/endpoint`, { auth: ADMIN });
    expect(oci.status).toBe(404);
    expect(JSON.parse(oci.body)).toMatchObject({ errors: [{ code: "UNSUPPORTED" }] });

    const harbor = await request(`${registry.url}/api/v2.0/nothing-here`);
    expect(harbor.status).toBe(404);
    expect(JSON.parse(harbor.body)).toMatchObject({ errors: [{ code: "NOT_FOUND" }] });

    const post = await request(`${registry.url}/v2/`, { method: "POST", auth: ADMIN });
    expect(post.status).toBe(405);
    expect(post.headers["allow"]).toBe("GET, HEAD");
  });

  it("echoes a well-formed request id and replaces a malformed one", async () => {
    const given = await request(`${registry.url}/api/v2.0/ping`, { headers: { "X-Request-Id": "abc-123" } });
    expect(given.headers["x-request-id"]).toBe("abc-123");
    const bad = await request(`${registry.url}/api/v2.0/ping`, { headers: { "X-Request-Id": "a b\tc" } });
    expect(bad.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("logs each request as JSON, without credentials", async () => {
    await request(`${registry.url}/v2/`, { auth: ADMIN, headers: { "X-Request-Id": "log-check" } });
    const line = registry.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l["requestId"] === "log-check");
    expect(line).toMatchObject({ msg: "request", method: "GET", path: "/v2/", status: 200, level: "info" });
    const allLogs = registry.logs.join("\n");
    expect(allLogs).not.toContain(ADMIN.password);
    expect(allLogs).not.toContain(Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64"));
  });

  it("counts requests per route in the Prometheus metrics", async () => {
    await request(`${registry.url}/api/v2.0/ping`);
    await request(`${registry.url}/v2/`, { auth: ADMIN });
    const metrics = await request(`${registry.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers["content-type"]).toContain("text/plain");
    expect(metrics.body).toMatch(/airlock_http_requests_total\{method="GET",route="ping",status="200"\} [1-9]/);
    expect(metrics.body).toMatch(/airlock_http_requests_total\{method="GET",route="base",status="200"\} [1-9]/);
    expect(metrics.body).toMatch(
      /airlock_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="ping"\} \d+/,
    );
    expect(metrics.body).toContain("airlock_process_cpu_seconds_total");
  });

  it("reports unhealthy storage with status 503", async () => {
    const broken = await startTestRegistry();
    try {
      rmSync(broken.dataDir, { recursive: true, force: true });
      const health = await request(`${broken.url}/api/v2.0/health`);
      expect(health.status).toBe(503);
      expect(JSON.parse(health.body)).toMatchObject({
        status: "unhealthy",
        components: [
          { name: "core", status: "healthy" },
          { name: "storage", status: "unhealthy", error: "ENOENT" },
        ],
      });
    } finally {
      await broken.stop();
    }
  });
});

describe("TLS", () => {
  it("serves HTTPS with the configured certificate", async () => {
    const certs = tempDir("tls");
    const tls = selfSignedCertificate(certs.dir);
    const registry = await startTestRegistry({ tls });
    try {
      expect(registry.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const url = registry.url.replace("127.0.0.1", "localhost");
      const reply = await request(`${url}/v2/`, { auth: ADMIN, ca: readFileSync(tls.certFile, "utf8") });
      expect(reply.status).toBe(200);
      await expect(request(`${url}/v2/`, { auth: ADMIN })).rejects.toThrow(/self.signed|unable to verify/i);
    } finally {
      await registry.stop();
      certs.remove();
    }
  });
});

describe("graceful shutdown", () => {
  it("lets an in-flight request finish, refuses new connections, then stops", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    const registry = await startTestRegistry(
      {},
      {
        extraRoutes: (router) =>
          router.add("test_slow", "GET", /^\/api\/v2\.0\/test-slow$/, async ({ res }) => {
            entered();
            await released;
            res.end("done");
          }),
      },
    );

    const inFlight = request(`${registry.url}/api/v2.0/test-slow`);
    await inHandler;
    let stopped = false;
    const stopping = registry.stop().then(() => (stopped = true));

    // The listening socket is closed at once: a new connection is refused.
    await expect(request(`${registry.url}/api/v2.0/ping`)).rejects.toThrow(/ECONNREFUSED/);
    expect(stopped).toBe(false);

    release();
    const reply = await inFlight;
    expect(reply.status).toBe(200);
    expect(reply.body).toBe("done");
    await stopping;
    expect(stopped).toBe(true);
  });

  it("closes idle keep-alive connections so that stopping does not wait for them", async () => {
    const registry = await startTestRegistry({ shutdownTimeoutMs: 60_000 });
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) =>
      http
        .get(`${registry.url}/api/v2.0/ping`, { agent }, (res) => res.resume().on("end", resolve))
        .on("error", reject),
    );
    const started = Date.now();
    await registry.stop();
    expect(Date.now() - started).toBeLessThan(5_000);
    agent.destroy();
  });
});
