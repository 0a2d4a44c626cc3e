// The members area's rows (MemberMetadata in identity-store.ts), as both backends read them: a
// user's role in a project.

import type { MemberRecord, RoleId } from "../identity-store.ts";
import type { RowReader, StoredTime } from "./sql.ts";

export interface MemberRow {
  id: number;
  project_id: number;
  user_id: number;
  role_id: number;
  created_at: StoredTime;
  updated_at: StoredTime;
}

export const MEMBER_COLUMNS = "id, project_id, user_id, role_id, created_at, updated_at";

export function toMember(row: MemberRow, r: RowReader): MemberRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    userId: row.user_id,
    roleId: row.role_id as RoleId,
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
  };
}
