// The copier between two registries of this server, each opened in process (LocalEndpoint) on
// content pushed over HTTP: a multi-platform index with a cosign signature tag and an SBOM
// referrer arrives whole with the same digests (read back over HTTP from a server on the
// destination); what the destination holds is not sent again; blobs shared by repositories are
// mounted; tags naming other digests follow `override`; chunks, the bandwidth limit and retries.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArtifactCopier, type CopyOptions } from "../../src/replication/artifact-copier.ts";
import { MountLedger } from "../../src/replication/mount-ledger.ts";
import { UpstreamError } from "../../src/upstream/upstream-registry.ts";
import {
  pushCosignSignature,
  pushIndex,
  pushRichImage,
  pushSbom,
  type Pushed,
  type PushedIndex,
} from "../api/artifact-fixture.ts";
import { OCI_INDEX, sha256 } from "../distribution/oci-client.ts";
import { CountingEndpoint } from "./counting-endpoint.ts";
import { JumpingClock } from "./fake-clock.ts";
import { openSite, pushTo, serveSite, siteDir, type OpenSite } from "./replication-sites.ts";

const OPTIONS: CopyOptions = { override: true, copyByChunk: false, speedKbps: 0 };

interface SourceContent {
  index: PushedIndex;
  signature: Pushed;
  sbom: Pushed;
  other: Pushed;
  big: { digest: string; layer: string };
}

