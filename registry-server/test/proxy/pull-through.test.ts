// The proxy cache against a real upstream (a second registry on loopback, behind Docker token
// authentication): what is fetched and when, counted on the upstream's own request metrics.

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DOCKER_MANIFEST,
  OCI_INDEX,
  OCI_MANIFEST,
  OciClient,
  descriptorOf,
  sha256,
} from "../distribution/oci-client.ts";
import {
  delta,
  metricValue,
  requestCounts,
  startProxyFixture,
  type ProxyFixture,
  twoPlatformIndex,
} from "./proxy-fixture.ts";

const ACCEPT_ALL = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST].join(", ");

async function pullManifest(
  f: ProxyFixture,
  repository: string,
  reference: string,
  accept = ACCEPT_ALL,
): Promise<{ status: number; digest: string | null; bytes: Buffer; code?: string | undefined; text: string }> {
  const response = await f.client.request("GET", `/v2/${f.project}/${repository}/manifests/${reference}`, {
    headers: { Accept: accept },
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  const text = bytes.toString("utf8");
  let code: string | undefined;
  if (response.status >= 400) code = (JSON.parse(text) as { errors?: Array<{ code?: string }> }).errors?.[0]?.code;
  return { status: response.status, digest: response.headers.get("docker-content-digest"), bytes, code, text };
}

async function pullBlob(
  f: ProxyFixture,
  repository: string,
  digest: string,
): Promise<{ status: number; bytes: Buffer }> {
  const response = await f.client.request("GET", `/v2/${f.project}/${repository}/blobs/${digest}`);
  return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
}

/** Pushes an image whose manifest has unusual formatting: a digest only survives byte for byte. */
async function pushImage(
  f: ProxyFixture,
  repository: string,
  tag: string,
  layer: Buffer,
): Promise<{ digest: string; bytes: Buffer; layerDigest: string; configDigest: string }> {
  const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } });
  const configDigest = await f.upstreamClient.pushBlob(repository, config);
  const layerDigest = await f.upstreamClient.pushBlob(repository, layer);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf("application/vnd.oci.image.config.v1+json", config),
    layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
  };
  const bytes = Buffer.from(`${JSON.stringify(manifest, null, 3)}\n\n`);
  const response = await f.upstreamClient.request("PUT", `/v2/${repository}/manifests/${tag}`, {
    headers: { "Content-Type": OCI_MANIFEST },
    body: bytes,
  });
  expect(response.status).toBe(201);
  return { digest: sha256(bytes), bytes, layerDigest, configDigest };
}

