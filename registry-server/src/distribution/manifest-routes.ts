// Manifests: GET and HEAD by tag or digest (content negotiation), PUT (with ?tag= when pushing
// by digest, OCI-Subject when the manifest has a subject), DELETE by tag or digest.

import { parseReference, type ManifestService } from "../content/manifest-service.ts";
import type { Router } from "../http/router.ts";
import { pull, push, remove, type AccessGuard } from "./access-guard.ts";
import { readBody, repositoryName } from "./request-helpers.ts";

const MANIFEST_PATH = /^\/v2\/(?<name>.+)\/manifests\/(?<reference>[^/]+)$/;

export function addManifestRoutes(router: Router, deps: { manifests: ManifestService; guard: AccessGuard }): void {
  const { manifests, guard } = deps;

  router.add("manifest_get", "GET", MANIFEST_PATH, async (ctx) => {
    const { req, res, params } = ctx;
    const name = repositoryName(params);
    await guard.require(ctx, [pull(name)]);
    const reference = parseReference(params["reference"] ?? "");
    const stored = await manifests.negotiate(name, await manifests.get(name, reference), req.headers.accept);
    res.statusCode = 200;
    res.setHeader("Content-Type", stored.record.mediaType);
    res.setHeader("Content-Length", stored.content.length);
    res.setHeader("Docker-Content-Digest", stored.record.digest);
    res.setHeader("ETag", `"${stored.record.digest}"`);
    res.end(req.method === "HEAD" ? undefined : stored.content);
  });

  router.add("manifest_put", "PUT", MANIFEST_PATH, async (ctx) => {
    const { req, res, url, params } = ctx;
    const name = repositoryName(params);
    await guard.require(ctx, [push(name)]);
    const reference = parseReference(params["reference"] ?? "");
    const extraTags = reference.kind === "digest" ? url.searchParams.getAll("tag") : [];
    const body = await readBody(req, manifests.maxManifestBytes);
    const result = await manifests.push(name, reference, body, req.headers["content-type"], extraTags);
    res.statusCode = 201;
    res.setHeader("Location", `/v2/${name}/manifests/${result.digest}`);
    res.setHeader("Docker-Content-Digest", result.digest);
    if (result.subject) res.setHeader("OCI-Subject", result.subject);
    if (extraTags.length > 0) res.setHeader("OCI-Tag", result.tags.join(", "));
    res.setHeader("Content-Length", "0");
    res.end();
  });

  router.add("manifest_delete", "DELETE", MANIFEST_PATH, async (ctx) => {
    const name = repositoryName(ctx.params);
    await guard.require(ctx, [remove(name)]);
    await manifests.delete(name, parseReference(ctx.params["reference"] ?? ""));
    ctx.res.statusCode = 202;
    ctx.res.setHeader("Content-Length", "0");
    ctx.res.end();
  });
}