describe("artifact copier", () => {
  const sourceDir = siteDir("source");
  const destinationDir = siteDir("destination");
  let content: SourceContent;
  let source: OpenSite;
  let destination: OpenSite;
  const signal = new AbortController().signal;

  const copier = (target: CountingEndpoint, options: Partial<CopyOptions> = {}, ledger?: MountLedger) =>
    new ArtifactCopier({
      source: source.endpoint,
      destination: target,
      options: { ...OPTIONS, ...options },
      clock: new JumpingClock(),
      ...(ledger && { ledger }),
    });

  beforeAll(async () => {
    content = await pushTo(sourceDir.dir, async (client) => {
      const index = await pushIndex(client, "prod/app", "v1");
      const signature = await pushCosignSignature(client, "prod/app", index.digest);
      // The SBOM's subject descriptor names the index.
      const sbom = await pushSbom(client, "prod/app", { ...index, bytes: index.bytes });
      const other = await pushRichImage(client, "prod/other", "v1", { seed: "other" });
      const layer = "x".repeat(5000);
      const big = await client.pushImage("prod/shared-a", "v1", { layer });
      await client.pushImage("prod/shared-b", "v1", { layer });
      return { index, signature, sbom, other, big: { digest: big.digest, layer } };
    });
    source = await openSite(sourceDir.dir);
    destination = await openSite(destinationDir.dir);
  });

  afterAll(async () => {
    await source?.close();
    await destination?.close();
    sourceDir.remove();
    destinationDir.remove();
  });

  it("copies an index, its platforms, its cosign signature and its SBOM with their digests", async () => {
    const target = new CountingEndpoint(destination.endpoint);
    const outcome = await copier(target).copy(
      { srcRepository: "prod/app", dstRepository: "mirror/app", reference: "v1", tags: ["v1"] },
      signal,
    );
    expect(outcome.digest).toBe(content.index.digest);
    // Two platforms (config and layer each), the signature's two blobs and the SBOM's two.
    expect(outcome).toMatchObject({ blobsSent: 8, blobsSkipped: 0, blobsMounted: 0, manifestsSent: 5 });
    expect(new Set(target.blobsPut).size).toBe(8);
    // Children and blobs before their parent; the SBOM after its subject.
    const order = target.manifestsPut;
    const [amd64, arm64] = content.index.children;
    expect(order.indexOf(`mirror/app:${amd64?.digest}`)).toBeLessThan(order.indexOf("mirror/app:v1"));
    expect(order.indexOf(`mirror/app:${arm64?.digest}`)).toBeLessThan(order.indexOf("mirror/app:v1"));
    expect(order.indexOf("mirror/app:v1")).toBeLessThan(order.indexOf(`mirror/app:${content.sbom.digest}`));
    // The destination's events name the replication as the pusher.
    expect(destination.published.filter((e) => e.type === "PUSH_ARTIFACT")).toHaveLength(5);
    expect(destination.published.every((e) => e.operator === "replication")).toBe(true);
  });

  it("leaves what arrived readable over HTTP, byte for byte", async () => {
    await destination.close();
    const served = await serveSite(destinationDir.dir);
    try {
      const get = async (reference: string, accept = OCI_INDEX) => {
        const response = await served.client.request("GET", `/v2/mirror/app/manifests/${reference}`, {
          headers: { Accept: `${accept}, application/vnd.oci.image.manifest.v1+json` },
        });
        expect(response.status, reference).toBe(200);
        return Buffer.from(await response.arrayBuffer());
      };
      expect(sha256(await get("v1"))).toBe(content.index.digest);
      for (const child of content.index.children) expect(sha256(await get(child.digest))).toBe(child.digest);
      const signatureTag = `sha256-${content.index.digest.slice(7)}.sig`;
      expect(sha256(await get(signatureTag))).toBe(content.signature.digest);
      const referrers = await served.client.request("GET", `/v2/mirror/app/referrers/${content.index.digest}`);
      const listed = (await referrers.json()) as { manifests: Array<{ digest: string; artifactType?: string }> };
      expect(listed.manifests.map((m) => m.digest)).toEqual([content.sbom.digest]);
      expect(listed.manifests[0]?.artifactType).toBe("application/spdx+json");
      const layer = (
        JSON.parse((await get(content.index.children[0]?.digest ?? "")).toString()) as {
          layers: Array<{ digest: string }>;
        }
      ).layers[0];
      const blob = await served.client.request("GET", `/v2/mirror/app/blobs/${layer?.digest}`);
      expect(sha256(Buffer.from(await blob.arrayBuffer()))).toBe(layer?.digest);
    } finally {
      await served.stop();
      destination = await openSite(destinationDir.dir);
    }
  });

  it("sends nothing the destination already holds", async () => {
    const target = new CountingEndpoint(destination.endpoint);
    const outcome = await copier(target).copy(
      { srcRepository: "prod/app", dstRepository: "mirror/app", reference: "v1", tags: ["v1"] },
      signal,
    );
    expect(outcome).toMatchObject({ blobsSent: 0, manifestsSent: 0, bytesSent: 0 });
    expect(target.putBlobCalls).toHaveLength(0);
    expect(target.manifestsPut).toHaveLength(0);
    // Another tag for the same index: the tag is put, the index, its SBOM and signature are there.
    const again = new CountingEndpoint(destination.endpoint);
    const copied = await copier(again).copy(
      { srcRepository: "prod/app", dstRepository: "mirror/app", reference: content.index.digest, tags: ["v1-copy"] },
      signal,
    );
    expect(copied).toMatchObject({ blobsSent: 0, manifestsSent: 1, manifestsSkipped: 3 });
    expect(again.manifestsPut).toEqual(["mirror/app:v1-copy"]);
    expect(again.putBlobCalls).toHaveLength(0);
  });

  it("mounts a blob it already put in another repository instead of sending it", async () => {
    const ledger = new MountLedger();
    const target = new CountingEndpoint(destination.endpoint);
    const first = await copier(target, {}, ledger).copy(
      { srcRepository: "prod/shared-a", dstRepository: "mirror/shared-a", reference: "v1", tags: ["v1"] },
      signal,
    );
    const second = await copier(target, {}, ledger).copy(
      { srcRepository: "prod/shared-b", dstRepository: "mirror/shared-b", reference: "v1", tags: ["v1"] },
      signal,
    );
    expect(first).toMatchObject({ blobsSent: 2, blobsMounted: 0 });
    expect(second).toMatchObject({ blobsSent: 0, blobsMounted: 2, bytesSent: 0 });
    expect(target.putBlobCalls).toHaveLength(2);
    expect(await destination.endpoint.hasBlob("mirror/shared-b", sha256(content.big.layer), signal)).toBe(true);
  });

  it("leaves a tag naming another digest alone unless override is on", async () => {
    const other = { srcRepository: "prod/other", dstRepository: "mirror/taken", reference: "v1", tags: ["v1"] };
    await copier(new CountingEndpoint(destination.endpoint)).copy(other, signal);
    const app = { srcRepository: "prod/app", dstRepository: "mirror/taken", reference: "v1", tags: ["v1"] };
    const kept = new CountingEndpoint(destination.endpoint);
    const skipped = await copier(kept, { override: false }).copy(app, signal);
    expect(skipped).toMatchObject({ tagsSkipped: 1, blobsSent: 0, manifestsSent: 0 });
    expect(skipped.skipped).toMatch(/other artifacts/);
    expect(kept.putBlobCalls).toHaveLength(0);
    expect(await destination.endpoint.headManifest("mirror/taken", "v1", signal)).toBe(content.other.digest);

    const replaced = await copier(new CountingEndpoint(destination.endpoint), { override: true }).copy(app, signal);
    expect(replaced.tagsSkipped).toBe(0);
    expect(await destination.endpoint.headManifest("mirror/taken", "v1", signal)).toBe(content.index.digest);
  });

  it("sends a blob in chunks when asked, and a blob under the chunk size whole", async () => {
    const target = new CountingEndpoint(destination.endpoint);
    const outcome = await copier(target, { copyByChunk: true, chunkBytes: 1024 }).copy(
      { srcRepository: "prod/shared-a", dstRepository: "chunked/shared", reference: "v1", tags: ["v1"] },
      signal,
    );
    expect(outcome.blobsSent).toBe(2);
    const layer = target.putBlobCalls.find((call) => call.digest === sha256(content.big.layer));
    expect(layer?.options).toEqual({ chunkBytes: 1024 });
    expect(target.putBlobCalls.find((call) => call.digest !== layer?.digest)?.options).toEqual({});
    const stored = await destination.endpoint.getBlob("chunked/shared", sha256(content.big.layer), signal);
    let length = 0;
    for await (const bytes of stored?.body ?? []) length += (bytes as Buffer).length;
    expect(length).toBe(5000);
  });

  it("limits the bandwidth to the policy's speed", async () => {
    const clock = new JumpingClock();
    const outcome = await new ArtifactCopier({
      source: source.endpoint,
      destination: destination.endpoint,
      options: { ...OPTIONS, speedKbps: 1 },
      clock,
    }).copy({ srcRepository: "prod/shared-a", dstRepository: "slow/shared", reference: "v1", tags: ["v1"] }, signal);
    // At 1 KB/s (1024 bytes a second, a 256-byte burst), the 5000-byte layer takes 4.6 s and more.
    expect(outcome.bytesSent).toBeGreaterThan(5000);
    expect(clock.slept).toBeGreaterThanOrEqual(((outcome.bytesSent - 2 * 256) / 1024) * 1000);
    expect(clock.slept).toBeLessThanOrEqual((outcome.bytesSent / 1024) * 1000 + 1000);
  });

  it("tries a blob again when the destination fails in a way another try may cure", async () => {
    const target = new CountingEndpoint(destination.endpoint);
    target.beforePutBlob = (_digest, call) => {
      if (call <= 2) throw new UpstreamError("server-error", "503 from the destination", { status: 503 });
    };
    const clock = new JumpingClock();
    const outcome = await new ArtifactCopier({
      source: source.endpoint,
      destination: target,
      options: OPTIONS,
      clock,
      retry: { attempts: 3, baseMs: 1000, maxMs: 10_000 },
    }).copy({ srcRepository: "prod/other", dstRepository: "retry/other", reference: "v1", tags: ["v1"] }, signal);
    expect(outcome.blobsSent).toBe(2);
    expect(target.putBlobCalls).toHaveLength(4);
    expect(target.blobsPut).toHaveLength(2);
    expect(clock.sleeps).toEqual([1000, 2000]);

    const refused = new CountingEndpoint(destination.endpoint);
    refused.beforePutBlob = () => {
      throw new UpstreamError("unauthorized", "401 from the destination", { status: 401 });
    };
    await expect(
      new ArtifactCopier({ source: source.endpoint, destination: refused, options: OPTIONS, clock }).copy(
        { srcRepository: "prod/other", dstRepository: "retry/refused", reference: "v1", tags: ["v1"] },
        signal,
      ),
    ).rejects.toMatchObject({ kind: "unauthorized" });
    expect(refused.putBlobCalls).toHaveLength(1);
  });
});