describe("a proxy-cache project", () => {
  let f: ProxyFixture;
  beforeAll(async () => {
    f = await startProxyFixture();
  });
  afterAll(async () => {
    await f.stop();
  });

  it("fetches on the first pull, checks the tag with a HEAD on the next, and never asks again by digest", async () => {
    const image = await pushImage(f, "team/app", "1.0", randomBytes(64 * 1024));

    let before = await requestCounts(f.upstream);
    const first = await pullManifest(f, "team/app", "1.0");
    expect(first.status, first.text).toBe(200);
    expect(first.digest).toBe(image.digest);
    expect(first.bytes.equals(image.bytes)).toBe(true);
    for (const digest of [image.configDigest, image.layerDigest]) {
      const blob = await pullBlob(f, "team/app", digest);
      expect(blob.status).toBe(200);
      expect(sha256(blob.bytes)).toBe(digest);
    }
    let upstream = delta(before, await requestCounts(f.upstream));
    expect(upstream["HEAD manifest_get"]).toBe(1);
    expect(upstream["GET manifest_get"]).toBe(1);
    expect(upstream["GET blob_get"]).toBe(2);

    before = await requestCounts(f.upstream);
    const second = await pullManifest(f, "team/app", "1.0");
    expect(second.bytes.equals(image.bytes)).toBe(true);
    for (const digest of [image.configDigest, image.layerDigest])
      expect((await pullBlob(f, "team/app", digest)).status).toBe(200);
    upstream = delta(before, await requestCounts(f.upstream));
    expect(upstream["HEAD manifest_get"]).toBe(1);
    expect(upstream["GET manifest_get"]).toBeUndefined();
    expect(upstream["GET blob_get"]).toBeUndefined();

    before = await requestCounts(f.upstream);
    const byDigest = await pullManifest(f, "team/app", image.digest);
    expect(byDigest.status).toBe(200);
    upstream = delta(before, await requestCounts(f.upstream));
    expect(upstream["HEAD manifest_get"]).toBeUndefined();
    expect(upstream["GET manifest_get"]).toBeUndefined();

    const labels = { upstream: "upstream-hub" };
    expect(await metricValue(f.proxy, "airlock_proxy_cache_misses_total", { ...labels, kind: "blob" })).toBe(2);
    expect(await metricValue(f.proxy, "airlock_proxy_cache_hits_total", { ...labels, kind: "blob" })).toBe(2);
    expect(await metricValue(f.proxy, "airlock_proxy_cache_hits_total", { ...labels, kind: "manifest" })).toBe(2);
    expect(await metricValue(f.proxy, "airlock_proxy_cache_bytes_served_total", labels)).toBeGreaterThan(64 * 1024);
    expect(await metricValue(f.proxy, "airlock_proxy_upstream_bytes_total", labels)).toBeGreaterThan(64 * 1024);
  });

  it("serves the new digest when the upstream tag moves", async () => {
    const old = await pushImage(f, "team/moving", "latest", randomBytes(1024));
    expect((await pullManifest(f, "team/moving", "latest")).digest).toBe(old.digest);
    const moved = await pushImage(f, "team/moving", "latest", randomBytes(1024));
    expect(moved.digest).not.toBe(old.digest);
    const pulled = await pullManifest(f, "team/moving", "latest");
    expect(pulled.digest).toBe(moved.digest);
    expect(pulled.bytes.equals(moved.bytes)).toBe(true);
    // The old manifest stays pullable by digest.
    expect((await pullManifest(f, "team/moving", old.digest)).status).toBe(200);
  });

  it("fetches a blob that sixteen clients pull at once from the upstream once", async () => {
    const layer = randomBytes(4 * 1024 * 1024);
    const image = await pushImage(f, "team/big", "1", layer);
    const before = await requestCounts(f.upstream);
    const pulls = await Promise.all(Array.from({ length: 16 }, () => pullBlob(f, "team/big", image.layerDigest)));
    for (const pull of pulls) {
      expect(pull.status).toBe(200);
      expect(pull.bytes.length).toBe(layer.length);
      expect(sha256(pull.bytes)).toBe(image.layerDigest);
    }
    expect(delta(before, await requestCounts(f.upstream))["GET blob_get"]).toBe(1);
  });

  it("answers 404 for what the upstream does not have", async () => {
    const missing = await pullManifest(f, "team/none", "1");
    expect(missing.status).toBe(404);
    expect(missing.code).toBe("MANIFEST_UNKNOWN");
    const blob = await f.client.request("GET", `/v2/${f.project}/team/none/blobs/${sha256("nothing")}`);
    expect(blob.status).toBe(404);
  });

  it("refuses pushes", async () => {
    const admin = new OciClient(f.proxy.url);
    const upload = await admin.request("POST", `/v2/${f.project}/team/app/blobs/uploads/`);
    expect(upload.status).toBe(403);
    expect(await admin.errorCode(upload)).toBe("DENIED");
    const manifest = await admin.request("PUT", `/v2/${f.project}/team/app/manifests/pushed`, {
      headers: { "Content-Type": OCI_MANIFEST },
      body: "{}",
    });
    expect(manifest.status).toBe(403);
  });
});

