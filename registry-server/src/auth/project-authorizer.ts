// Harbor's permission model for the registry: a repository `<project>/<name>` belongs to a
// project, and what a caller may do there follows from
//   - the system administrator: everything (and a push into a project that does not exist yet
//     creates it, private and owned by the administrator, as pushing to a plain registry would);
//   - a user's role in the project: projectAdmin and maintainer pull, push and delete; developer
//     pulls and pushes; guest and limitedGuest pull;
//   - a robot's permissions: entries of kind "project" whose namespace is the project (or "*"),
//     with `repository` `pull`/`push`/`scanner-pull` and `artifact`/`repository` `delete`;
//   - anyone, anonymous included: pull in a public project.
// Listing the catalog is for the system administrator only, as in Harbor.
// `scanner-pull` (the system administrator's, a scanner robot's) comes with every `pull` granted:
// Harbor's tokens carry every action the caller holds, and a scanner only ever asks for `pull`,
// yet the pull policies (security/pull-gate.ts) must see that it is the scanner.

import { ConflictError, ROLES, type IdentityAreas, type RoleId } from "../metadata/identity-store.ts";
import { expandActions, repositoryProject, SCANNER_PULL, type AccessEntry } from "./access-scope.ts";
import { grantEntry, type Authorizer } from "./authorizer.ts";
import { isSysadmin, type Principal } from "./principal.ts";

export const ROLE_ACTIONS: Readonly<Record<RoleId, readonly string[]>> = {
  [ROLES.projectAdmin]: ["pull", "push", "delete"],
  [ROLES.maintainer]: ["pull", "push", "delete"],
  [ROLES.developer]: ["pull", "push"],
  [ROLES.guest]: ["pull"],
  [ROLES.limitedGuest]: ["pull"],
};

/** Registry actions a robot permission's access entry grants. */
function robotActions(resource: string, action: string): string[] {
  if (resource === "repository" && ["pull", "push", "delete", SCANNER_PULL].includes(action)) return [action];
  if (resource === "artifact" && action === "delete") return ["delete"];
  return [];
}

/** Adds `scanner-pull` to a grant holding `pull` when the principal holds it (see above). */
function withScannerPull(grant: AccessEntry, held: readonly string[]): void {
  if (!grant.actions.includes("pull") || grant.actions.includes(SCANNER_PULL)) return;
  if (expandActions("repository", held).includes(SCANNER_PULL)) grant.actions.push(SCANNER_PULL);
}

export class ProjectAuthorizer implements Authorizer {
  private readonly identity: Pick<IdentityAreas, "projects" | "members">;

  constructor(identity: Pick<IdentityAreas, "projects" | "members">) {
    this.identity = identity;
  }

  async authorize(principal: Principal | undefined, requested: AccessEntry[]): Promise<AccessEntry[]> {
    const granted: AccessEntry[] = [];
    for (const entry of requested) {
      const held =
        entry.type === "repository"
          ? await this.repositoryActions(principal, entry)
          : isSysadmin(principal)
            ? ["*"]
            : [];
      const grant = grantEntry(entry, held);
      if (grant && entry.type === "repository") withScannerPull(grant, held);
      if (grant) granted.push(grant);
    }
    return granted;
  }

  /** The actions `principal` holds on the repository named by `entry`. */
  async repositoryActions(principal: Principal | undefined, entry: AccessEntry): Promise<string[]> {
    const parts = repositoryProject(entry.name);
    if (isSysadmin(principal)) {
      if (parts && entry.actions.some((a) => a === "push" || a === "*") && principal?.kind === "user") {
        await this.ensureProject(parts.project, principal.userId);
      }
      return ["*", SCANNER_PULL];
    }
    if (!parts) return [];
    const project = await this.identity.projects.getByName(parts.project);
    if (!project) return [];
    const actions = new Set<string>(project.metadata["public"] === "true" ? ["pull"] : []);
    if (principal?.kind === "user") {
      const role = await this.identity.members.roleOf(project.id, principal.userId);
      for (const action of role === undefined ? [] : ROLE_ACTIONS[role]) actions.add(action);
    } else if (principal?.kind === "robot") {
      const ownsProject = principal.level === "system" || principal.projectId === project.id;
      for (const permission of ownsProject ? principal.permissions : []) {
        if (permission.kind !== "project" || (permission.namespace !== project.name && permission.namespace !== "*"))
          continue;
        for (const access of permission.access) {
          if (access.effect === "deny") continue;
          for (const action of robotActions(access.resource, access.action)) actions.add(action);
        }
      }
    }
    return [...actions];
  }

  private async ensureProject(name: string, ownerId: number): Promise<void> {
    if (await this.identity.projects.getByName(name)) return;
    try {
      await this.identity.projects.create(
        { name, ownerId, metadata: { public: "false" }, storageLimit: -1 },
        new Date(),
      );
    } catch (err) {
      // Created meanwhile by a concurrent push: just as good.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}
