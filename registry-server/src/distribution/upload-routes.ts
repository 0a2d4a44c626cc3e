// Blob uploads: POST (start a session, monolithic upload with ?digest=, or mount with
// ?mount=&from=, also without from), PATCH chunks, PUT to close, GET status, DELETE to cancel.

import type { ServerResponse } from "node:http";
import type { BlobStore } from "../content/blob-store.ts";
import type { ContentSource } from "../content/content-source.ts";
import { isSupportedAlgorithm, parseDigest, type ParsedDigest } from "../content/digest.ts";
import { uploadLocation, uploadRange, type UploadService } from "../content/upload-service.ts";
import { RegistryError } from "../http/errors.ts";
import type { RequestContext, Router } from "../http/router.ts";
import type { UploadRecord } from "../metadata/metadata-store.ts";
import { pull, push, type AccessGuard } from "./access-guard.ts";
import { blobDigest } from "./blob-routes.ts";
import { chunkHeaders, contentLength, hasBody, repositoryName, requestBody } from "./request-helpers.ts";

const START_PATH = /^\/v2\/(?<name>.+)\/blobs\/uploads\/?$/;
const SESSION_PATH = /^\/v2\/(?<name>.+)\/blobs\/uploads\/(?<id>[^/]+)$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function sessionId(params: Readonly<Record<string, string>>): string {
  const id = params["id"] ?? "";
  if (!UUID.test(id)) throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry");
  return id;
}

function requiredDigest(text: string | null): ParsedDigest {
  if (text === null) throw new RegistryError("DIGEST_INVALID", "the digest query parameter is required");
  const digest = parseDigest(text);
  if (typeof digest === "string")
    throw new RegistryError("DIGEST_INVALID", `${digest} digest ${JSON.stringify(text.slice(0, 200))}`);
  return digest;
}

function created(res: ServerResponse, name: string, digest: string): void {
  res.statusCode = 201;
  res.setHeader("Location", `/v2/${name}/blobs/${digest}`);
  res.setHeader("Docker-Content-Digest", digest);
  res.setHeader("Content-Length", "0");
  res.end();
}

function sessionReply(res: ServerResponse, status: number, upload: UploadRecord): void {
  res.statusCode = status;
  res.setHeader("Location", uploadLocation(upload.repository, upload.id));
  res.setHeader("Range", uploadRange(upload.size));
  res.setHeader("Docker-Upload-UUID", upload.id);
  res.setHeader("Content-Length", "0");
  res.end();
}

/** Drains a body the request should not have had, so the connection stays usable. */
function discardBody(ctx: RequestContext): void {
  ctx.req.resume();
}

export function addUploadRoutes(
  router: Router,
  deps: { blobs: BlobStore; uploads: UploadService; guard: AccessGuard; content: ContentSource },
): void {
  const { blobs, uploads, guard, content } = deps;

  router.add("upload_start", "POST", START_PATH, async (ctx) => {
    const { req, res, url, params } = ctx;
    const name = repositoryName(params);
    await guard.require(ctx, [push(name)]);
    await content.assertWritable(name);

    const mount = url.searchParams.get("mount");
    if (mount !== null) {
      const digest = blobDigest(mount);
      const from = url.searchParams.get("from");
      const candidates = from !== null ? [repositoryName({ name: from })] : await blobs.holders(digest);
      const readable = (await guard.granted(ctx, candidates.map(pull))).map((entry) => entry.name);
      const mounted = readable.length > 0 ? await blobs.mount(name, digest, readable) : undefined;
      if (mounted) {
        discardBody(ctx);
        created(res, name, mounted.digest);
        return;
      }
      // Not mountable here: start an ordinary upload, as the specification asks.
    }

    const digestParam = url.searchParams.get("digest");
    if (digestParam !== null && mount === null) {
      const digest = requiredDigest(digestParam);
      const blob = await blobs.write(name, digest, requestBody(req), contentLength(req));
      created(res, name, blob.digest);
      return;
    }

    const algorithm = url.searchParams.get("digest-algorithm") ?? "sha256";
    if (!isSupportedAlgorithm(algorithm)) {
      throw new RegistryError(
        "DIGEST_INVALID",
        `unsupported digest algorithm ${JSON.stringify(algorithm.slice(0, 50))}`,
      );
    }
    discardBody(ctx);
    sessionReply(res, 202, await uploads.start(name, algorithm));
  });

  router.add("upload_status", "GET", SESSION_PATH, async (ctx) => {
    const name = repositoryName(ctx.params);
    await guard.require(ctx, [push(name)]);
    sessionReply(ctx.res, 204, await uploads.status(name, sessionId(ctx.params)));
  });

  router.add("upload_chunk", "PATCH", SESSION_PATH, async (ctx) => {
    const name = repositoryName(ctx.params);
    await guard.require(ctx, [push(name)]);
    const upload = await uploads.append(name, sessionId(ctx.params), requestBody(ctx.req), chunkHeaders(ctx.req));
    sessionReply(ctx.res, 202, upload);
  });

  router.add("upload_complete", "PUT", SESSION_PATH, async (ctx) => {
    const { req, res, url, params } = ctx;
    const name = repositoryName(params);
    await guard.require(ctx, [push(name)]);
    const id = sessionId(params);
    const digest = requiredDigest(url.searchParams.get("digest"));
    const body = hasBody(req) ? requestBody(req) : undefined;
    if (!body) discardBody(ctx);
    const blob = await uploads.complete(name, id, digest, body, body ? chunkHeaders(req) : {});
    created(res, name, blob.digest);
  });

  router.add("upload_cancel", "DELETE", SESSION_PATH, async (ctx) => {
    const name = repositoryName(ctx.params);
    await guard.require(ctx, [push(name)]);
    await uploads.cancel(name, sessionId(ctx.params));
    ctx.res.statusCode = 204;
    ctx.res.end();
  });
}
