// The registry writer's upload protocol where registries differ or misbehave: the `Location`
// rules (relative or absolute, the query kept byte for byte, never another origin), chunk sizes
// and 416 resumes against a scripted registry; a 401 in the middle of an upload against this
// registry (token auth) behind a proxy that injects it; and chunked uploads to Distribution and
// to this registry, seen on the wire.

import type * as http from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthorizedRequester } from "../../src/upstream/authorized-requester.ts";
import { HttpTransport } from "../../src/upstream/http-transport.ts";
import { createUpstreamConnections, type UpstreamConnection } from "../../src/upstream/upstream-factory.ts";
import type { UpstreamEndpoint } from "../../src/upstream/upstream-registry.ts";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { startDistribution, type DistributionServer } from "./distribution-server.ts";
import { startReverseProxy, startScriptedServer, type ReverseProxy, type ScriptedServer } from "./test-servers.ts";
import { expectUpstreamError, readAll } from "./upstream-helpers.ts";

const ALICE = { username: "alice", password: "alice-password" };

function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

const connections: UpstreamConnection[] = [];
function connect(url: string, credential?: { username: string; password: string }): UpstreamConnection {
  const endpoint: UpstreamEndpoint = {
    id: 1,
    name: "writer-test",
    type: "docker-registry",
    url,
    insecure: false,
    ...(credential && {
      credential: { type: "basic", accessKey: credential.username, accessSecret: credential.password },
    }),
  };
  const made = createUpstreamConnections({ timeoutMs: 5_000 })(endpoint);
  connections.push(made);
  return made;
}
afterAll(async () => {
  await Promise.all(connections.map((c) => c.registry.close()));
});

async function put(connection: UpstreamConnection, repository: string, data: Buffer, chunkBytes?: number) {
  await connection.writer.putBlob(
    repository,
    { digest: sha256(data), size: data.length, body: Readable.from([data]) },
    chunkBytes,
    AbortSignal.timeout(20_000),
  );
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
  });
}

/**
 * A registry with no authentication that answers uploads as scripted: its session `Location`
 * (relative, absolute, elsewhere), a minimum chunk length, and a chunk it keeps only in part
 * before answering 416.
 */
async function scriptedUploads(options: {
  location: (base: string, step: number) => string;
  minChunk?: number;
  truncateChunkAt?: { offset: number; keep: number };
}): Promise<{ server: ScriptedServer; received: () => Buffer }> {
  let data = Buffer.alloc(0);
  let step = 0;
  let truncated = false;
  let base = "";
  const server = await startScriptedServer((req, res) => {
    void readBody(req).then((body) => {
      const url = new URL(req.url ?? "/", base);
      const session = (): void => {
        step++;
        res.setHeader("Location", options.location(base, step));
        res.setHeader("Range", `0-${Math.max(0, data.length - 1)}`);
      };
      if (req.method === "POST") {
        data = Buffer.alloc(0);
        if (options.minChunk) res.setHeader("OCI-Chunk-Min-Length", String(options.minChunk));
        session();
        res.writeHead(202).end();
      } else if (req.method === "PATCH") {
        const [start] = String(req.headers["content-range"]).split("-").map(Number);
        if (start !== data.length) {
          session();
          res.writeHead(416).end();
          return;
        }
        const cut = options.truncateChunkAt;
        if (cut && !truncated && start === cut.offset) {
          truncated = true;
          data = Buffer.concat([data, body.subarray(0, cut.keep)]);
          session();
          res.writeHead(416).end();
          return;
        }
        data = Buffer.concat([data, body]);
        session();
        res.writeHead(202).end();
      } else if (req.method === "GET") {
        session();
        res.writeHead(204).end();
      } else if (req.method === "PUT") {
        data = Buffer.concat([data, body]);
        const digest = url.searchParams.get("digest");
        if (digest !== sha256(data)) {
          res.writeHead(400, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ errors: [{ code: "DIGEST_INVALID", message: "digest mismatch" }] }));
          return;
        }
        res.writeHead(201, { "Docker-Content-Digest": digest }).end();
      } else {
        res.writeHead(204).end();
      }
    });
  });
  base = server.url;
  return { server, received: () => data };
}

