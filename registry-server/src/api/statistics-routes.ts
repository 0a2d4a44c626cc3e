// Harbor's GET /api/v2.0/statistics: project and repository counts and the storage in use, as
// Harbor computes them. Anyone signed in sees the public counts; the administrator the totals and
// the storage (each blob counted once); a user the private projects they are a member of.

import { isSysadmin } from "../auth/principal.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import type { ProjectRecord } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ApiAccess } from "./api-access.ts";
import { UNPAGED_LIMIT } from "./harbor-http.ts";

const ALL = { offset: 0, limit: UNPAGED_LIMIT };

export function addStatisticsRoutes(router: Router, deps: { store: MetadataStore; access: ApiAccess }): void {
  const { store, access } = deps;

  const repositories = async (projects: readonly ProjectRecord[]): Promise<number> => {
    let total = 0;
    for (const project of projects) total += await store.projects.repositoryCount(project.name);
    return total;
  };

  router.add("statistics", "GET", /^\/api\/v2\.0\/statistics\/?$/, async (ctx) => {
    const caller = await access.requireCaller(ctx.req);
    const publicProjects = (await store.projects.list({ public: true }, ALL)).items;
    const publicRepos = await repositories(publicProjects);
    const body: Record<string, number> = {
      public_project_count: publicProjects.length,
      public_repo_count: publicRepos,
      private_project_count: 0,
      private_repo_count: 0,
      total_project_count: 0,
      total_repo_count: 0,
      total_storage_consumption: 0,
    };
    if (isSysadmin(caller)) {
      const all = await store.projects.list({}, ALL);
      const allRepos = await repositories(all.items);
      Object.assign(body, {
        total_project_count: all.total,
        private_project_count: all.total - publicProjects.length,
        total_repo_count: allRepos,
        private_repo_count: allRepos - publicRepos,
        total_storage_consumption: await store.blobs.totalSize(),
      });
    } else if (caller.kind === "user") {
      const mine = (await store.projects.list({ memberUserId: caller.userId, public: false }, ALL)).items;
      Object.assign(body, { private_project_count: mine.length, private_repo_count: await repositories(mine) });
    }
    sendJson(ctx.res, 200, body);
  });
}
