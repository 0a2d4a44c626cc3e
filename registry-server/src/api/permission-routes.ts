// Harbor's GET /api/v2.0/permissions: the resources and actions a robot account may be given, at
// system level and at project level, in Harbor's own lists (common/rbac), so that Harbor's CLI
// offers the same choices. The system administrator sees both; a user who administers a project
// sees the project level only; anyone else is refused, as in Harbor.

import { isSysadmin } from "../auth/principal.ts";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import { ROLES } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ApiAccess } from "./api-access.ts";
import { UNPAGED_LIMIT } from "./harbor-http.ts";

type Grants = Readonly<Record<string, readonly string[]>>;

const CRUDL = ["read", "create", "delete", "list", "update"] as const;

/** Harbor's system-level robot permissions, resource by resource. */
export const SYSTEM_PERMISSIONS: Grants = {
  "audit-log": ["list"],
  "preheat-instance": CRUDL,
  project: ["list", "create"],
  "replication-policy": CRUDL,
  replication: ["read", "create", "list"],
  "replication-adapter": ["list"],
  registry: CRUDL,
  "scan-all": ["read", "update", "stop", "create"],
  "system-volumes": ["read"],
  "garbage-collection": ["read", "create", "list", "update", "stop"],
  "purge-audit": ["read", "create", "list", "update", "stop"],
  "jobservice-monitor": ["list", "stop"],
  scanner: CRUDL,
  label: ["read", "create", "delete", "update"],
  "security-hub": ["read", "list"],
  catalog: ["read"],
  quota: ["read", "list"],
};

/** Harbor's project-level robot permissions. */
export const PROJECT_PERMISSIONS: Grants = {
  log: ["list"],
  project: ["read", "delete", "update"],
  metadata: CRUDL,
  repository: ["read", "update", "delete", "list", "pull", "push"],
  artifact: ["read", "create", "list", "delete"],
  scan: ["create", "read", "stop"],
  tag: ["create", "list", "delete"],
  accessory: ["list"],
  "artifact-addition": ["read"],
  "artifact-label": ["create", "delete"],
  scanner: ["create", "read"],
  "preheat-policy": CRUDL,
  "immutable-tag": ["create", "delete", "list", "update"],
  "notification-policy": CRUDL,
  "tag-retention": CRUDL,
  label: CRUDL,
  quota: ["read"],
};

function flatten(grants: Grants): Array<{ resource: string; action: string }> {
  return Object.entries(grants).flatMap(([resource, actions]) => actions.map((action) => ({ resource, action })));
}

export function addPermissionRoutes(router: Router, deps: { store: MetadataStore; access: ApiAccess }): void {
  const { store, access } = deps;

  router.add("permissions", "GET", /^\/api\/v2\.0\/permissions\/?$/, async (ctx) => {
    const caller = await access.requireCaller(ctx.req);
    if (isSysadmin(caller)) {
      sendJson(ctx.res, 200, { system: flatten(SYSTEM_PERMISSIONS), project: flatten(PROJECT_PERMISSIONS) });
      return;
    }
    let projectAdmin = false;
    if (caller.kind === "user") {
      const mine = await store.projects.list({ memberUserId: caller.userId }, { offset: 0, limit: UNPAGED_LIMIT });
      for (const project of mine.items) {
        if ((await store.members.roleOf(project.id, caller.userId)) === ROLES.projectAdmin) {
          projectAdmin = true;
          break;
        }
      }
    }
    if (!projectAdmin) {
      throw new HarborError("FORBIDDEN", "only admins(system and project) can access permissions");
    }
    sendJson(ctx.res, 200, { project: flatten(PROJECT_PERMISSIONS) });
  });
}