describe("upload Location rules (scripted registry)", () => {
  const servers: ScriptedServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it("follows a relative Location and an absolute one, keeping their query as written", async () => {
    for (const absolute of [false, true]) {
      const scripted = await scriptedUploads({
        location: (base, step) => `${absolute ? base : ""}/uploads/s${step}?_state=a%2Bb%3D%3D&n=${step}`,
      });
      servers.push(scripted.server);
      const data = randomBytes(1_000);
      await put(connect(scripted.server.url), "team/app", data);
      const methods = scripted.server.requests.map((r) => r.method);
      // The GET is /v2/, asked once before a stream goes out: this registry wants no credential.
      expect(methods).toEqual(["POST", "GET", "PUT"]);
      const close = scripted.server.requests[2];
      expect(close?.path).toBe(`/uploads/s1?_state=a%2Bb%3D%3D&n=1&digest=${encodeURIComponent(sha256(data))}`);
      expect(scripted.received().equals(data)).toBe(true);
    }
  });

  it("refuses a Location on another origin, sending nothing there", async () => {
    const elsewhere = await startScriptedServer((_req, res) => res.writeHead(500).end());
    servers.push(elsewhere);
    const scripted = await scriptedUploads({ location: () => `${elsewhere.url}/uploads/stolen` });
    servers.push(scripted.server);
    const error = await expectUpstreamError(put(connect(scripted.server.url), "team/app", randomBytes(10)), "protocol");
    expect(error.message).toMatch(/another origin/);
    expect(elsewhere.requests).toEqual([]);
  });

  it("sends chunks of the registry's minimum length, and resumes after a 416 from the session's Range", async () => {
    const scripted = await scriptedUploads({
      location: (_base, step) => `/uploads/s?step=${step}`,
      minChunk: 10,
      truncateChunkAt: { offset: 10, keep: 4 },
    });
    servers.push(scripted.server);
    const data = randomBytes(25);
    await put(connect(scripted.server.url), "team/app", data, 4);
    const seen = scripted.server.requests.map((r) =>
      [r.method, r.method === "PATCH" ? r.headers["content-range"] : undefined].filter(Boolean).join(" "),
    );
    // 10 bytes, then 10 of which the registry keeps 4 (416), its Range asked, the other 6, the last 5.
    expect(seen).toEqual(["POST", "PATCH 0-9", "PATCH 10-19", "GET", "PATCH 14-19", "PATCH 20-24", "PUT"]);
    expect(scripted.received().equals(data)).toBe(true);
  });
});

