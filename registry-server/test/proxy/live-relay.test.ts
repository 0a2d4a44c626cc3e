// The first client of an uncached blob gets the upstream's bytes as they arrive, and never a
// complete body that fails the digest: the proxy holds the last chunk back until the bytes
// checked out and cuts the connection when they do not. The upstream here is a small HTTP server
// of the test's own, which can lie about a blob and pause in the middle of one.

import { createHash, randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HarborClient, idFromLocation } from "../api/harbor-client.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";

interface ServedBlob {
  /** What the upstream sends for the digest (other bytes than the digest names, to lie). */
  bytes: Buffer;
  /** When set, the upstream sends the first half, then waits for it before sending the rest. */
  gate?: Promise<void>;
}

const sha256 = (data: Buffer): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** A registry that serves /v2/ and the blobs in `blobs` (anonymously), nothing else. */
async function startFakeUpstream(blobs: Map<string, ServedBlob>): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === "/v2/" || path === "/v2") {
      res.setHeader("Content-Type", "application/json");
      res.end("{}");
      return;
    }
    const blob = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path)?.[1];
    const served = blob === undefined ? undefined : blobs.get(blob);
    if (!served) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader("Content-Type", "application/octet-stream");
    res.setHeader("Content-Length", served.bytes.length);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const half = served.bytes.length >> 1;
    res.write(served.bytes.subarray(0, half));
    void (served.gate ?? Promise.resolve()).then(() => res.end(served.bytes.subarray(half)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("the first client of an uncached blob", () => {
  const blobs = new Map<string, ServedBlob>();
  let upstream: { url: string; close(): Promise<void> };
  let proxy: TestRegistry;
  const project = "relay";

  beforeAll(async () => {
    upstream = await startFakeUpstream(blobs);
    proxy = await startTestRegistry();
    const api = new HarborClient(proxy.url);
    const endpoint = await api.call("POST", "/registries", {
      body: { name: "fake-upstream", type: "docker-registry", url: upstream.url, insecure: false },
    });
    expect(endpoint.status, endpoint.text).toBe(201);
    const created = await api.call("POST", "/projects", {
      body: {
        project_name: project,
        registry_id: idFromLocation(endpoint, "/api/v2.0/registries/"),
        metadata: { public: "true" },
      },
    });
    expect(created.status, created.text).toBe(201);
  });

  afterAll(async () => {
    await proxy?.stop();
    await upstream?.close();
  });

  it("is cut off, never handed a whole body, when the upstream's bytes do not match the digest", async () => {
    const named = randomBytes(3 * 1024 * 1024);
    const sent = Buffer.from(named);
    sent.writeUInt8(sent.readUInt8(sent.length - 1) ^ 0xff, sent.length - 1);
    const digest = sha256(named);
    blobs.set(digest, { bytes: sent });

    const response = await fetch(`${proxy.url}/v2/${project}/app/blobs/${digest}`);
    const outcome = await response.arrayBuffer().then(
      (body) => ({ status: response.status, received: body.byteLength }),
      (error: unknown) => ({ status: response.status, cut: (error as Error).message }),
    );
    // Either refused before any byte, or cut: never a 200 with the complete, corrupt body.
    expect(outcome).not.toMatchObject({ status: 200, received: sent.length });
    expect(outcome.status === 200 ? "cut" in outcome : outcome.status >= 500).toBe(true);

    // Nothing was kept: the next pull asks the upstream again and fails the same way.
    const again = await fetch(`${proxy.url}/v2/${project}/app/blobs/${digest}`, { method: "HEAD" });
    expect(again.status).not.toBe(200);
  });

  it("hands every client the exact bytes while the store frees the relayed chunks, a slow client too", async () => {
    // The relayed chunks are freed once both the store and the client's socket are done with
    // them (storage/handed-over-chunks.ts): one freed too early would reach a client as other
    // bytes. The first client reads slowly, so its socket still queues chunks the store has
    // written; the others are served from the store meanwhile.
    const data = randomBytes(24 * 1024 * 1024);
    const digest = sha256(data);
    blobs.set(digest, { bytes: data });
    const url = `${proxy.url}/v2/${project}/app/blobs/${digest}`;
    const slowClient = async (): Promise<string> => {
      const response = await fetch(url);
      expect(response.status).toBe(200);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const hash = createHash("sha256");
      for (let reads = 0; reads < 1_000_000; reads++) {
        const { value, done } = await reader.read();
        if (done) break;
        hash.update(value);
        if (reads % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return `sha256:${hash.digest("hex")}`;
    };
    const first = slowClient();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const others = Array.from({ length: 3 }, async () => sha256(Buffer.from(await (await fetch(url)).arrayBuffer())));
    expect(await Promise.all([first, ...others])).toEqual(Array(4).fill(digest));
    expect(sha256(Buffer.from(await (await fetch(url)).arrayBuffer()))).toBe(digest);
  });

  it("gets the bytes as they arrive, before the upstream has sent them all", async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const digest = sha256(data);
    let release!: () => void;
    blobs.set(digest, { bytes: data, gate: new Promise((resolve) => (release = resolve)) });

    const response = await fetch(`${proxy.url}/v2/${project}/app/blobs/${digest}`);
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const chunks: Uint8Array[] = [];
    let received = 0;
    // The upstream holds back the second half; well before it, the client must see bytes flow.
    const deadline = Date.now() + 10_000;
    while (received < data.length / 4 && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.length;
    }
    expect(received).toBeGreaterThanOrEqual(data.length / 4);
    expect(received).toBeLessThan(data.length);

    release();
    for (let reads = 0; reads < 100_000; reads++) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    expect(Buffer.concat(chunks).equals(data)).toBe(true);

    // Stored as well: a HEAD answers from the cache.
    const head = await fetch(`${proxy.url}/v2/${project}/app/blobs/${digest}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("docker-content-digest")).toBe(digest);
  });
});
