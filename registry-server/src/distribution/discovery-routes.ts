// Content discovery: the tags list and the catalog (both paginated with n/last and Link), and
// the referrers API (with artifactType filtering).

import type { ManifestService } from "../content/manifest-service.ts";
import { OCI_IMAGE_INDEX } from "../content/media-types.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { CATALOG, pull, type AccessGuard } from "./access-guard.ts";
import { blobDigest } from "./blob-routes.ts";
import { nextLink, pageParameters, repositoryName } from "./request-helpers.ts";

/** Fetches one more entry than asked, to know whether a next page exists. */
async function page(
  fetch: (page: { after?: string; limit?: number }) => Promise<string[]>,
  wanted: { after?: string; limit?: number },
): Promise<{ items: string[]; more: boolean }> {
  if (wanted.limit === 0) return { items: [], more: false };
  const items = await fetch({ ...wanted, ...(wanted.limit !== undefined && { limit: wanted.limit + 1 }) });
  if (wanted.limit !== undefined && items.length > wanted.limit)
    return { items: items.slice(0, wanted.limit), more: true };
  return { items, more: false };
}

export function addDiscoveryRoutes(
  router: Router,
  deps: { manifests: ManifestService; metadata: MetadataStore; guard: AccessGuard },
): void {
  const { manifests, metadata, guard } = deps;

  router.add("tags_list", "GET", /^\/v2\/(?<name>.+)\/tags\/list$/, async (ctx) => {
    const name = repositoryName(ctx.params);
    await guard.require(ctx, [pull(name)]);
    const wanted = pageParameters(ctx.url);
    const { items, more } = await page((p) => manifests.tags(name, p), wanted);
    const last = items.at(-1);
    if (more && last !== undefined && wanted.limit !== undefined) {
      ctx.res.setHeader("Link", nextLink(`/v2/${name}/tags/list`, wanted.limit, last));
    }
    sendJson(ctx.res, 200, { name, tags: items }, "application/json");
  });

  router.add("referrers", "GET", /^\/v2\/(?<name>.+)\/referrers\/(?<digest>[^/]+)$/, async (ctx) => {
    const name = repositoryName(ctx.params);
    await guard.require(ctx, [pull(name)]);
    const subject = blobDigest(ctx.params["digest"] ?? "");
    const artifactType = ctx.url.searchParams.get("artifactType") ?? undefined;
    const index = await manifests.referrers(name, subject, artifactType);
    if (artifactType !== undefined) ctx.res.setHeader("OCI-Filters-Applied", "artifactType");
    sendJson(ctx.res, 200, index, OCI_IMAGE_INDEX);
  });

  router.add("catalog", "GET", /^\/v2\/_catalog$/, async (ctx) => {
    await guard.require(ctx, [CATALOG]);
    const wanted = pageParameters(ctx.url);
    const { items, more } = await page((p) => metadata.repositories.list(p), wanted);
    const last = items.at(-1);
    if (more && last !== undefined && wanted.limit !== undefined) {
      ctx.res.setHeader("Link", nextLink("/v2/_catalog", wanted.limit, last));
    }
    sendJson(ctx.res, 200, { repositories: items }, "application/json");
  });
}
