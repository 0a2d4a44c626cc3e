// The robots area of the PostgreSQL metadata store (RobotMetadata): its statements, bound to the
// store's connections by store.ts. Rows and the listing are in rows/robots.ts; sqlite/robots.ts is
// the same area on SQLite.

import type { RobotMetadata } from "../identity-store.ts";
import { ROBOT_COLUMNS, robotListing, toRobot, type RobotRow } from "../rows/robots.ts";
import { required } from "../rows/sql.ts";
import { conflict, listing, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

export function robotArea(read: Run, write: Run): RobotMetadata {
  return {
    create: (robot, at) =>
      write(async (db) => {
        try {
          const row = await db.row<RobotRow>(
            `INSERT INTO robots (name, description, level, project_id, duration, expires_at, disabled, secret_hash,
                 permissions, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $10) RETURNING ${ROBOT_COLUMNS}`,
            robot.name,
            robot.description,
            robot.level,
            robot.projectId ?? null,
            robot.duration,
            robot.expiresAt,
            robot.disabled,
            robot.secretHash,
            JSON.stringify(robot.permissions),
            at,
          );
          return toRobot(required(row, "insert into robots"), POSTGRES);
        } catch (error) {
          throw conflict(error, "robots_name_key", `robot name ${JSON.stringify(robot.name)} is taken`);
        }
      }),
    get: (id) =>
      read(async (db) => {
        const row = await db.row<RobotRow>(`SELECT ${ROBOT_COLUMNS} FROM robots WHERE id = $1`, id);
        return row && toRobot(row, POSTGRES);
      }),
    getByName: (name) =>
      read(async (db) => {
        const row = await db.row<RobotRow>(`SELECT ${ROBOT_COLUMNS} FROM robots WHERE name = $1`, name);
        return row && toRobot(row, POSTGRES);
      }),
    list: (filter, window) =>
      read((db) => listing(db, robotListing(POSTGRES, filter), window, (row: RobotRow) => toRobot(row, POSTGRES))),
    update: (id, changes, at) =>
      write(async (db) => {
        const row = await db.row<RobotRow>(
          `UPDATE robots SET
             description = coalesce($1, description), duration = coalesce($2, duration),
             expires_at = coalesce($3, expires_at), disabled = coalesce($4, disabled),
             secret_hash = coalesce($5, secret_hash), permissions = coalesce($6::jsonb, permissions), updated_at = $7
             WHERE id = $8 RETURNING ${ROBOT_COLUMNS}`,
          changes.description ?? null,
          changes.duration ?? null,
          changes.expiresAt ?? null,
          changes.disabled ?? null,
          changes.secretHash ?? null,
          changes.permissions === undefined ? null : JSON.stringify(changes.permissions),
          at,
          id,
        );
        return row && toRobot(row, POSTGRES);
      }),
    delete: (id) => write(async (db) => (await db.run("DELETE FROM robots WHERE id = $1", id)) > 0),
  };
}
