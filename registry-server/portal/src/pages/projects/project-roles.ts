// Harbor's five project roles (their ids are Harbor's) and what each lets the portal offer, as
// the server's own rules (src/api/project-rbac.ts) decide. Hiding a control is a courtesy: the
// API still refuses whatever the role may not do, and the page shows its refusal.

import type { CurrentUser } from "../../session.tsx";
import type { Project } from "./project-types.ts";

export const ROLE = { projectAdmin: 1, developer: 2, guest: 3, maintainer: 4, limitedGuest: 5 } as const;

/** In the order Harbor's portal lists them, most powerful first. */
export const ROLE_IDS = [ROLE.projectAdmin, ROLE.maintainer, ROLE.developer, ROLE.guest, ROLE.limitedGuest] as const;

export type RoleKey = "roleProjectAdmin" | "roleMaintainer" | "roleDeveloper" | "roleGuest" | "roleLimitedGuest";

export function roleKey(roleId: number): RoleKey | undefined {
  switch (roleId) {
    case ROLE.projectAdmin:
      return "roleProjectAdmin";
    case ROLE.maintainer:
      return "roleMaintainer";
    case ROLE.developer:
      return "roleDeveloper";
    case ROLE.guest:
      return "roleGuest";
    case ROLE.limitedGuest:
      return "roleLimitedGuest";
    default:
      return undefined;
  }
}

export interface ProjectAbilities {
  /** Change access, delete the project, manage members. */
  readonly administer: boolean;
  /** Delete repositories (project administrators and maintainers). */
  readonly deleteRepositories: boolean;
  /** Set the storage quota (the system administrator alone, through /quotas). */
  readonly setQuota: boolean;
}

export function abilitiesIn(project: Project, user: CurrentUser): ProjectAbilities {
  const role = project.current_user_role_id;
  const admin = user.sysadmin_flag || role === ROLE.projectAdmin;
  return {
    administer: admin,
    deleteRepositories: admin || role === ROLE.maintainer,
    setQuota: user.sysadmin_flag,
  };
}
