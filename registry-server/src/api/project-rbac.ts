// Harbor's project permissions for the content of a project (repositories, artifacts, tags), as
// its RBAC policy table gives them (src/common/rbac/project/rbac_role.go and the policies every
// caller holds on a public project): which role may do what, and how a robot's permission list
// grants the same. Pure functions over the caller's role or permissions; api-access.ts applies
// them to a request.

import { ROLES, type RobotPermission, type RoleId } from "../metadata/identity-store.ts";

/** The resources of Harbor's policy table this registry has routes for. */
export type ProjectResource =
  | "project"
  | "repository"
  | "artifact"
  | "tag"
  | "artifact-addition"
  | "accessory"
  | "tag-retention"
  | "immutable-tag"
  | "scan"
  | "scanner"
  | "notification-policy";
export type ProjectAction = "list" | "read" | "create" | "update" | "delete" | "operate" | "stop";

type Policy = `${ProjectResource}:${ProjectAction}`;

const READ: readonly Policy[] = [
  "repository:list",
  "repository:read",
  "artifact:list",
  "artifact:read",
  "artifact-addition:read",
  "tag:list",
  "accessory:list",
  "scan:read",
];

/** Starting and stopping scans: project administrators and maintainers. */
const SCANS: readonly Policy[] = ["scan:create", "scan:stop"];

/** Retention policies: project administrators, maintainers and developers alike, as in Harbor. */
const RETENTION: readonly Policy[] = [
  "tag-retention:create",
  "tag-retention:read",
  "tag-retention:update",
  "tag-retention:delete",
  "tag-retention:list",
  "tag-retention:operate",
];

/** Immutable tag rules: project administrators and maintainers. */
const IMMUTABILITY: readonly Policy[] = [
  "immutable-tag:create",
  "immutable-tag:update",
  "immutable-tag:delete",
  "immutable-tag:list",
];

/** Webhook policies: project administrators keep them; maintainers may list them, as in Harbor. */
const WEBHOOKS: readonly Policy[] = [
  "notification-policy:create",
  "notification-policy:update",
  "notification-policy:delete",
  "notification-policy:list",
  "notification-policy:read",
];

/** The project's scanner: every role reads which one it is; project administrators choose it. */
const SCANNER_READ: readonly Policy[] = ["scanner:read"];

const ROLE_POLICIES: Readonly<Record<RoleId, ReadonlySet<Policy>>> = {
  [ROLES.projectAdmin]: new Set([
    ...READ,
    ...RETENTION,
    ...IMMUTABILITY,
    ...SCANS,
    ...SCANNER_READ,
    ...WEBHOOKS,
    // Changing the project itself (what declares it included: declaration-routes.ts).
    "project:update",
    "scanner:create",
    "repository:update",
    "repository:delete",
    "artifact:delete",
    "tag:create",
    "tag:delete",
  ]),
  [ROLES.maintainer]: new Set([
    ...READ,
    ...RETENTION,
    ...IMMUTABILITY,
    ...SCANS,
    ...SCANNER_READ,
    "notification-policy:list",
    "repository:update",
    "repository:delete",
    "artifact:delete",
    "tag:create",
    "tag:delete",
  ]),
  // Developers describe repositories, add tags and keep retention policies, but delete nothing.
  [ROLES.developer]: new Set([...READ, ...RETENTION, ...SCANNER_READ, "repository:update", "tag:create"]),
  [ROLES.guest]: new Set([...READ, ...SCANNER_READ]),
  // A limited guest lists repositories without reading one.
  [ROLES.limitedGuest]: new Set([...READ.filter((policy) => policy !== "repository:read"), ...SCANNER_READ]),
};

/** What anyone, anonymous callers included, may do in a public project. */
const PUBLIC_POLICIES: ReadonlySet<Policy> = new Set(READ.filter((policy) => policy !== "repository:read"));

export function roleAllows(role: RoleId, resource: ProjectResource, action: ProjectAction): boolean {
  return ROLE_POLICIES[role].has(`${resource}:${action}`);
}

export function publicAllows(resource: ProjectResource, action: ProjectAction): boolean {
  return PUBLIC_POLICIES.has(`${resource}:${action}`);
}

/**
 * Whether a robot's permissions grant the action in the project: an entry of kind "project" for
 * the project (or "*") with that resource and action, not denied. Robots are given Harbor's
 * resource names, so a robot made for Harbor works here unchanged.
 */
export function robotAllows(
  permissions: readonly RobotPermission[],
  project: string,
  resource: ProjectResource,
  action: ProjectAction,
): boolean {
  let allowed = false;
  for (const permission of permissions) {
    if (permission.kind !== "project" || (permission.namespace !== project && permission.namespace !== "*")) continue;
    for (const access of permission.access) {
      if (access.resource !== resource || access.action !== action) continue;
      if (access.effect === "deny") return false;
      allowed = true;
    }
  }
  return allowed;
}
