// What the signed-in user may change in a project, so that pages hide the controls the API would
// refuse. Our server has no /users/current/permissions (Harbor's portal asks it); the project's
// `current_user_role_id` and the user's `sysadmin_flag` give the same answer, by the same table
// as the server's (registry-server/src/api/project-rbac.ts and the ADMIN_ROLES of its routes).
// The API still decides: a control shown wrongly gets the API's refusal, shown as such.

import type { CurrentUser } from "../../session.tsx";
import type { Project } from "../projects/project-types.ts";

/** Harbor's project roles (role_id). */
export const ROLE = { projectAdmin: 1, developer: 2, guest: 3, maintainer: 4, limitedGuest: 5 } as const;

export interface ProjectAbilities {
  /** Robot accounts: list, create, change, delete (project administrators). */
  readonly manageRobots: boolean;
  /** Project metadata and CVE allowlist (project administrators). */
  readonly editSecurity: boolean;
  /** Immutable tag rules (project administrators and maintainers). */
  readonly manageImmutability: boolean;
  /** Retention policy: read, run, change (administrators, maintainers and developers). */
  readonly manageRetention: boolean;
}

export function projectAbilities(user: Pick<CurrentUser, "sysadmin_flag">, project: Project): ProjectAbilities {
  const role = project.current_user_role_id;
  const any = (...roles: number[]) => user.sysadmin_flag || (role !== undefined && roles.includes(role));
  return {
    manageRobots: any(ROLE.projectAdmin),
    editSecurity: any(ROLE.projectAdmin),
    manageImmutability: any(ROLE.projectAdmin, ROLE.maintainer),
    manageRetention: any(ROLE.projectAdmin, ROLE.maintainer, ROLE.developer),
  };
}
