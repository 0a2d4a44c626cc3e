// Manifests: GET and HEAD by tag or digest (content negotiation), PUT (with ?tag= when pushing
// by digest, OCI-Subject when the manifest has a subject), DELETE by tag or digest. A GET or HEAD
// passes the project's pull policies (security/pull-gate.ts) once the manifest is resolved and
// before any of it is sent, as Harbor's middlewares do on both methods.

import type { AuditLog } from "../api/audit-log.ts";
import { repositoryProject } from "../auth/access-scope.ts";
import type { ReadRecorder } from "../content/access-recorder.ts";
import type { ContentSource } from "../content/content-source.ts";
import { eventArtifact } from "../events/manifest-events.ts";
import type { EventPublisher } from "../events/registry-events.ts";
import { parseReference, type ManifestService, type Reference } from "../content/manifest-service.ts";
import type { RequestContext, Router } from "../http/router.ts";
import type { PullGate } from "../security/pull-gate.ts";
import { pull, push, remove, type AccessGuard } from "./access-guard.ts";
import { readBody, repositoryName } from "./request-helpers.ts";

const MANIFEST_PATH = /^\/v2\/(?<name>.+)\/manifests\/(?<reference>[^/]+)$/;

function describe(name: string, reference: Reference, digest?: string): string {
  if (reference.kind === "tag") return `${name}:${reference.tag}`;
  return `${name}@${digest ?? reference.digest.text}`;
}

export function addManifestRoutes(
  router: Router,
  deps: {
    manifests: ManifestService;
    content: ContentSource;
    guard: AccessGuard;
    audit?: AuditLog;
    /** Told of each manifest pulled (its pull time). */
    reads?: ReadRecorder;
    /** The project policies a pull must pass (signatures, vulnerabilities). */
    gate?: PullGate;
    /** Told of each pull (webhooks); pushes and deletions are told by the manifest service. */
    events?: EventPublisher;
  },
): void {
  const { manifests, content, guard, audit, reads, gate, events } = deps;

  /** Records a push, pull or delete of an artifact in the audit log. */
  async function record(
    ctx: RequestContext,
    name: string,
    resource: string,
    operation: string,
    success: boolean,
  ): Promise<void> {
    if (!audit) return;
    const project = repositoryProject(name)?.project;
    audit.record({
      username: await guard.subject(ctx),
      resource,
      resourceType: "artifact",
      operation,
      success,
      ...(project !== undefined && { project }),
    });
  }

  router.add("manifest_get", "GET", MANIFEST_PATH, async (ctx) => {
    const { req, res, params } = ctx;
    const name = repositoryName(params);
    await guard.require(ctx, [pull(name)]);
    const reference = parseReference(params["reference"] ?? "");
    const stored = await content.manifest(name, reference, req.headers.accept);
    await gate?.check(ctx, name, stored);
    res.statusCode = 200;
    res.setHeader("Content-Type", stored.record.mediaType);
    res.setHeader("Content-Length", stored.content.length);
    res.setHeader("Docker-Content-Digest", stored.record.digest);
    res.setHeader("ETag", `"${stored.record.digest}"`);
    res.end(req.method === "HEAD" ? undefined : stored.content);
    if (req.method === "HEAD") return;
    // A pull, as Harbor counts them: a GET of the manifest (a HEAD only asks whether it changed).
    reads?.pulled(name, stored.record.digest);
    const operator = await guard.subject(ctx);
    events?.publish({
      type: "PULL_ARTIFACT",
      occurredAt: new Date(),
      operator,
      artifact: eventArtifact(name, stored.record, reference.kind === "tag" ? [reference.tag] : []),
    });
    await record(ctx, name, describe(name, reference, stored.record.digest), "pull", true);
  });

  router.add("manifest_put", "PUT", MANIFEST_PATH, async (ctx) => {
    const { req, res, url, params } = ctx;
    const name = repositoryName(params);
    await guard.require(ctx, [push(name)]);
    await content.assertWritable(name);
    const reference = parseReference(params["reference"] ?? "");
    const extraTags = reference.kind === "digest" ? url.searchParams.getAll("tag") : [];
    const body = await readBody(req, manifests.maxManifestBytes);
    let result;
    try {
      result = await manifests.push(
        name,
        reference,
        body,
        req.headers["content-type"],
        extraTags,
        await guard.subject(ctx),
      );
    } finally {
      await record(ctx, name, describe(name, reference, result?.digest), "create", result !== undefined);
    }
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
    const reference = parseReference(ctx.params["reference"] ?? "");
    let success = false;
    try {
      await manifests.delete(name, reference, await guard.subject(ctx));
      success = true;
    } finally {
      await record(ctx, name, describe(name, reference), "delete", success);
    }
    ctx.res.statusCode = 202;
    ctx.res.setHeader("Content-Length", "0");
    ctx.res.end();
  });
}
