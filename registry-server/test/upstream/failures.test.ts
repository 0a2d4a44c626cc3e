// How the generic adapter reads answers real registries give only under duress, from a scripted
// server on loopback: 429 with Retry-After, 5xx, a digest that does not match, silence past the
// timeout, blob redirects to another host (which must not receive the Authorization header), and
// bearer tokens renewed when they expire.

import type * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUpstreamFactory } from "../../src/upstream/upstream-factory.ts";
import type { UpstreamEndpoint, UpstreamRegistry } from "../../src/upstream/upstream-registry.ts";
import { DOCKER_MANIFEST, sha256 } from "../distribution/oci-client.ts";
import { startScriptedServer, type ScriptedServer } from "./test-servers.ts";
import { expectUpstreamError, readAll } from "./upstream-helpers.ts";

const BLOB = "bytes served by the CDN";
const MANIFEST = JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_MANIFEST });
const BASIC = `Basic ${Buffer.from("robot:secret").toString("base64")}`;

describe("upstream failures and redirects", () => {
  let cdn: ScriptedServer;
  let registry: ScriptedServer;
  let bearer: ScriptedServer;
  const held: http.ServerResponse[] = [];
  const adapters: UpstreamRegistry[] = [];

  function adapter(url: string, timeoutMs = 5_000): UpstreamRegistry {
    const endpoint: UpstreamEndpoint = {
      id: 1,
      name: "scripted",
      type: "docker-registry",
      url,
      insecure: false,
      credential: { type: "basic", accessKey: "robot", accessSecret: "secret" },
    };
    const made = createUpstreamFactory({ timeoutMs })(endpoint);
    adapters.push(made);
    return made;
  }

  beforeAll(async () => {
    // Another origin (localhost, not 127.0.0.1), as S3 or a CDN would be.
    cdn = await startScriptedServer((_req, res) => res.end(BLOB), "localhost");
    registry = await startScriptedServer((req, res) => {
      const path = req.url ?? "";
      if (req.headers.authorization !== BASIC) {
        res.writeHead(401, { "WWW-Authenticate": 'Basic realm="scripted"' }).end();
      } else if (path === "/v2/") {
        res.end("{}");
      } else if (path.startsWith("/v2/limited/")) {
        res.writeHead(429, { "Retry-After": "7" }).end();
      } else if (path.startsWith("/v2/broken/")) {
        res.writeHead(503).end();
      } else if (path.startsWith("/v2/lying/")) {
        res.writeHead(200, { "Content-Type": DOCKER_MANIFEST, "Docker-Content-Digest": sha256("other") }).end(MANIFEST);
      } else if (path.startsWith("/v2/silent/")) {
        held.push(res); // never answered: the adapter's timeout must fire
      } else if (path.startsWith("/v2/app/blobs/")) {
        res.writeHead(307, { Location: `${cdn.url}/blob?X-Amz-Signature=abc` }).end();
      } else {
        res.writeHead(404).end();
      }
    });
    let issued = 0;
    bearer = await startScriptedServer((req, res) => {
      const url = new URL(req.url ?? "", "http://x");
      if (url.pathname === "/token") {
        issued++;
        res.setHeader("Content-Type", "application/json");
        res.end(JSON.stringify({ token: `token-${issued}`, expires_in: 1 }));
      } else if (!req.headers.authorization?.startsWith("Bearer token-")) {
        const realm = `${bearer.url}/token`;
        res.writeHead(401, { "WWW-Authenticate": `Bearer realm="${realm}",service="scripted"` }).end();
      } else {
        res.writeHead(200, { "Content-Type": DOCKER_MANIFEST, "Content-Length": MANIFEST.length }).end(MANIFEST);
      }
    });
  });
  afterAll(async () => {
    for (const res of held) res.destroy();
    await Promise.all(adapters.map((a) => a.close()));
    await Promise.all([cdn?.stop(), registry?.stop(), bearer?.stop()]);
  });

  it("maps 429 to rate-limited with Retry-After, and 5xx to server-error", async () => {
    const upstream = adapter(registry.url);
    const limited = await expectUpstreamError(upstream.getManifest("limited", "x", [DOCKER_MANIFEST]), "rate-limited");
    expect(limited.retryAfterSeconds).toBe(7);
    expect(limited.status).toBe(429);
    const broken = await expectUpstreamError(upstream.headManifest("broken", "x", [DOCKER_MANIFEST]), "server-error");
    expect(broken.status).toBe(503);
  });

  it("refuses a manifest whose bytes do not match the digest given", async () => {
    await expectUpstreamError(adapter(registry.url).getManifest("lying", "x", [DOCKER_MANIFEST]), "protocol");
  });

  it("times out a registry that does not answer", async () => {
    const started = Date.now();
    await expectUpstreamError(adapter(registry.url, 300).getManifest("silent", "x", [DOCKER_MANIFEST]), "timeout");
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it("follows a blob redirect to another host without the Authorization header", async () => {
    const blob = await adapter(registry.url).getBlob("app", sha256(BLOB));
    expect((await readAll(blob?.body)).toString()).toBe(BLOB);
    expect(cdn.requests).toHaveLength(1);
    expect(cdn.requests[0]?.headers.authorization).toBeUndefined();
    expect(
      registry.requests.some((r) => r.path.startsWith("/v2/app/blobs/") && r.headers.authorization === BASIC),
    ).toBe(true);
  });

  it("renews a bearer token once it has expired, and not before", async () => {
    const upstream = adapter(bearer.url);
    const tokens = (): number => bearer.requests.filter((r) => r.path.startsWith("/token")).length;
    await upstream.getManifest("app", "v1", [DOCKER_MANIFEST]);
    await upstream.getManifest("app", "v1", [DOCKER_MANIFEST]);
    expect(tokens()).toBe(1);
    expect(bearer.requests.find((r) => r.path.startsWith("/token"))?.headers.authorization).toBe(BASIC);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await upstream.getManifest("app", "v1", [DOCKER_MANIFEST]);
    expect(tokens()).toBe(2);
  });
});
