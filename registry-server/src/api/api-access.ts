// Who may call what on /api/v2.0. Callers authenticate with HTTP basic credentials (users and
// robots), with the portal's session cookie (users; changes need the CSRF token:
// auth/session-service.ts), or not at all; wrong credentials are refused outright, as Harbor
// does. Project-level checks follow Harbor's roles, the system administrator passing every check.

import type { IncomingMessage } from "node:http";
import { isSysadmin, type Principal } from "../auth/principal.ts";
import { HarborError, RegistryError } from "../http/errors.ts";
import { ROLES, type IdentityAreas, type ProjectRecord, type RoleId } from "../metadata/identity-store.ts";
import { publicAllows, roleAllows, robotAllows, type ProjectAction, type ProjectResource } from "./project-rbac.ts";

export type AuthenticateBasic = (req: IncomingMessage) => Promise<Principal | undefined | "invalid">;

export class ApiAccess {
  private readonly authenticateBasic: AuthenticateBasic;
  private readonly identity: Pick<IdentityAreas, "members">;

  constructor(authenticateBasic: AuthenticateBasic, identity: Pick<IdentityAreas, "members">) {
    this.authenticateBasic = authenticateBasic;
    this.identity = identity;
  }

  /** The caller, undefined when anonymous; wrong credentials are a 401. */
  async caller(req: IncomingMessage): Promise<Principal | undefined> {
    const principal = await this.authenticateBasic(req).catch((err: unknown) => {
      // Throttled logins answer in the registry's format; this API speaks Harbor's.
      if (err instanceof RegistryError && err.code === "TOOMANYREQUESTS") {
        throw new HarborError("TOO_MANY_REQUESTS", err.message, { headers: { ...err.headers } });
      }
      throw err;
    });
    if (principal === "invalid") throw new HarborError("UNAUTHORIZED", "invalid credentials");
    return principal;
  }

  async requireCaller(req: IncomingMessage): Promise<Principal> {
    const principal = await this.caller(req);
    if (!principal) throw new HarborError("UNAUTHORIZED", "authentication required");
    return principal;
  }

  async requireSysadmin(req: IncomingMessage): Promise<Principal> {
    const principal = await this.requireCaller(req);
    if (!isSysadmin(principal)) throw new HarborError("FORBIDDEN", "only the system administrator may do this");
    return principal;
  }

  /**
   * Harbor's system-level check: the administrator, or a system robot holding `action` on
   * `resource` in a permission of kind system (`configuration` read, `purge-audit` create…).
   */
  async requireSystemAccess(req: IncomingMessage, resource: string, action: string): Promise<Principal> {
    const principal = await this.requireCaller(req);
    if (isSysadmin(principal) || holdsSystemPermission(principal, resource, action)) return principal;
    throw new HarborError("FORBIDDEN", `forbidden: this needs the system administrator or ${action} on ${resource}`);
  }

  /** The caller's role in the project (projectAdmin for the system administrator). */
  async roleIn(principal: Principal | undefined, project: ProjectRecord): Promise<RoleId | undefined> {
    if (isSysadmin(principal)) return ROLES.projectAdmin;
    if (principal?.kind !== "user") return undefined;
    return this.identity.members.roleOf(project.id, principal.userId);
  }

  /** Whether the caller may see the project: public, a member, the administrator, or its robot. */
  async canSee(principal: Principal | undefined, project: ProjectRecord): Promise<boolean> {
    if (project.metadata["public"] === "true" || (await this.roleIn(principal, project)) !== undefined) return true;
    if (principal?.kind !== "robot") return false;
    return principal.level === "system"
      ? principal.permissions.some((p) => p.namespace === "*" || p.namespace === project.name)
      : principal.projectId === project.id;
  }

  /**
   * Whether the caller may act on a resource of the project by Harbor's policy table: the
   * administrator always; anyone for a public project's reads; a user by their role; a robot by
   * its permissions.
   */
  async can(
    principal: Principal | undefined,
    project: ProjectRecord,
    resource: ProjectResource,
    action: ProjectAction,
  ): Promise<boolean> {
    if (isSysadmin(principal)) return true;
    if (project.metadata["public"] === "true" && publicAllows(resource, action)) return true;
    if (principal?.kind === "user") {
      const role = await this.identity.members.roleOf(project.id, principal.userId);
      return role !== undefined && roleAllows(role, resource, action);
    }
    if (principal?.kind !== "robot") return false;
    const ownsProject = principal.level === "system" || principal.projectId === project.id;
    return ownsProject && robotAllows(principal.permissions, project.name, resource, action);
  }

  /** Refuses unless the caller may act on the resource (see `can`): 401 anonymous, 403 otherwise. */
  async requirePermission(
    req: IncomingMessage,
    project: ProjectRecord,
    resource: ProjectResource,
    action: ProjectAction,
  ): Promise<Principal | undefined> {
    const principal = await this.caller(req);
    if (await this.can(principal, project, resource, action)) return principal;
    if (!principal) throw new HarborError("UNAUTHORIZED", "authentication required");
    throw new HarborError("FORBIDDEN", `forbidden: no ${action} permission on ${resource} in project ${project.name}`);
  }

  /** Refuses unless the caller holds one of `roles` in the project: 401 anonymous, 403 otherwise. */
  async requireRole(req: IncomingMessage, project: ProjectRecord, roles: readonly RoleId[]): Promise<Principal> {
    const principal = await this.caller(req);
    const role = await this.roleIn(principal, project);
    if (role !== undefined && roles.includes(role)) return principal as Principal;
    if (!principal) throw new HarborError("UNAUTHORIZED", "authentication required");
    throw new HarborError(
      "FORBIDDEN",
      `forbidden: this needs a role of ${roles.join(", ")} in project ${project.name}`,
    );
  }
}

/** Whether a system robot holds `action` on `resource` in a permission of kind system. */
export function holdsSystemPermission(principal: Principal, resource: string, action: string): boolean {
  return (
    principal.kind === "robot" &&
    principal.level === "system" &&
    principal.permissions.some(
      (p) =>
        p.kind === "system" &&
        p.access.some((a) => a.resource === resource && a.action === action && a.effect !== "deny"),
    )
  );
}

/** Roles allowed to administer a project (members, robots, settings). */
export const ADMIN_ROLES: readonly RoleId[] = [ROLES.projectAdmin];
/** Every role: reading members, logs, summaries. */
export const ANY_ROLE: readonly RoleId[] = [
  ROLES.projectAdmin,
  ROLES.maintainer,
  ROLES.developer,
  ROLES.guest,
  ROLES.limitedGuest,
];
