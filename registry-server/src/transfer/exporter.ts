// Export: images from any registry into one bundle file (bundle-format.ts). Manifests are all
// fetched first; then every distinct config and layer is streamed from its registry into the
// tar while its digest is computed, and written again from its start when the download breaks.
// The bundle is written to a temporary file beside the output and renamed only when complete,
// so a failed or interrupted export leaves nothing behind.

import { createHash } from "node:crypto";
import { rename, rm } from "node:fs/promises";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { UpstreamError } from "../upstream/upstream-registry.ts";
import {
  BUNDLE_FILE,
  blobPath,
  IMAGE_NAME_ANNOTATION,
  INDEX_FILE,
  layoutIndex,
  OCI_LAYOUT,
  OCI_LAYOUT_FILE,
  REF_NAME_ANNOTATION,
  type BundleDescription,
} from "./bundle-format.ts";
import { resolveImage, type BlobToFetch, type ResolvedImage } from "./export-resolver.ts";
import { ExportError, type ExportSources } from "./export-sources.ts";
import type { ImageReference } from "./image-reference.ts";
import { TarFileWriter } from "./tar-file.ts";

export interface ExportProgress {
  resolved(image: ResolvedImage): void;
  /** Called as bytes arrive, with the running totals of the blob phase. */
  bytes(done: number, total: number): void;
  blobDone(blob: BlobToFetch, index: number, count: number): void;
  imageDone(image: ResolvedImage): void;
  retrying(blob: BlobToFetch, attempt: number, error: Error): void;
}

export interface ExportRequest {
  readonly images: readonly ImageReference[];
  readonly platforms: readonly string[];
  /** With platforms: keep each index byte for byte with only their images (a sparse index). */
  readonly sparseIndex?: boolean;
  readonly output: string;
  readonly sources: ExportSources;
  readonly toolVersion: string;
  readonly progress: ExportProgress;
  readonly signal?: AbortSignal;
  /** Attempts per blob (default 3). */
  readonly attempts?: number;
  readonly retryDelayMs?: number;
}

export interface ExportSummary {
  readonly images: number;
  readonly blobs: number;
  /** Bytes of manifests, configs and layers in the bundle. */
  readonly bytes: number;
  readonly fileBytes: number;
  readonly output: string;
}

const RETRIED: ReadonlySet<string> = new Set(["unreachable", "timeout", "server-error", "rate-limited"]);

function description(
  images: readonly ResolvedImage[],
  blobs: number,
  size: number,
  version: string,
  created: Date,
): BundleDescription {
  return {
    format: "airlock-bundle",
    version: 1,
    created: created.toISOString(),
    tool: { name: "airlock-registry", version },
    images: images.map((image) => ({
      source: image.source,
      digest: image.top.digest,
      media_type: image.top.mediaType,
      platforms: image.platforms,
      size: image.size,
      ...(image.sourceDigest !== undefined && { source_digest: image.sourceDigest }),
      ...(image.omittedManifests !== undefined && { omitted_manifests: image.omittedManifests }),
    })),
    blobs,
    size,
  };
}