describe("a 401 in the middle of an upload (this registry, token auth)", () => {
  let registry: TestRegistry;
  let proxy: ReverseProxy;
  const inject = { patch: 0, put: 0 };
  let challenge = "";

  beforeAll(async () => {
    registry = await startTestRegistry();
    const probe = await fetch(`${registry.url}/v2/`);
    challenge = probe.headers.get("www-authenticate") ?? "";
    // The first PATCH and the first streamed PUT (a PUT with a body) are refused as if the token
    // had been revoked meanwhile; everything else goes through.
    proxy = await startReverseProxy(registry.url, (req, body) => {
      const refuse =
        (req.method === "PATCH" && inject.patch-- > 0) || (req.method === "PUT" && body.length > 0 && inject.put-- > 0);
      return refuse ? { status: 401, headers: { "WWW-Authenticate": challenge } } : undefined;
    });
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  const tokenRequests = (): number => registry.logs.filter((line) => line.includes('"route":"token"')).length;

  it("sends a refused chunk again with a fresh token", async () => {
    const connection = connect(proxy.url, ADMIN);
    await put(connection, "mid/flow", randomBytes(100), 1_000); // learns the scheme, holds a token
    const before = tokenRequests();
    inject.patch = 1;
    const data = randomBytes(5_000);
    await put(connection, "mid/flow", data, 2_000);
    expect(tokenRequests() - before).toBe(1);
    const refused = proxy.requests.filter((r) => r.status === 401 && r.method === "PATCH");
    expect(refused).toHaveLength(1);
    const blob = await connection.registry.getBlob("mid/flow", sha256(data));
    expect((await readAll(blob?.body)).equals(data)).toBe(true);
  });

  it("fails a refused stream as unauthorized, leaves nothing, and succeeds on the next attempt", async () => {
    const connection = connect(proxy.url, ADMIN);
    const data = randomBytes(50_000);
    inject.put = 1;
    await expectUpstreamError(put(connection, "mid/stream", data), "unauthorized");
    expect(await connection.writer.hasBlob("mid/stream", sha256(data))).toBe(false);
    await put(connection, "mid/stream", data);
    expect(await connection.writer.hasBlob("mid/stream", sha256(data))).toBe(true);
  });
});

describe("a stream sent first (scripted registry with basic auth)", () => {
  it("learns the scheme with a body-less GET /v2/ before the first byte goes out", async () => {
    const expected = `Basic ${Buffer.from(`${ALICE.username}:${ALICE.password}`).toString("base64")}`;
    const received: Buffer[] = [];
    const server = await startScriptedServer((req, res) => {
      void readBody(req).then((body) => {
        if (req.headers.authorization !== expected) {
          res.writeHead(401, { "WWW-Authenticate": 'Basic realm="scripted"' }).end();
          return;
        }
        received.push(body);
        res.writeHead(req.method === "PUT" ? 201 : 200).end();
      });
    });
    try {
      const transport = new HttpTransport({ egress: { timeoutMs: 5_000 }, insecure: false });
      const requester = new AuthorizedRequester(transport, () =>
        Promise.resolve({ username: ALICE.username, password: ALICE.password }),
      );
      const data = randomBytes(20_000);
      const response = await requester.send({
        method: "PUT",
        url: new URL(`${server.url}/v2/team/app/blobs/uploads/x?digest=${sha256(data)}`),
        scope: "repository:team/app:pull,push",
        body: { stream: Readable.from([data]), length: data.length },
      });
      expect(response.statusCode).toBe(201);
      await response.body.dump();
      await transport.close();
      expect(server.requests.map((r) => `${r.method} ${r.path.split("?")[0]}`)).toEqual([
        "GET /v2/",
        "PUT /v2/team/app/blobs/uploads/x",
      ]);
      expect(Buffer.concat(received).equals(data)).toBe(true);
    } finally {
      await server.stop();
    }
  });
});

describe("chunked uploads on the wire", () => {
  let distribution: DistributionServer;
  let registry: TestRegistry;
  const proxies: ReverseProxy[] = [];

  beforeAll(async () => {
    distribution = await startDistribution({ users: { [ALICE.username]: ALICE.password } });
    registry = await startTestRegistry();
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    await distribution?.stop();
    await registry?.stop();
  });

  for (const which of ["CNCF Distribution 2.8", "this registry"] as const) {
    it(`sends PATCHes with Content-Range to ${which}, following each Location`, async () => {
      const target = which === "this registry" ? registry.url : distribution.url;
      const proxy = await startReverseProxy(target);
      proxies.push(proxy);
      const connection = connect(proxy.url, which === "this registry" ? ADMIN : ALICE);
      const data = randomBytes(2 * 32_768 + 100);
      await put(connection, "chunked/wire", data, 32_768);
      const patches = proxy.requests.filter((r) => r.method === "PATCH" && r.status === 202);
      expect(patches.map((r) => r.headers["content-range"])).toEqual(["0-32767", "32768-65535", "65536-65635"]);
      const close = proxy.requests.find((r) => r.method === "PUT");
      expect(close?.status).toBe(201);
      expect(close?.headers["content-length"]).toBe("0");
      const blob = await connection.registry.getBlob("chunked/wire", sha256(data));
      expect((await readAll(blob?.body)).equals(data)).toBe(true);
    });
  }
});
