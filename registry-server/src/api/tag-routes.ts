// Harbor's tags API of an artifact: list (page, page_size, q=name=…, sort; with_signature and
// with_immutable_status accepted), create (201, empty body, no Location: Harbor has no API for a
// single tag; 409 when the repository has a tag of that name, wherever it points; 405 in a
// proxy-cache project, whose tags follow the upstream) and delete (404 when the artifact has no
// such tag).

import { immutableDeleteMessage, type ImmutableTagGuard } from "../immutability/immutable-tag-guard.ts";
import { z } from "zod";
import { isValidTag } from "../content/names.ts";
import type { EventPublisher } from "../events/registry-events.ts";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import { ConflictError } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ApiAccess } from "./api-access.ts";
import { contextOrNotFound, flag, resolveArtifact } from "./artifact-routes.ts";
import { tagJson } from "./artifact-view.ts";
import type { AuditLog } from "./audit-log.ts";
import { tagQuery } from "./content-queries.ts";
import { ok, paging, pathSegment, readJson, setPageHeaders } from "./harbor-http.ts";
import { pathProject } from "./repository-routes.ts";

const ARTIFACT_PATH = String.raw`^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/repositories\/(?<repository>[^/]+)\/artifacts\/(?<reference>[^/]+)`;
const TAGS = new RegExp(`${ARTIFACT_PATH}\\/tags\\/?$`);
const TAG = new RegExp(`${ARTIFACT_PATH}\\/tags\\/(?<tag>[^/]+)$`);

/** Swagger `Tag`: only `name` is read; other fields (ids, times) are the server's to set. */
const tagBody = z.object({ name: z.string() });

export interface TagRouteDeps {
  store: MetadataStore;
  access: ApiAccess;
  audit: AuditLog;
  /** Refuses deleting a tag an immutable rule protects. */
  immutability?: ImmutableTagGuard;
  /** Told of each tag deleted (event-based replication of deletions). */
  events?: EventPublisher;
}

export function addTagRoutes(router: Router, deps: TagRouteDeps): void {
  const { store, access, audit, immutability, events } = deps;

  router.add("tag_list", "GET", TAGS, async (ctx) => {
    const project = await pathProject(ctx, deps);
    await access.requirePermission(ctx.req, project, "tag", "list");
    flag(ctx.url, "with_signature", false);
    flag(ctx.url, "with_immutable_status", false);
    const context = await contextOrNotFound(ctx, store, project);
    const record = await resolveArtifact(store, context.repository, ctx.params["reference"]);
    const page = paging(ctx.url);
    const listing = await store.artifacts.tags(context.repository, tagQuery(ctx.url, record.digest), page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    const immutable =
      (await immutability?.immutableTags(
        context.repository,
        listing.items.map((tag) => tag.name),
      )) ?? new Set<string>();
    sendJson(
      ctx.res,
      200,
      listing.items.map((tag) => tagJson(tag, context.repositoryId, immutable.has(tag.name))),
    );
  });

  router.add("tag_create", "POST", TAGS, async (ctx) => {
    const project = await pathProject(ctx, deps);
    const caller = await access.requirePermission(ctx.req, project, "tag", "create");
    if (project.registryId !== undefined) {
      throw new HarborError("METHOD_NOT_ALLOWED", "the operation isn't supported for a proxy cache project");
    }
    const context = await contextOrNotFound(ctx, store, project);
    const record = await resolveArtifact(store, context.repository, ctx.params["reference"]);
    const body = await readJson(ctx.req, tagBody);
    if (!isValidTag(body.name)) {
      throw new HarborError("BAD_REQUEST", `invalid tag name ${JSON.stringify(body.name)}`);
    }
    let success = false;
    try {
      await store.artifacts.createTag(context.repository, body.name, record.digest, new Date());
      success = true;
    } catch (err) {
      if (err instanceof ConflictError) throw new HarborError("CONFLICT", err.message);
      throw err;
    } finally {
      audit.record({
        username: caller?.username ?? "anonymous",
        resource: `${context.repository}:${body.name}`,
        resourceType: "tag",
        operation: "create",
        success,
        project: project.name,
      });
    }
    ctx.res.statusCode = 201;
    ctx.res.setHeader("Content-Length", "0");
    ctx.res.end();
  });

  router.add("tag_delete", "DELETE", TAG, async (ctx) => {
    const project = await pathProject(ctx, deps);
    const caller = await access.requirePermission(ctx.req, project, "tag", "delete");
    const context = await contextOrNotFound(ctx, store, project);
    const record = await resolveArtifact(store, context.repository, ctx.params["reference"]);
    const name = pathSegment(ctx.params["tag"]);
    if ((await immutability?.immutableTag(context.repository, [name])) !== undefined) {
      throw new HarborError("PRECONDITION", immutableDeleteMessage(name));
    }
    if (!(await store.artifacts.deleteTag(context.repository, name, record.digest))) {
      throw new HarborError("NOT_FOUND", `tag ${name} attached to artifact ${record.id} not found`);
    }
    events?.publish({
      type: "DELETE_TAG",
      occurredAt: new Date(),
      operator: caller?.username ?? "anonymous",
      repository: context.repository,
      tag: name,
      digest: record.digest,
    });
    audit.record({
      username: caller?.username ?? "anonymous",
      resource: `${context.repository}:${name}`,
      resourceType: "tag",
      operation: "delete",
      success: true,
      project: project.name,
    });
    ok(ctx.res);
  });
}
