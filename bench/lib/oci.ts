// Registry operations shared by the phases: digests, the OCI media types, the ways a client pushes
// a blob (POST then PUT ?digest= as Docker clients do, PATCHed chunks, one POST), a manifest by
// PUT, and the small images of the small-image and soak phases.

import { createHash, randomBytes } from "node:crypto";
import { expectStatus, location, send, withQuery, type Target } from "./http.ts";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
export const OCTETS = { "Content-Type": "application/octet-stream" };

export function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** POST to open a session, then PUT ?digest= with the whole body (what Docker clients do). */
export async function pushPostPut(t: Target, repo: string, blob: Buffer, digest: string): Promise<void> {
  const opened = expectStatus(await send(t, "POST", `/v2/${repo}/blobs/uploads/`), 202, "POST upload");
  const put = withQuery(location(t, opened, "POST upload"), "digest", digest);
  expectStatus(await send(t, "PUT", put, { body: blob, headers: OCTETS }), 201, "PUT blob");
}

export async function putManifest(t: Target, repo: string, reference: string, manifest: Buffer): Promise<void> {
  const reply = await send(t, "PUT", `/v2/${repo}/manifests/${reference}`, {
    body: manifest,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  expectStatus(reply, 201, `PUT manifest ${repo}:${reference}`);
}

/** One POST carrying the body and ?digest= (OCI monolithic upload; Distribution 2.8 lacks it). */
export async function pushSinglePost(t: Target, repo: string, blob: Buffer, digest: string): Promise<void> {
  const url = withQuery(`/v2/${repo}/blobs/uploads/`, "digest", digest);
  expectStatus(await send(t, "POST", url, { body: blob, headers: OCTETS }), 201, "single-POST upload");
}

/** POST, PATCH chunks with Content-Range (following each new Location), PUT ?digest=. */
export async function pushChunked(
  t: Target,
  repo: string,
  blob: Buffer,
  digest: string,
  chunkBytes: number,
): Promise<void> {
  let at = location(t, expectStatus(await send(t, "POST", `/v2/${repo}/blobs/uploads/`), 202, "POST upload"), "POST");
  for (let offset = 0; offset < blob.length; offset += chunkBytes) {
    const end = Math.min(offset + chunkBytes, blob.length);
    const reply = await send(t, "PATCH", at, {
      body: blob.subarray(offset, end),
      headers: { ...OCTETS, "Content-Range": `${offset}-${end - 1}` },
    });
    at = location(t, expectStatus(reply, 202, `PATCH ${offset}-${end - 1}`), "PATCH");
  }
  expectStatus(await send(t, "PUT", withQuery(at, "digest", digest)), 201, "PUT closing the upload");
}

export interface SmallImage {
  repo: string;
  tag: string;
  config: Buffer;
  configDigest: string;
  layer: Buffer;
  layerDigest: string;
  manifest: Buffer;
}

/** A config blob, one random layer of `layerBytes` and an OCI manifest, tagged v<index>. */
export function makeSmallImage(index: number, repo: string, layerBytes: number): SmallImage {
  const layer = randomBytes(layerBytes);
  const layerDigest = sha256(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: new Date(Date.UTC(2026, 0, 1, 0, 0, index % 86_400)).toISOString(),
      config: { Env: [`BENCH_IMAGE=${index}`, `NONCE=${randomBytes(8).toString("hex")}`] },
      rootfs: { type: "layers", diff_ids: [layerDigest] },
    }),
  );
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
      layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.length }],
    }),
  );
  return { repo, tag: `v${index}`, config, configDigest, layer, layerDigest, manifest };
}

export async function pushSmallImage(t: Target, image: SmallImage): Promise<void> {
  await pushPostPut(t, image.repo, image.config, image.configDigest);
  await pushPostPut(t, image.repo, image.layer, image.layerDigest);
  await putManifest(t, image.repo, image.tag, image.manifest);
}
