// Blobs: GET and HEAD (with single byte ranges), DELETE.

import type { ReadRecorder } from "../content/access-recorder.ts";
import type { BlobStore } from "../content/blob-store.ts";
import type { BlobSource, ContentSource } from "../content/content-source.ts";
import { parseDigest } from "../content/digest.ts";
import { RegistryError } from "../http/errors.ts";
import type { RequestContext, Router } from "../http/router.ts";
import type { BlobRecord } from "../metadata/metadata-store.ts";
import type { ByteRange } from "../storage/storage-driver.ts";
import { pull, remove, type AccessGuard } from "./access-guard.ts";
import { repositoryName } from "./request-helpers.ts";

const BLOB_PATH = /^\/v2\/(?<name>.+)\/blobs\/(?<digest>[^/]+)$/;

export function blobDigest(text: string): string {
  const digest = parseDigest(text);
  if (typeof digest === "string")
    throw new RegistryError("DIGEST_INVALID", `${digest} digest ${JSON.stringify(text.slice(0, 200))}`);
  return digest.text;
}

/** A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; undefined for none or a multi-range. */
export function parseRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) return "unsatisfiable";
    start = Math.max(size - suffix, 0);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || end < start) return "unsatisfiable";
  return { offset: start, length: end - start + 1 };
}

export function addBlobRoutes(
  router: Router,
  deps: {
    blobs: BlobStore;
    content: ContentSource;
    guard: AccessGuard;
    /** Told of each stored blob read, HEAD included (garbage collection's claim on it). */
    reads?: ReadRecorder;
  },
): void {
  const { blobs, content, guard, reads } = deps;

  router.add("blob_get", "GET", BLOB_PATH, async (ctx) => {
    const { req, res, params } = ctx;
    const name = repositoryName(params);
    await guard.require(ctx, [pull(name)]);
    const digest = blobDigest(params["digest"] ?? "");
    const purpose = req.method === "HEAD" ? "head" : req.headers.range ? "range" : "body";
    const source = await content.blob(name, digest, purpose);
    if (!source) throw new RegistryError("BLOB_UNKNOWN", "blob unknown to registry", { detail: { digest } });
    if (source.kind === "live") return sendLive(ctx, source);
    const blob = source.blob;
    reads?.read(blob.digest);

    const range = parseRange(req.headers.range, blob.size);
    if (range === "unsatisfiable") {
      throw new RegistryError("BLOB_UNKNOWN", "requested range not satisfiable", {
        status: 416,
        headers: { "Content-Range": `bytes */${blob.size}` },
      });
    }
    writeBlobHeaders(res, blob, range);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    try {
      await blobs.send(blob, range, res);
    } catch (err) {
      if (!res.headersSent && !res.destroyed) {
        // Nothing went out (the storage failed before the first byte): the error answers in the
        // error format (503 when the storage is unavailable), without this blob's headers.
        for (const name of BLOB_HEADERS) res.removeHeader(name);
        throw err;
      }
      // The status line is out: a client gone midway only gets a cut connection.
      ctx.log.warn({ err: { message: (err as Error).message }, digest }, "blob download interrupted");
      res.destroy();
    }
  });

  router.add("blob_delete", "DELETE", BLOB_PATH, async (ctx) => {
    const name = repositoryName(ctx.params);
    await guard.require(ctx, [remove(name)]);
    const digest = blobDigest(ctx.params["digest"] ?? "");
    if (!(await blobs.unlink(name, digest)))
      throw new RegistryError("BLOB_UNKNOWN", "blob unknown to registry", { detail: { digest } });
    ctx.res.statusCode = 202;
    ctx.res.setHeader("Content-Length", "0");
    ctx.res.end();
  });
}

/** A blob still arriving from an upstream: whole, with the length the upstream announced. */
async function sendLive(ctx: RequestContext, source: Extract<BlobSource, { kind: "live" }>): Promise<void> {
  const { res } = ctx;
  res.statusCode = 200;
  res.setHeader("Docker-Content-Digest", source.digest);
  res.setHeader("ETag", `"${source.digest}"`);
  res.setHeader("Accept-Ranges", "bytes");
  res.setHeader("Content-Type", "application/octet-stream");
  if (source.size !== undefined) res.setHeader("Content-Length", source.size);
  try {
    await source.pipe(res);
  } catch (err) {
    if (!res.headersSent && !res.destroyed) {
      // Not a byte went out (the upstream broke off at once): the failure answers in the error
      // format (503, the upstream's 429), without this blob's headers.
      for (const name of BLOB_HEADERS) res.removeHeader(name);
      throw err;
    }
    ctx.log.warn({ err: { message: (err as Error).message }, digest: source.digest }, "proxied blob download failed");
    res.destroy();
  }
}

/** What writeBlobHeaders sets, taken back when the bytes cannot be sent after all. */
const BLOB_HEADERS = [
  "Docker-Content-Digest",
  "ETag",
  "Accept-Ranges",
  "Content-Type",
  "Content-Range",
  "Content-Length",
];

function writeBlobHeaders(
  res: import("node:http").ServerResponse,
  blob: BlobRecord,
  range: ByteRange | undefined,
): void {
  res.setHeader("Docker-Content-Digest", blob.digest);
  res.setHeader("ETag", `"${blob.digest}"`);
  res.setHeader("Accept-Ranges", "bytes");
  res.setHeader("Content-Type", "application/octet-stream");
  if (range) {
    res.statusCode = 206;
    res.setHeader("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${blob.size}`);
    res.setHeader("Content-Length", range.length);
  } else {
    res.statusCode = 200;
    res.setHeader("Content-Length", blob.size);
  }
}