describe("a proxy-cache project whose upstream fails", () => {
  let f: ProxyFixture;
  beforeAll(async () => {
    f = await startProxyFixture();
  });
  afterAll(async () => {
    await f.stop();
  });

  it("keeps serving what it cached, the whole index included, and says why the rest fails", async () => {
    const cached = await pushImage(f, "team/app", "1.0", randomBytes(2048));
    const uncached = await pushImage(f, "team/other", "1.0", randomBytes(2048));
    // A two-platform index; the client pulls it, then only the amd64 image.
    const amd64 = await pushImage(f, "team/multi", "amd64", randomBytes(1024));
    const arm64 = await pushImage(f, "team/multi", "arm64", randomBytes(1024));
    const index = twoPlatformIndex(amd64, arm64);
    const pushed = await f.upstreamClient.pushManifest("team/multi", "1.0", index, OCI_INDEX);
    expect(pushed.response.status).toBe(201);

    expect((await pullManifest(f, "team/app", "1.0")).status).toBe(200);
    expect((await pullBlob(f, "team/app", cached.layerDigest)).status).toBe(200);
    expect((await pullManifest(f, "team/multi", "1.0")).digest).toBe(pushed.digest);
    expect((await pullManifest(f, "team/multi", amd64.digest)).status).toBe(200);

    await f.upstream.stop();

    const byTag = await pullManifest(f, "team/app", "1.0");
    expect(byTag.status).toBe(200);
    expect(byTag.bytes.equals(cached.bytes)).toBe(true);
    expect((await pullManifest(f, "team/app", cached.digest)).status).toBe(200);
    const blob = await pullBlob(f, "team/app", cached.layerDigest);
    expect(sha256(blob.bytes)).toBe(cached.layerDigest);

    const multi = await pullManifest(f, "team/multi", "1.0");
    expect(multi.status).toBe(200);
    const served = JSON.parse(multi.text) as { manifests: Array<{ platform: { architecture: string } }> };
    const platforms = served.manifests.map((m) => m.platform.architecture);
    expect(platforms).toEqual(["amd64", "arm64"]);

    const missing = await pullManifest(f, "team/other", "1.0");
    expect(missing.status).toBe(503);
    expect(missing.code).toBe("UNAVAILABLE");
    expect(missing.text).toMatch(/upstream registry upstream-hub cannot be reached, and manifest .* is not cached/);
    const missingBlob = await f.client.request("GET", `/v2/${f.project}/team/other/blobs/${uncached.layerDigest}`);
    expect(missingBlob.status).toBe(503);

    expect(
      await metricValue(f.proxy, "airlock_proxy_stale_served_total", { upstream: "upstream-hub", kind: "manifest" }),
    ).toBe(2);
    expect(
      await metricValue(f.proxy, "airlock_proxy_upstream_errors_total", {
        upstream: "upstream-hub",
        reason: "unreachable",
      }),
    ).toBeGreaterThanOrEqual(3);
    expect(f.proxy.logs.some((line) => line.includes("serving the cached manifest"))).toBe(true);
  });
});

describe("a proxy-cache project with a bandwidth limit", () => {
  let f: ProxyFixture;
  beforeAll(async () => {
    // 800 kilobits per second: 100,000 bytes per second, one second of burst.
    f = await startProxyFixture({ metadata: { proxy_speed_kb: "800", max_upstream_conn: "1" } });
  });
  afterAll(async () => {
    await f.stop();
  });

  it("fetches no faster than proxy_speed_kb allows", async () => {
    const image = await pushImage(f, "team/slow", "1", randomBytes(300_000));
    const started = performance.now();
    const blob = await pullBlob(f, "team/slow", image.layerDigest);
    const seconds = (performance.now() - started) / 1000;
    expect(sha256(blob.bytes)).toBe(image.layerDigest);
    // 300 kB at 100 kB/s after a 100 kB burst: at least two seconds.
    expect(seconds).toBeGreaterThan(1.8);
  });
});
