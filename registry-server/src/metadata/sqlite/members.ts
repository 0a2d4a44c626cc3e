// The members area of the SQLite metadata store (MemberMetadata): its statements, bound to the
// store's connections by store.ts. Rows are in rows/members.ts; postgres/members.ts is the same
// area on PostgreSQL.

import type { MemberMetadata, RoleId } from "../identity-store.ts";
import { MEMBER_COLUMNS, toMember, type MemberRow } from "../rows/members.ts";
import { required } from "../rows/sql.ts";
import { SQLITE } from "./dialect.ts";
import { conflict, type Run } from "./statements.ts";

export function memberArea(read: Run, write: Run): MemberMetadata {
  return {
    add: (projectId, userId, roleId, at) =>
      write((db) => {
        try {
          const row = db.row<MemberRow>(
            `INSERT INTO project_members (project_id, user_id, role_id, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?) RETURNING ${MEMBER_COLUMNS}`,
            projectId,
            userId,
            roleId,
            at.getTime(),
            at.getTime(),
          );
          return toMember(required(row, "insert into project_members"), SQLITE);
        } catch (error) {
          throw conflict(error, undefined, `user ${userId} is already a member of project ${projectId}`);
        }
      }),
    get: (projectId, memberId) =>
      read((db) => {
        const row = db.row<MemberRow>(
          `SELECT ${MEMBER_COLUMNS} FROM project_members WHERE project_id = ? AND id = ?`,
          projectId,
          memberId,
        );
        return row && toMember(row, SQLITE);
      }),
    list: (projectId) =>
      read((db) =>
        db
          .rows<MemberRow>(`SELECT ${MEMBER_COLUMNS} FROM project_members WHERE project_id = ? ORDER BY id`, projectId)
          .map((row) => toMember(row, SQLITE)),
      ),
    roleOf: (projectId, userId) =>
      read((db) => {
        const row = db.row<{ role_id: number }>(
          "SELECT role_id FROM project_members WHERE project_id = ? AND user_id = ?",
          projectId,
          userId,
        );
        return row && (row.role_id as RoleId);
      }),
    update: (projectId, memberId, roleId, at) =>
      write((db) => {
        const row = db.row<MemberRow>(
          `UPDATE project_members SET role_id = ?, updated_at = ? WHERE project_id = ? AND id = ?
             RETURNING ${MEMBER_COLUMNS}`,
          roleId,
          at.getTime(),
          projectId,
          memberId,
        );
        return row && toMember(row, SQLITE);
      }),
    delete: (projectId, memberId) =>
      write((db) => db.run("DELETE FROM project_members WHERE project_id = ? AND id = ?", projectId, memberId) > 0),
  };
}
