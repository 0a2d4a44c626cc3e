// Harbor's repository deletion: DELETE /api/v2.0/projects/{project_name}/repositories/{name},
// the repository name without its project and URL-encoded twice when it has slashes, as Harbor
// expects. It removes every artifact and tag of the repository, so the project can be deleted.

import { ROLES } from "../metadata/identity-store.ts";
import { HarborError } from "../http/errors.ts";
import type { Router } from "../http/router.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { AuditLog } from "./audit-log.ts";
import type { ApiAccess } from "./api-access.ts";
import { ok } from "./harbor-http.ts";
import { visibleProject } from "./project-routes.ts";

export function addRepositoryRoutes(
  router: Router,
  deps: { store: MetadataStore; access: ApiAccess; audit: AuditLog },
): void {
  const { store, access, audit } = deps;

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
