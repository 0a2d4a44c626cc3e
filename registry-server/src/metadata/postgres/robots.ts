// The robots and audit log areas of the PostgreSQL metadata store: the queries, written against
// `Db`, bound to the store's connections by postgres-store.ts. Their tables come from
// postgres-schema.ts; the semantics are the SQLite store's (sqlite-identity.ts).

import type {
  AuditMetadata,
  AuditPurge,
  AuditRecord,
  RobotMetadata,
  RobotPermission,
  RobotRecord,
} from "../identity-store.ts";
import { conflict, required } from "./identity.ts";
import { windowNumber } from "../rows/sql.ts";
import { OldConditions, oldListing, type Run } from "./connection.ts";

interface RobotRow {
  id: number;
  name: string;
  description: string;
  level: string;
  project_id: number | null;
  duration: number;
  expires_at: number;
  disabled: boolean;
  secret_hash: string;
  permissions: RobotPermission[];
  created_at: Date;
  updated_at: Date;
}

interface AuditRow {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  success: boolean;
  project_id: number | null;
  op_time: Date;
}

const ROBOT_COLUMNS =
  "id, name, description, level, project_id, duration, expires_at, disabled, secret_hash, permissions, created_at, updated_at";
const AUDIT_COLUMNS = "id, username, resource, resource_type, operation, success, project_id, op_time";

function toRobot(row: RobotRow): RobotRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    level: row.level as RobotRecord["level"],
    ...(row.project_id !== null && { projectId: row.project_id }),
    duration: row.duration,
    expiresAt: row.expires_at,
    disabled: row.disabled,
    secretHash: row.secret_hash,
    permissions: row.permissions,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toAudit(row: AuditRow): AuditRecord {
  return {
    id: row.id,
    username: row.username,
    resource: row.resource,
    resourceType: row.resource_type,
    operation: row.operation,
    success: row.success,
    ...(row.project_id !== null && { projectId: row.project_id }),
    opTime: row.op_time,
  };
}

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
          return toRobot(required(row, "robots"));
        } catch (error) {
          throw conflict(error, "robots_name_key", `robot name ${JSON.stringify(robot.name)} is taken`);
        }
      }),
    get: (id) =>
      read(async (db) => {
        const row = await db.row<RobotRow>(`SELECT ${ROBOT_COLUMNS} FROM robots WHERE id = $1`, id);
        return row && toRobot(row);
      }),
    getByName: (name) =>
      read(async (db) => {
        const row = await db.row<RobotRow>(`SELECT ${ROBOT_COLUMNS} FROM robots WHERE name = $1`, name);
        return row && toRobot(row);
      }),
    list: (filter, window) =>
      read((db) => {
        const where = new OldConditions();
        const { level, projectId, name } = filter;
        if (level !== undefined) where.add((p) => `level = ${p(level)}`);
        if (projectId !== undefined) where.add((p) => `project_id = ${p(projectId)}`);
        if (name !== undefined) where.add((p) => `strpos(name, ${p(name)}) > 0`);
        return oldListing(db, { table: "robots", columns: ROBOT_COLUMNS, where, order: "id" }, window, toRobot);
      }),
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
        return row && toRobot(row);
      }),
    delete: (id) => write(async (db) => (await db.run("DELETE FROM robots WHERE id = $1", id)) > 0),
  };
}

export function auditArea(read: Run, write: Run): AuditMetadata {
  return {
    append: (entry) =>
      write(async (db) => {
        await db.run(
          `INSERT INTO audit_logs (username, resource, resource_type, operation, success, project_id, op_time)
             VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          entry.username,
          entry.resource,
          entry.resourceType,
          entry.operation,
          entry.success,
          entry.projectId ?? null,
          entry.opTime,
        );
      }),
    list: (filter, window) =>
      read((db) => {
        const where = new OldConditions();
        const { projectId, projectIds, username, operations, resourceTypes, resource, from, to } = filter;
        if (projectId !== undefined) where.add((p) => `project_id = ${p(projectId)}`);
        if (projectIds !== undefined) where.add((p) => `project_id = ANY(${p(projectIds)})`);
        if (username !== undefined) where.add((p) => `username = ${p(username)}`);
        if (operations !== undefined) where.add((p) => `operation = ANY(${p(operations)})`);
        if (resourceTypes !== undefined) where.add((p) => `resource_type = ANY(${p(resourceTypes)})`);
        if (resource !== undefined) where.add((p) => `strpos(resource, ${p(resource)}) > 0`);
        if (from !== undefined) where.add((p) => `op_time >= ${p(from)}`);
        if (to !== undefined) where.add((p) => `op_time <= ${p(to)}`);
        return oldListing(
          db,
          { table: "audit_logs", columns: AUDIT_COLUMNS, where, order: "op_time DESC, id DESC" },
          window,
          toAudit,
        );
      }),
    countPurgeable: (purge) =>
      read(async (db) => {
        const where = purgeConditions(purge);
        return db.count(`SELECT count(*) AS n FROM audit_logs ${where.toString()}`, ...where.params);
      }),
    deletePurgeable: (purge, limit) =>
      write(async (db) => {
        const where = purgeConditions(purge);
        const next = where.params.length + 1;
        return db.run(
          `DELETE FROM audit_logs WHERE id IN
             (SELECT id FROM audit_logs ${where.toString()} ORDER BY op_time, id LIMIT $${next})`,
          ...where.params,
          windowNumber(limit),
        );
      }),
  };
}

function purgeConditions(purge: AuditPurge): OldConditions {
  return new OldConditions()
    .add((p) => `op_time < ${p(purge.before)}`)
    .add(
      (p) =>
        `(operation = ANY(${p(purge.operations)}) OR operation || '_' || resource_type = ANY(${p(purge.eventTypes)}))`,
    );
}
