// Harbor's repositories and artifacts under a project: list the repositories (page, page_size,
// q=name=~…), list a repository's artifacts with their tags, and delete a repository (every
// artifact and tag, so that the project can be deleted). Repository names in these paths are
// without their project and URL-encoded twice when they have slashes, as Harbor expects.

import { ROLES } from "../metadata/identity-store.ts";
import { HarborError } from "../http/errors.ts";
import type { Router } from "../http/router.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { AuditLog } from "./audit-log.ts";
import type { ApiAccess } from "./api-access.ts";
import { sendJson } from "../http/respond.ts";
import { ok, paging, parseQuery, setPageHeaders, time } from "./harbor-http.ts";
import { visibleProject } from "./project-routes.ts";

/** Harbor's artifact type, from the manifest's config media type or artifact type. */
function artifactKind(type: string | undefined): string {
  if (!type) return "UNKNOWN";
  if (type.includes("container.image") || type.includes("image.config")) return "IMAGE";
  if (type.includes("helm")) return "CHART";
  return "UNKNOWN";
}

export function addRepositoryRoutes(
  router: Router,
  deps: { store: MetadataStore; access: ApiAccess; audit: AuditLog },
): void {
  const { store, access, audit } = deps;

  router.add("repository_list", "GET", /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/repositories\/?$/, async (ctx) => {
    const { project } = await visibleProject(ctx, { identity: store, access });
    const page = paging(ctx.url);
    const name = parseQuery(ctx.url).get("name")?.value;
    const listing = await store.repositories.listInProject(project.name, name ? { contains: name } : {}, page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(
      ctx.res,
      200,
      listing.items.map((r) => ({
        project_id: project.id,
        name: r.name,
        description: "",
        artifact_count: r.manifestCount,
        pull_count: 0,
        creation_time: time(r.createdAt),
        update_time: time(r.createdAt),
      })),
    );
  });

  router.add(
    "artifact_list",
    "GET",
    /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/repositories\/(?<repository>[^/]+)\/artifacts\/?$/,
    async (ctx) => {
      const { project } = await visibleProject(ctx, { identity: store, access });
      const repository = `${project.name}/${decodeURIComponent(decodeURIComponent(ctx.params["repository"] ?? ""))}`;
      if (!(await store.repositories.exists(repository)))
        throw new HarborError("NOT_FOUND", `repository ${repository} not found`);
      const page = paging(ctx.url);
      const listing = await store.manifests.list(repository, page);
      setPageHeaders(ctx.res, ctx.url, page, listing.total);
      const artifacts = [];
      for (const manifest of listing.items) {
        const tags = await store.tags.forDigest(repository, manifest.digest);
        artifacts.push({
          type: artifactKind(manifest.artifactType),
          media_type: manifest.artifactType ?? manifest.mediaType,
          manifest_media_type: manifest.mediaType,
          ...(manifest.artifactType !== undefined && { artifact_type: manifest.artifactType }),
          project_id: project.id,
          repository_name: repository,
          digest: manifest.digest,
          size: manifest.size,
          push_time: time(manifest.createdAt),
          annotations: manifest.annotations ?? {},
          tags: tags.map((tag) => ({ name: tag, push_time: time(manifest.createdAt), immutable: false })),
        });
      }
      sendJson(ctx.res, 200, artifacts);
    },
  );

  router.add(
    "repository_delete",
    "DELETE",
    /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/repositories\/(?<repository>[^/]+)$/,
    async (ctx) => {
      const { project } = await visibleProject(ctx, { identity: store, access });
      const caller = await access.requireRole(ctx.req, project, [ROLES.projectAdmin, ROLES.maintainer]);
      // Harbor clients encode the name twice ("a%252Fb" for "a/b"); decoding twice is harmless for one.
      const repository = `${project.name}/${decodeURIComponent(decodeURIComponent(ctx.params["repository"] ?? ""))}`;
      if (!(await store.repositories.delete(repository)))
        throw new HarborError("NOT_FOUND", `repository ${repository} not found`);
      audit.record({
        username: caller.username,
        resource: repository,
        resourceType: "repository",
        operation: "delete",
        success: true,
        project: project.name,
      });
      ok(ctx.res);
    },
  );
}
