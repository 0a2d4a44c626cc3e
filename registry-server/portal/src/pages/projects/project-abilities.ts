// What the signed-in user may do in a project, so that every page hides the controls the API
// would refuse: one table for all the pages, from the project's `current_user_role_id` and the
// user's `sysadmin_flag`, by the server's own rules (src/api/project-rbac.ts, and the project
// administrator's checks of the member, robot and metadata routes). Harbor's portal asks
// /users/current/permissions, which this server does not serve. Hiding is a courtesy: the API
// still decides, and a page shows its refusal.

import type { CurrentUser } from "../../session.tsx";
import type { Project } from "./project-types.ts";

/** Harbor's five project roles, by their ids. */
export const ROLE = { projectAdmin: 1, developer: 2, guest: 3, maintainer: 4, limitedGuest: 5 } as const;

/** In the order Harbor's portal lists them, most powerful first. */
export const ROLE_IDS = [ROLE.projectAdmin, ROLE.maintainer, ROLE.developer, ROLE.guest, ROLE.limitedGuest] as const;

export type RoleKey = "roleProjectAdmin" | "roleMaintainer" | "roleDeveloper" | "roleGuest" | "roleLimitedGuest";

const ROLE_KEYS: Readonly<Record<number, RoleKey>> = {
  [ROLE.projectAdmin]: "roleProjectAdmin",
  [ROLE.maintainer]: "roleMaintainer",
  [ROLE.developer]: "roleDeveloper",
  [ROLE.guest]: "roleGuest",
  [ROLE.limitedGuest]: "roleLimitedGuest",
};

export function roleKey(roleId: number): RoleKey | undefined {
  return ROLE_KEYS[roleId];
}

export interface ProjectAbilities {
  /** Change access, delete the project, manage members (project administrators). */
  readonly administer: boolean;
  /** Set the storage quota (the system administrator alone, through /quotas). */
  readonly setQuota: boolean;
  /** Robot accounts: create, change, delete (project administrators; every role but the limited guest lists them). */
  readonly manageRobots: boolean;
  /** Project metadata and CVE allowlist (project administrators). */
  readonly editSecurity: boolean;
  /** Immutable tag rules (project administrators and maintainers). */
  readonly manageImmutability: boolean;
  /** Retention policy: read, run, change (administrators, maintainers and developers). */
  readonly manageRetention: boolean;
  /** Delete repositories (project administrators and maintainers). */
  readonly deleteRepositories: boolean;
  /** Start a scan (project administrators and maintainers). */
  readonly scan: boolean;
  /** Add a tag (administrators, maintainers and developers). */
  readonly addTag: boolean;
  /** Delete a tag or an artifact (project administrators and maintainers). */
  readonly deleteTag: boolean;
  readonly deleteArtifact: boolean;
}

export function projectAbilities(
  user: Pick<CurrentUser, "sysadmin_flag">,
  project: Pick<Project, "current_user_role_id">,
): ProjectAbilities {
  const role = project.current_user_role_id;
  const any = (...roles: number[]) => user.sysadmin_flag || (role !== undefined && roles.includes(role));
  const administer = any(ROLE.projectAdmin);
  const maintain = any(ROLE.projectAdmin, ROLE.maintainer);
  return {
    administer,
    setQuota: user.sysadmin_flag,
    manageRobots: administer,
    editSecurity: administer,
    manageImmutability: maintain,
    manageRetention: any(ROLE.projectAdmin, ROLE.maintainer, ROLE.developer),
    deleteRepositories: maintain,
    scan: maintain,
    addTag: any(ROLE.projectAdmin, ROLE.maintainer, ROLE.developer),
    deleteTag: maintain,
    deleteArtifact: maintain,
  };
}
