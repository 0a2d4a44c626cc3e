// The members area of the PostgreSQL metadata store (MemberMetadata): its statements, bound to the
// store's connections by store.ts. Rows are in rows/members.ts; sqlite/members.ts is the same area
// on SQLite.

import type { MemberMetadata, RoleId } from "../identity-store.ts";
import { MEMBER_COLUMNS, toMember, type MemberRow } from "../rows/members.ts";
import { required } from "../rows/sql.ts";
import { conflict, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

export function memberArea(read: Run, write: Run): MemberMetadata {
  return {
    add: (projectId, userId, roleId, at) =>
      write(async (db) => {
        try {
          const row = await db.row<MemberRow>(
            `INSERT INTO project_members (project_id, user_id, role_id, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $4) RETURNING ${MEMBER_COLUMNS}`,
            projectId,
            userId,
            roleId,
            at,
          );
          return toMember(required(row, "insert into project_members"), POSTGRES);
        } catch (error) {
          throw conflict(
            error,
            "project_members_project_user_key",
            `user ${userId} is already a member of project ${projectId}`,
          );
        }
      }),
    get: (projectId, memberId) =>
      read(async (db) => {
        const row = await db.row<MemberRow>(
          `SELECT ${MEMBER_COLUMNS} FROM project_members WHERE project_id = $1 AND id = $2`,
          projectId,
          memberId,
        );
        return row && toMember(row, POSTGRES);
      }),
    list: (projectId) =>
      read(async (db) =>
        (
          await db.rows<MemberRow>(
            `SELECT ${MEMBER_COLUMNS} FROM project_members WHERE project_id = $1 ORDER BY id`,
            projectId,
          )
        ).map((row) => toMember(row, POSTGRES)),
      ),
    roleOf: (projectId, userId) =>
      read(async (db) => {
        const row = await db.row<{ role_id: number }>(
          "SELECT role_id FROM project_members WHERE project_id = $1 AND user_id = $2",
          projectId,
          userId,
        );
        return row && (row.role_id as RoleId);
      }),
    update: (projectId, memberId, roleId, at) =>
      write(async (db) => {
        const row = await db.row<MemberRow>(
          `UPDATE project_members SET role_id = $1, updated_at = $2 WHERE project_id = $3 AND id = $4
             RETURNING ${MEMBER_COLUMNS}`,
          roleId,
          at,
          projectId,
          memberId,
        );
        return row && toMember(row, POSTGRES);
      }),
    delete: (projectId, memberId) =>
      write(
        async (db) =>
          (await db.run("DELETE FROM project_members WHERE project_id = $1 AND id = $2", projectId, memberId)) > 0,
      ),
  };
}
