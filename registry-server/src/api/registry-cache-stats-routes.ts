// Beyond Harbor: the proxy cache's figures for one upstream endpoint,
// `GET /api/v2.0/registries/{id}/cache-stats`: pulls answered from the cache (hits) and fetched
// upstream (misses), their ratio, blob bytes served from the cache (upstream traffic saved),
// cached copies served because the upstream failed, failed upstream requests, since when they are
// counted, and the proxy-cache projects using the endpoint. Totals of every worker and replica,
// read from the database (metadata/proxy-cache-stats-store.ts), this process's pending counts
// written first. The system administrator's, as Harbor's registries API writes are.

import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ApiAccess } from "./api-access.ts";
import { time } from "./harbor-http.ts";
import { existingRegistry } from "./registry-routes.ts";
import type { RegistryEndpoints } from "../upstream/registry-endpoints.ts";

const CACHE_STATS = /^\/api\/v2\.0\/registries\/(?<id>\d+)\/cache-stats\/?$/;
/** Projects named at most in the answer (a page's worth; the projects list has them all). */
const MAX_PROJECTS = 100;

export interface RegistryCacheStatsRouteDeps {
  store: MetadataStore;
  access: ApiAccess;
  endpoints: RegistryEndpoints;
  /** Writes this process's pending counts, so that the answer includes them. */
  flushStats: () => Promise<void>;
}

export function addRegistryCacheStatsRoutes(router: Router, deps: RegistryCacheStatsRouteDeps): void {
  const { store, access } = deps;

  router.add("registry_cache_stats", "GET", CACHE_STATS, async (ctx) => {
    await access.requireSysadmin(ctx.req);
    const registry = await existingRegistry(deps, ctx);
    await deps.flushStats();
    const stats = await store.proxyCacheStats.get(registry.id);
    const projectIds = (await store.registries.projectsUsing(registry.id)).slice(0, MAX_PROJECTS);
    const projects = await Promise.all(projectIds.map((id) => store.projects.get(id)));
    const hits = stats?.hits ?? 0;
    const misses = stats?.misses ?? 0;
    sendJson(ctx.res, 200, {
      hits,
      misses,
      hit_ratio: hits + misses === 0 ? 0 : hits / (hits + misses),
      bytes_served_from_cache: stats?.bytesServedFromCache ?? 0,
      stale_served: stats?.staleServed ?? 0,
      upstream_errors: stats?.upstreamErrors ?? 0,
      since: stats ? time(stats.since) : null,
      projects: projects.flatMap((project) => (project ? [{ project_id: project.id, name: project.name }] : [])),
    });
  });
}
