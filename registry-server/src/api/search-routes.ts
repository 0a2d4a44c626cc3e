// Harbor's GET /api/v2.0/search?q=…: the projects whose name contains the text and the
// repositories whose name contains it, among those the caller may see (anonymous callers the
// public ones), as Harbor's CLI (`project search`, `repo search`) reads them.

import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import type { ProjectRecord } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ApiAccess } from "./api-access.ts";
import { UNPAGED_LIMIT } from "./harbor-http.ts";
import { projectJson } from "./project-routes.ts";

/** Matches returned per kind: a search is a look-up, not an export. */
const MAX_RESULTS = 1_000;

export function addSearchRoutes(router: Router, deps: { store: MetadataStore; access: ApiAccess }): void {
  const { store, access } = deps;

  router.add("search", "GET", /^\/api\/v2\.0\/search\/?$/, async (ctx) => {
    const caller = await access.caller(ctx.req);
    const text = (ctx.url.searchParams.get("q") ?? "").trim();
    if (text === "") throw new HarborError("BAD_REQUEST", "q is required: the text to look for");
    const visible: ProjectRecord[] = [];
    for (const project of (await store.projects.list({}, { offset: 0, limit: UNPAGED_LIMIT })).items) {
      if (await access.canSee(caller, project)) visible.push(project);
    }
    const projects = visible.filter((project) => project.name.includes(text)).slice(0, MAX_RESULTS);
    const repositories: Array<Record<string, unknown>> = [];
    for (const project of visible) {
      if (repositories.length >= MAX_RESULTS) break;
      const listing = await store.repositories.listInProject(
        project.name,
        { contains: text },
        { offset: 0, limit: MAX_RESULTS - repositories.length },
      );
      for (const repository of listing.items) {
        repositories.push({
          project_id: project.id,
          project_name: project.name,
          project_public: project.metadata["public"] === "true",
          repository_name: repository.name,
          pull_count: 0,
          artifact_count: repository.manifestCount,
        });
      }
    }
    sendJson(ctx.res, 200, {
      project: await Promise.all(projects.map((project) => projectJson({ identity: store, access }, project, caller))),
      repository: repositories,
    });
  });
}
