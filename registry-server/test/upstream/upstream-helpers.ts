// Shared by the upstream adapter tests: reading a streamed body, asserting a failure's kind, and
// pushing test images into registries that need the two-step upload.

import type { Readable } from "node:stream";
import { expect } from "vitest";
import { UpstreamError, type UpstreamFailure } from "../../src/upstream/upstream-registry.ts";
import { descriptorOf, DOCKER_MANIFEST, sha256, type OciClient } from "../distribution/oci-client.ts";

export async function readAll(body: Readable | undefined): Promise<Buffer> {
  if (!body) throw new Error("no body");
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Awaits `promise`, expecting an UpstreamError of `kind`; returns it for further checks. */
export async function expectUpstreamError(promise: Promise<unknown>, kind: UpstreamFailure): Promise<UpstreamError> {
  const error: unknown = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  expect((error as UpstreamError).kind, (error as Error).message).toBe(kind);
  return error as UpstreamError;
}

/** Pushes a blob with `POST` then `PUT` (Distribution 2.8 does not finish a single `POST ?digest=`). */
export async function pushBlobTwoStep(client: OciClient, repository: string, data: string): Promise<string> {
  const digest = sha256(data);
  const start = await client.request("POST", `/v2/${repository}/blobs/uploads/`);
  if (start.status !== 202) throw new Error(`upload start: ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get("location") ?? "", client.base);
  location.searchParams.set("digest", digest);
  const put = await client.request("PUT", location.toString(), {
    headers: { "Content-Type": "application/octet-stream" },
    body: Buffer.from(data),
  });
  if (put.status !== 201) throw new Error(`upload finish: ${put.status} ${await put.text()}`);
  return digest;
}

/** A Docker schema 2 image (config and one layer) pushed the two-step way; its manifest's digest and bytes. */
export async function pushDockerImage(
  client: OciClient,
  repository: string,
  tag: string,
  layer: string,
): Promise<{ digest: string; bytes: Buffer }> {
  const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } });
  await pushBlobTwoStep(client, repository, config);
  await pushBlobTwoStep(client, repository, layer);
  const manifest = {
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: descriptorOf("application/vnd.docker.container.image.v1+json", config),
    layers: [descriptorOf("application/vnd.docker.image.rootfs.diff.tar.gzip", layer)],
  };
  // Indented on purpose: the digest must be that of these exact bytes, not of a re-serialisation.
  const bytes = Buffer.from(JSON.stringify(manifest, null, 3));
  const response = await client.request("PUT", `/v2/${repository}/manifests/${tag}`, {
    headers: { "Content-Type": DOCKER_MANIFEST },
    body: bytes,
  });
  if (response.status !== 201) throw new Error(`manifest push: ${response.status} ${await response.text()}`);
  return { digest: sha256(bytes), bytes };
}
