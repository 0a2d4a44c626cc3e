// The portal as the server sends it: one page for every path outside the APIs, hashed files
// cached for good and compressed once at build time, a strict Content-Security-Policy, and the
// APIs' own errors left alone.

import * as http from "node:http";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTENT_SECURITY_POLICY } from "../../src/portal/portal-routes.ts";
import { request, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { builtPortal } from "./portal-browser.ts";

describe("the portal's files", () => {
  let registry: TestRegistry;
  let page: string;

  beforeAll(async () => {
    registry = await startTestRegistry({ portal: { assetsDir: await builtPortal() } });
    page = (await request(`${registry.url}/`)).body;
  });
  afterAll(() => registry.stop());

  it("answers every portal path with the page, under a strict policy", async () => {
    for (const path of ["/", "/projects", "/projects/12/repositories/library%2Fnginx", "/no/such/page"]) {
      const reply = await request(`${registry.url}${path}`);
      expect(reply.status, path).toBe(200);
      expect(reply.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(reply.headers["content-security-policy"]).toBe(CONTENT_SECURITY_POLICY);
      expect(reply.headers["x-frame-options"]).toBe("DENY");
      expect(reply.headers["x-content-type-options"]).toBe("nosniff");
      expect(reply.headers["cache-control"]).toBe("no-cache");
      expect(reply.body).toBe(page);
    }
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe");
  });

  it("loads only its own files: no inline script or style, nothing from another origin", () => {
    const sources = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    expect(sources.length).toBe(3);
    for (const source of sources) expect(source).toMatch(/^\/assets\/[a-z]+-[A-Za-z0-9]+\.(js|css|svg)$/);
    expect(page).not.toMatch(/<script>|<style|style="/);
  });

  it("sends the hashed files compressed as the client accepts, cached for good", async () => {
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(page)?.[1] as string;
    const plain = await request(`${registry.url}${script}`);
    expect(plain.status).toBe(200);
    expect(plain.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(plain.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(plain.headers["content-encoding"]).toBeUndefined();

    const gzip = await rawBody(`${registry.url}${script}`, "gzip");
    expect(gzip.encoding).toBe("gzip");
    expect(gunzipSync(gzip.body).toString("utf8")).toBe(plain.body);
    const brotli = await rawBody(`${registry.url}${script}`, "gzip, deflate, br");
    expect(brotli.encoding).toBe("br");
    expect(brotliDecompressSync(brotli.body).toString("utf8")).toBe(plain.body);
    expect(brotli.body.length).toBeLessThan(plain.body.length / 2);

    const again = await request(`${registry.url}${script}`, {
      headers: { "If-None-Match": String(plain.headers.etag) },
    });
    expect(again.status).toBe(304);
    expect((await request(`${registry.url}/assets/main-NOSUCHFILE.js`)).status).toBe(404);
  });

  it("leaves the APIs' paths and errors to the APIs", async () => {
    const api = await request(`${registry.url}/api/v2.0/no-such-thing`);
    expect(api.status).toBe(404);
    expect(JSON.parse(api.body)).toMatchObject({ errors: [{ code: "NOT_FOUND" }] });
    const v2 = await request(`${registry.url}/v2/`);
    expect(v2.status).toBe(401);
    expect(v2.headers["content-security-policy"]).toBeUndefined();
    const post = await request(`${registry.url}/projects`, { method: "POST" });
    expect(post.status).toBe(405);
  });
});

describe("a server whose portal was not built", () => {
  it("says so on the portal's paths and keeps serving the APIs", async () => {
    const empty = tempDir("no-portal");
    const registry = await startTestRegistry({ portal: { assetsDir: empty.dir } });
    try {
      const reply = await request(`${registry.url}/projects`);
      expect(reply.status).toBe(503);
      expect(reply.body).toContain("scripts/bootstrap.sh");
      expect(registry.logs.some((line) => line.includes("the portal is not built"))).toBe(true);
      expect((await request(`${registry.url}/api/v2.0/systeminfo`)).status).toBe(200);
    } finally {
      await registry.stop();
      empty.remove();
    }
  });
});

/** The body as sent, not decoded: node:http leaves Content-Encoding to the caller. */
function rawBody(url: string, acceptEncoding: string): Promise<{ encoding: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { "Accept-Encoding": acceptEncoding }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ encoding: res.headers["content-encoding"], body: Buffer.concat(chunks) }));
    });
    req.on("timeout", () => req.destroy(new Error(`${url} timed out`)));
    req.on("error", reject);
  });
}
