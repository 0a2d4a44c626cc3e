// The robots area of the SQLite metadata store (RobotMetadata): its statements, bound to the
// store's connections by store.ts. Rows and the listing are in rows/robots.ts; postgres/robots.ts
// is the same area on PostgreSQL.

import type { RobotMetadata } from "../identity-store.ts";
import { ROBOT_COLUMNS, robotListing, toRobot, type RobotRow } from "../rows/robots.ts";
import { required } from "../rows/sql.ts";
import { SQLITE } from "./dialect.ts";
import { conflict, listing, type Run } from "./statements.ts";

export function robotArea(read: Run, write: Run): RobotMetadata {
  return {
    create: (robot, at) =>
      write((db) => {
        try {
          const row = db.row<RobotRow>(
            `INSERT INTO robots (name, description, level, project_id, duration, expires_at, disabled, secret_hash,
                 permissions, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${ROBOT_COLUMNS}`,
            robot.name,
            robot.description,
            robot.level,
            robot.projectId ?? null,
            robot.duration,
            robot.expiresAt,
            robot.disabled ? 1 : 0,
            robot.secretHash,
            JSON.stringify(robot.permissions),
            at.getTime(),
            at.getTime(),
          );
          return toRobot(required(row, "insert into robots"), SQLITE);
        } catch (error) {
          throw conflict(error, undefined, `robot name ${JSON.stringify(robot.name)} is taken`);
        }
      }),
    get: (id) =>
      read((db) => {
        const row = db.row<RobotRow>(`SELECT ${ROBOT_COLUMNS} FROM robots WHERE id = ?`, id);
        return row && toRobot(row, SQLITE);
      }),
    getByName: (name) =>
      read((db) => {
        const row = db.row<RobotRow>(`SELECT ${ROBOT_COLUMNS} FROM robots WHERE name = ?`, name);
        return row && toRobot(row, SQLITE);
      }),
    list: (filter, window) =>
      read((db) => listing(db, robotListing(SQLITE, filter), window, (row: RobotRow) => toRobot(row, SQLITE))),
    update: (id, changes, at) =>
      write((db) => {
        const row = db.row<RobotRow>(
          `UPDATE robots SET
             description = coalesce(?, description), duration = coalesce(?, duration),
             expires_at = coalesce(?, expires_at), disabled = coalesce(?, disabled),
             secret_hash = coalesce(?, secret_hash), permissions = coalesce(?, permissions), updated_at = ?
             WHERE id = ? RETURNING ${ROBOT_COLUMNS}`,
          changes.description ?? null,
          changes.duration ?? null,
          changes.expiresAt ?? null,
          changes.disabled === undefined ? null : changes.disabled ? 1 : 0,
          changes.secretHash ?? null,
          changes.permissions === undefined ? null : JSON.stringify(changes.permissions),
          at.getTime(),
          id,
        );
        return row && toRobot(row, SQLITE);
      }),
    delete: (id) => write((db) => db.run("DELETE FROM robots WHERE id = ?", id) > 0),
  };
}