export async function exportBundle(request: ExportRequest): Promise<ExportSummary> {
  const { progress, signal } = request;
  const images: ResolvedImage[] = [];
  for (const ref of request.images) {
    signal?.throwIfAborted();
    const image = await resolveImage(ref, await request.sources.forHost(ref.registry), request.platforms, {
      ...(request.sparseIndex !== undefined && { sparseIndex: request.sparseIndex }),
    });
    images.push(image);
    progress.resolved(image);
  }

  // Distinct content, in the order of the layout: manifests, configs, layers.
  const manifests = new Map<string, Buffer>();
  const configs = new Map<string, { blob: BlobToFetch; image: ResolvedImage }>();
  const layers = new Map<string, { blob: BlobToFetch; image: ResolvedImage }>();
  for (const image of images) {
    for (const [digest, manifest] of image.manifests) manifests.set(digest, manifest.content);
    for (const blob of image.blobs.values()) {
      if (manifests.has(blob.digest)) continue;
      const target = blob.kind === "config" ? configs : layers;
      if (!target.has(blob.digest)) target.set(blob.digest, { blob, image });
    }
  }
  for (const digest of configs.keys()) layers.delete(digest);
  const streamed = [...configs.values(), ...layers.values()];
  let payload = 0;
  for (const content of manifests.values()) payload += content.length;
  const blobTotal = streamed.reduce((sum, s) => sum + s.blob.size, 0);
  payload += blobTotal;

  const created = new Date();
  const index = images.map((image) => ({
    mediaType: image.top.mediaType,
    digest: image.top.digest,
    size: image.top.size,
    annotations: {
      [IMAGE_NAME_ANNOTATION]: image.source,
      ...(image.ref.tag !== undefined && image.ref.digest === undefined && { [REF_NAME_ANNOTATION]: image.ref.tag }),
    },
  }));
  const output = path.resolve(request.output);
  const temporary = path.join(path.dirname(output), `.${path.basename(output)}.${process.pid}.partial`);
  const writer = await TarFileWriter.create(temporary, created);
  try {
    await writer.addFile(OCI_LAYOUT_FILE, Buffer.from(JSON.stringify(OCI_LAYOUT)));
    await writer.addFile(INDEX_FILE, layoutIndex(index));
    const described = description(images, manifests.size + streamed.length, payload, request.toolVersion, created);
    await writer.addFile(BUNDLE_FILE, Buffer.from(JSON.stringify(described, undefined, 2)));
    await writer.directory("blobs");
    const algorithms = new Set(
      [...manifests.keys(), ...streamed.map((s) => s.blob.digest)].map((d) => d.split(":")[0] ?? ""),
    );
    for (const algorithm of [...algorithms].sort()) await writer.directory(`blobs/${algorithm}`);
    for (const [digest, content] of manifests) await writer.addFile(blobPath(digest), content);

    // Each image is reported done once the last of its blobs is in.
    const remaining = new Map(
      images.map((image) => [image, new Set([...image.blobs.keys()].filter((d) => !manifests.has(d)))]),
    );
    let done = 0;
    for (const [i, { blob, image }] of streamed.entries()) {
      signal?.throwIfAborted();
      const held = image.configs.get(blob.digest);
      if (held) {
        await writer.addFile(blobPath(blob.digest), held);
        done += held.length;
      } else {
        done = await streamBlob(writer, blob, image, request, done, blobTotal);
      }
      progress.bytes(done, blobTotal);
      progress.blobDone(blob, i + 1, streamed.length);
      for (const [each, left] of remaining) {
        if (left.delete(blob.digest) && left.size === 0) {
          progress.imageDone(each);
          remaining.delete(each);
        }
      }
    }
    for (const [each, left] of remaining) if (left.size === 0) progress.imageDone(each);
    await writer.finish();
    await rename(temporary, output);
    return {
      images: images.length,
      blobs: manifests.size + streamed.length,
      bytes: payload,
      fileBytes: writer.position,
      output,
    };
  } catch (err) {
    await writer.close();
    await rm(temporary, { force: true });
    throw err;
  }
}

/** Streams one blob into the tar, verified; a broken download is cut off and fetched again. */
async function streamBlob(
  writer: TarFileWriter,
  blob: BlobToFetch,
  image: ResolvedImage,
  request: ExportRequest,
  doneBefore: number,
  total: number,
): Promise<number> {
  const attempts = request.attempts ?? 3;
  const start = writer.position;
  for (let attempt = 1; ; attempt++) {
    let done = doneBefore;
    try {
      const fetched = await image.upstream.getBlob(image.ref.repository, blob.digest, request.signal);
      if (!fetched) throw new ExportError(`${image.source}: blob ${blob.digest} not found on the registry`);
      if (fetched.size !== blob.size) {
        fetched.body.destroy();
        throw new ExportError(
          `${image.source}: blob ${blob.digest} is ${fetched.size} bytes, its manifest says ${blob.size}`,
        );
      }
      const hash = createHash(blob.digest.startsWith("sha512:") ? "sha512" : "sha256");
      await writer.begin(blobPath(blob.digest), blob.size);
      let received = 0;
      let lastReport = 0;
      for await (const chunk of fetched.body) {
        const data = chunk as Buffer;
        received += data.length;
        if (received > blob.size)
          throw new ExportError(`${image.source}: blob ${blob.digest} is longer than ${blob.size} bytes`);
        hash.update(data);
        await writer.chunk(data);
        done += data.length;
        if (done - lastReport >= 1024 * 1024) {
          lastReport = done;
          request.progress.bytes(done, total);
        }
      }
      const actual = `${blob.digest.split(":")[0]}:${hash.digest("hex")}`;
      if (received !== blob.size || actual !== blob.digest) {
        throw new ExportError(
          `${image.source}: blob ${blob.digest} arrived as ${actual} (${received} bytes): refusing it`,
        );
      }
      await writer.end(blob.size);
      return done;
    } catch (err) {
      await writer.rewind(start);
      const retriable = err instanceof UpstreamError && RETRIED.has(err.kind) && !request.signal?.aborted;
      if (!retriable || attempt >= attempts) throw err;
      request.progress.retrying(blob, attempt, err);
      await sleep(
        (request.retryDelayMs ?? 1000) * attempt,
        undefined,
        request.signal ? { signal: request.signal } : {},
      );
    }
  }
}
