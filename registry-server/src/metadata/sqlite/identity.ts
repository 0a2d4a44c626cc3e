// The identity areas of the SQLite metadata store: users, projects, members, robots, the audit
// log. Their tables come from the second schema step in sqlite-store.ts; this file holds the
// queries, and sqlite-store.ts wires them to its connections and transactions.
//
// A list's total is counted under the same WHERE as its page. Filters are assembled from the
// fields present, so each combination is one cached statement (a handful per list) and the
// indexes stay usable, which `? IS NULL OR …` conditions would prevent.

import type { SQLInputValue } from "node:sqlite";
import { Db } from "./statements.ts";
import {
  ConflictError,
  type AuditFilter,
  type AuditPurge,
  type AuditRecord,
  type IdentityAreas,
  type Listing,
  type MemberRecord,
  type NewAuditRecord,
  type NewProject,
  type NewRobot,
  type NewUser,
  type ProjectChanges,
  type ProjectFilter,
  type ProjectRecord,
  type ProjectUsage,
  type RobotChanges,
  type RobotFilter,
  type RobotPermission,
  type RobotRecord,
  type RoleId,
  type UserChanges,
  type UserRecord,
  type Window,
} from "../identity-store.ts";

interface UserRow {
  id: number;
  username: string;
  email: string;
  realname: string;
  comment: string;
  password_hash: string;
  sysadmin: number;
  created_at: number;
  updated_at: number;
}

interface ProjectRow {
  id: number;
  name: string;
  owner_id: number;
  metadata: string;
  storage_limit: number;
  registry_id: number | null;
  created_at: number;
  updated_at: number;
}

interface MemberRow {
  id: number;
  project_id: number;
  user_id: number;
  role_id: number;
  created_at: number;
  updated_at: number;
}

interface RobotRow {
  id: number;
  name: string;
  description: string;
  level: string;
  project_id: number | null;
  duration: number;
  expires_at: number;
  disabled: number;
  secret_hash: string;
  permissions: string;
  created_at: number;
  updated_at: number;
}

interface AuditRow {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  success: number;
  project_id: number | null;
  op_time: number;
}

const USER_COLUMNS = "id, username, email, realname, comment, password_hash, sysadmin, created_at, updated_at";
const PROJECT_COLUMNS = "id, name, owner_id, metadata, storage_limit, registry_id, created_at, updated_at";
const MEMBER_COLUMNS = "id, project_id, user_id, role_id, created_at, updated_at";
const ROBOT_COLUMNS =
  "id, name, description, level, project_id, duration, expires_at, disabled, secret_hash, permissions, created_at, updated_at";
const AUDIT_COLUMNS = "id, username, resource, resource_type, operation, success, project_id, op_time";

/** WHERE conditions with their parameters, in order. */
class Conditions {
  private readonly sql: string[] = [];
  readonly params: SQLInputValue[] = [];

  add(sql: string, ...params: SQLInputValue[]): this {
    this.sql.push(sql);
    this.params.push(...params);
    return this;
  }

  toString(): string {
    return this.sql.length === 0 ? "" : `WHERE ${this.sql.join(" AND ")}`;
  }
}

/** The identity queries on one connection, synchronous, with statements prepared once. */
export class IdentityQueries extends Db {
  /** One page of `table` under `where` (ordered by `order`), and the count under the same `where`. */
  private listing<R, T>(
    table: string,
    columns: string,
    where: Conditions,
    order: string,
    window: Window,
    map: (row: R) => T,
  ): Listing<T> {
    const items = this.rows<R>(
      `SELECT ${columns} FROM ${table} ${where.toString()} ORDER BY ${order} LIMIT ? OFFSET ?`,
      ...where.params,
      Math.max(0, Math.floor(window.limit)),
      Math.max(0, Math.floor(window.offset)),
    ).map(map);
    const total = this.row<{ n: number }>(`SELECT count(*) AS n FROM ${table} ${where.toString()}`, ...where.params);
    return { items, total: total?.n ?? 0 };
  }

  // Users

  createUser(user: NewUser, at: Date): UserRecord {
    try {
      const row = this.row<UserRow>(
        `INSERT INTO users (username, email, realname, comment, password_hash, sysadmin, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${USER_COLUMNS}`,
        user.username,
        user.email,
        user.realname,
        user.comment,
        user.passwordHash,
        user.sysadmin ? 1 : 0,
        at.getTime(),
        at.getTime(),
      );
      return toUser(required(row, "users"));
    } catch (error) {
      throw userConflict(error, user.username, user.email);
    }
  }

  getUser(id: number): UserRecord | undefined {
    const row = this.row<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`, id);
    return row && toUser(row);
  }

  getUserByName(username: string): UserRecord | undefined {
    const row = this.row<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = ?`, username);
    return row && toUser(row);
  }

  listUsers(filter: { username?: string }, window: Window): Listing<UserRecord> {
    const where = new Conditions();
    if (filter.username !== undefined) where.add("instr(username, ?) > 0", filter.username);
    return this.listing("users", USER_COLUMNS, where, "id", window, toUser);
  }

  updateUser(id: number, changes: UserChanges, at: Date): UserRecord | undefined {
    try {
      const row = this.row<UserRow>(
        `UPDATE users SET
           email = coalesce(?, email), realname = coalesce(?, realname), comment = coalesce(?, comment),
           password_hash = coalesce(?, password_hash), sysadmin = coalesce(?, sysadmin), updated_at = ?
           WHERE id = ? RETURNING ${USER_COLUMNS}`,
        changes.email ?? null,
        changes.realname ?? null,
        changes.comment ?? null,
        changes.passwordHash ?? null,
        changes.sysadmin === undefined ? null : changes.sysadmin ? 1 : 0,
        at.getTime(),
        id,
      );
      return row && toUser(row);
    } catch (error) {
      throw userConflict(error, undefined, changes.email);
    }
  }

  deleteUser(id: number): boolean {
    // Memberships go with it through ON DELETE CASCADE.
    return this.run("DELETE FROM users WHERE id = ?", id) > 0;
  }

  // Projects

  createProject(project: NewProject, at: Date): ProjectRecord {
    try {
      const row = this.row<ProjectRow>(
        `INSERT INTO projects (name, owner_id, metadata, storage_limit, registry_id, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${PROJECT_COLUMNS}`,
        project.name,
        project.ownerId,
        JSON.stringify(project.metadata),
        project.storageLimit,
        project.registryId ?? null,
        at.getTime(),
        at.getTime(),
      );
      return toProject(required(row, "projects"));
    } catch (error) {
      throw conflict(error, `project name ${JSON.stringify(project.name)} is taken`);
    }
  }

  getProject(id: number): ProjectRecord | undefined {
    const row = this.row<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE id = ?`, id);
    return row && toProject(row);
  }

  getProjectByName(name: string): ProjectRecord | undefined {
    const row = this.row<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE name = ?`, name);
    return row && toProject(row);
  }

  listProjects(filter: ProjectFilter, window: Window): Listing<ProjectRecord> {
    const where = new Conditions();
    if (filter.name !== undefined) where.add("instr(name, ?) > 0", filter.name);
    if (filter.public === true) where.add("json_extract(metadata, '$.public') = 'true'");
    if (filter.public === false) where.add("coalesce(json_extract(metadata, '$.public'), '') <> 'true'");
    if (filter.memberUserId !== undefined) {
      where.add(
        "EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = projects.id AND m.user_id = ?)",
        filter.memberUserId,
      );
    }
    if (filter.ids !== undefined) where.add("id IN (SELECT value FROM json_each(?))", JSON.stringify(filter.ids));
    return this.listing("projects", PROJECT_COLUMNS, where, "name", window, toProject);
  }

  updateProject(id: number, changes: ProjectChanges, at: Date): ProjectRecord | undefined {
    const row = this.row<ProjectRow>(
      `UPDATE projects SET
         metadata = coalesce(?, metadata), storage_limit = coalesce(?, storage_limit),
         registry_id = coalesce(?, registry_id), updated_at = ?
         WHERE id = ? RETURNING ${PROJECT_COLUMNS}`,
      changes.metadata === undefined ? null : JSON.stringify(changes.metadata),
      changes.storageLimit ?? null,
      changes.registryId ?? null,
      at.getTime(),
      id,
    );
    return row && toProject(row);
  }

  deleteProject(id: number): boolean {
    // Members and project-level robots go with it through ON DELETE CASCADE; audit entries stay.
    return this.run("DELETE FROM projects WHERE id = ?", id) > 0;
  }

  repositoryCount(name: string): number {
    // The names in ["p/", "p0"): '0' follows '/' in ASCII. LIKE would take '_' as a wildcard.
    const row = this.row<{ n: number }>(
      "SELECT count(*) AS n FROM repositories WHERE name > ? AND name < ?",
      `${name}/`,
      `${name}0`,
    );
    return row?.n ?? 0;
  }

  projectUsage(): ProjectUsage[] {
    // The project of a repository is its name's first segment; names without one belong to none.
    return this.rows<{ name: string; storage_used: number; repositories: number; members: number }>(
      `WITH linked AS (
         SELECT DISTINCT substr(repository, 1, instr(repository, '/') - 1) AS project, digest
           FROM repository_blobs WHERE instr(repository, '/') > 1
       ), storage AS (
         SELECT l.project, sum(b.size) AS bytes FROM linked l JOIN blobs b ON b.digest = l.digest GROUP BY l.project
       ), repos AS (
         SELECT substr(name, 1, instr(name, '/') - 1) AS project, count(*) AS n
           FROM repositories WHERE instr(name, '/') > 1 GROUP BY 1
       ), members AS (
         SELECT project_id, count(*) AS n FROM project_members GROUP BY project_id
       )
       SELECT p.name, coalesce(s.bytes, 0) AS storage_used, coalesce(r.n, 0) AS repositories,
              coalesce(m.n, 0) AS members
         FROM projects p
         LEFT JOIN storage s ON s.project = p.name
         LEFT JOIN repos r ON r.project = p.name
         LEFT JOIN members m ON m.project_id = p.id
         ORDER BY p.name`,
    ).map((row) => ({
      name: row.name,
      storageUsed: row.storage_used,
      repositories: row.repositories,
      members: row.members,
    }));
  }

  storageUsed(name: string): number {
    const row = this.row<{ bytes: number }>(
      `SELECT coalesce(sum(size), 0) AS bytes FROM blobs
         WHERE digest IN (SELECT digest FROM repository_blobs WHERE repository > ? AND repository < ?)`,
      `${name}/`,
      `${name}0`,
    );
    return row?.bytes ?? 0;
  }

  // Members

  addMember(projectId: number, userId: number, roleId: RoleId, at: Date): MemberRecord {
    try {
      const row = this.row<MemberRow>(
        `INSERT INTO project_members (project_id, user_id, role_id, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?) RETURNING ${MEMBER_COLUMNS}`,
        projectId,
        userId,
        roleId,
        at.getTime(),
        at.getTime(),
      );
      return toMember(required(row, "project_members"));
    } catch (error) {
      throw conflict(error, `user ${userId} is already a member of project ${projectId}`);
    }
  }

  getMember(projectId: number, memberId: number): MemberRecord | undefined {
    const row = this.row<MemberRow>(
      `SELECT ${MEMBER_COLUMNS} FROM project_members WHERE project_id = ? AND id = ?`,
      projectId,
      memberId,
    );
    return row && toMember(row);
  }

  listMembers(projectId: number): MemberRecord[] {
    return this.rows<MemberRow>(
      `SELECT ${MEMBER_COLUMNS} FROM project_members WHERE project_id = ? ORDER BY id`,
      projectId,
    ).map(toMember);
  }

  roleOf(projectId: number, userId: number): RoleId | undefined {
    const row = this.row<{ role_id: number }>(
      "SELECT role_id FROM project_members WHERE project_id = ? AND user_id = ?",
      projectId,
      userId,
    );
    return row && (row.role_id as RoleId);
  }

  updateMember(projectId: number, memberId: number, roleId: RoleId, at: Date): MemberRecord | undefined {
    const row = this.row<MemberRow>(
      `UPDATE project_members SET role_id = ?, updated_at = ? WHERE project_id = ? AND id = ?
         RETURNING ${MEMBER_COLUMNS}`,
      roleId,
      at.getTime(),
      projectId,
      memberId,
    );
    return row && toMember(row);
  }

  deleteMember(projectId: number, memberId: number): boolean {
    return this.run("DELETE FROM project_members WHERE project_id = ? AND id = ?", projectId, memberId) > 0;
  }

  // Robots

  createRobot(robot: NewRobot, at: Date): RobotRecord {
    try {
      const row = this.row<RobotRow>(
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
      return toRobot(required(row, "robots"));
    } catch (error) {
      throw conflict(error, `robot name ${JSON.stringify(robot.name)} is taken`);
    }
  }

  getRobot(id: number): RobotRecord | undefined {
    const row = this.row<RobotRow>(`SELECT ${ROBOT_COLUMNS} FROM robots WHERE id = ?`, id);
    return row && toRobot(row);
  }

  getRobotByName(name: string): RobotRecord | undefined {
    const row = this.row<RobotRow>(`SELECT ${ROBOT_COLUMNS} FROM robots WHERE name = ?`, name);
    return row && toRobot(row);
  }

  listRobots(filter: RobotFilter, window: Window): Listing<RobotRecord> {
    const where = new Conditions();
    if (filter.level !== undefined) where.add("level = ?", filter.level);
    if (filter.projectId !== undefined) where.add("project_id = ?", filter.projectId);
    if (filter.name !== undefined) where.add("instr(name, ?) > 0", filter.name);
    return this.listing("robots", ROBOT_COLUMNS, where, "id", window, toRobot);
  }

  updateRobot(id: number, changes: RobotChanges, at: Date): RobotRecord | undefined {
    const row = this.row<RobotRow>(
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
    return row && toRobot(row);
  }

  deleteRobot(id: number): boolean {
    return this.run("DELETE FROM robots WHERE id = ?", id) > 0;
  }

  // Audit log

  appendAudit(entry: NewAuditRecord): void {
    this.run(
      `INSERT INTO audit_logs (username, resource, resource_type, operation, success, project_id, op_time)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      entry.username,
      entry.resource,
      entry.resourceType,
      entry.operation,
      entry.success ? 1 : 0,
      entry.projectId ?? null,
      entry.opTime.getTime(),
    );
  }

  listAudit(filter: AuditFilter, window: Window): Listing<AuditRecord> {
    const where = new Conditions();
    if (filter.projectId !== undefined) where.add("project_id = ?", filter.projectId);
    if (filter.projectIds !== undefined) where.add(anyOf("project_id", filter.projectIds), ...filter.projectIds);
    if (filter.username !== undefined) where.add("username = ?", filter.username);
    if (filter.operations !== undefined) where.add(anyOf("operation", filter.operations), ...filter.operations);
    if (filter.resourceTypes !== undefined) {
      where.add(anyOf("resource_type", filter.resourceTypes), ...filter.resourceTypes);
    }
    if (filter.resource !== undefined) where.add("instr(resource, ?) > 0", filter.resource);
    if (filter.from !== undefined) where.add("op_time >= ?", filter.from.getTime());
    if (filter.to !== undefined) where.add("op_time <= ?", filter.to.getTime());
    return this.listing("audit_logs", AUDIT_COLUMNS, where, "op_time DESC, id DESC", window, toAudit);
  }

  countPurgeable(purge: AuditPurge): number {
    const where = purgeConditions(purge);
    return this.row<{ n: number }>(`SELECT count(*) AS n FROM audit_logs ${where.toString()}`, ...where.params)?.n ?? 0;
  }

  deletePurgeable(purge: AuditPurge, limit: number): number {
    const where = purgeConditions(purge);
    return this.run(
      `DELETE FROM audit_logs WHERE id IN (SELECT id FROM audit_logs ${where.toString()} ORDER BY op_time, id LIMIT ?)`,
      ...where.params,
      Math.max(0, Math.floor(limit)),
    );
  }
}

/** `column IN (?, ?…)` for `values` (never empty SQL: an empty list matches nothing). */
function anyOf(column: string, values: readonly unknown[]): string {
  return values.length === 0 ? "0" : `${column} IN (${values.map(() => "?").join(", ")})`;
}

function purgeConditions(purge: AuditPurge): Conditions {
  const where = new Conditions().add("op_time < ?", purge.before.getTime());
  return where.add(
    `(${anyOf("operation", purge.operations)} OR ${anyOf("operation || '_' || resource_type", purge.eventTypes)})`,
    ...purge.operations,
    ...purge.eventTypes,
  );
}

/** An INSERT … RETURNING that returned nothing: it cannot, short of a bug. */
function required<R>(row: R | undefined, table: string): R {
  if (row === undefined) throw new Error(`insert into ${table} returned no row`);
  return row;
}

function isUniqueViolation(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  // 2067 is SQLITE_CONSTRAINT_UNIQUE, the extended result code node:sqlite puts in `errcode`.
  return (error as { errcode?: unknown }).errcode === 2067 || error.message.includes("UNIQUE constraint failed");
}

/** A unique-constraint violation as a ConflictError saying `message`; any other error as it is. */
function conflict(error: unknown, message: string): unknown {
  return isUniqueViolation(error) ? new ConflictError(message, { cause: error }) : error;
}

/** Users have two unique columns: SQLite's message names the one violated. */
function userConflict(error: unknown, username: string | undefined, email: string | undefined): unknown {
  if (!isUniqueViolation(error)) return error;
  return error.message.includes("users.email")
    ? new ConflictError(`email ${JSON.stringify(email)} is taken`, { cause: error })
    : new ConflictError(`user name ${JSON.stringify(username)} is taken`, { cause: error });
}

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    realname: row.realname,
    comment: row.comment,
    passwordHash: row.password_hash,
    sysadmin: row.sysadmin === 1,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toProject(row: ProjectRow): ProjectRecord {
  return {
    id: row.id,
    name: row.name,
    ownerId: row.owner_id,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    storageLimit: row.storage_limit,
    ...(row.registry_id !== null && { registryId: row.registry_id }),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toMember(row: MemberRow): MemberRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    userId: row.user_id,
    roleId: row.role_id as RoleId,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toRobot(row: RobotRow): RobotRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    level: row.level as RobotRecord["level"],
    ...(row.project_id !== null && { projectId: row.project_id }),
    duration: row.duration,
    expiresAt: row.expires_at,
    disabled: row.disabled === 1,
    secretHash: row.secret_hash,
    permissions: JSON.parse(row.permissions) as RobotPermission[],
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toAudit(row: AuditRow): AuditRecord {
  return {
    id: row.id,
    username: row.username,
    resource: row.resource,
    resourceType: row.resource_type,
    operation: row.operation,
    success: row.success === 1,
    ...(row.project_id !== null && { projectId: row.project_id }),
    opTime: new Date(row.op_time),
  };
}

/** Runs a synchronous identity query on a connection chosen by the caller (reader or writer). */
export type IdentityRun = <T>(query: (queries: IdentityQueries) => T) => Promise<T>;

/** The identity areas, with reads going through `read` and writes through `write`. */
export function bindIdentityAreas(read: IdentityRun, write: IdentityRun): IdentityAreas {
  return {
    users: {
      create: (user, at) => write((q) => q.createUser(user, at)),
      get: (id) => read((q) => q.getUser(id)),
      getByName: (username) => read((q) => q.getUserByName(username)),
      list: (filter, window) => read((q) => q.listUsers(filter, window)),
      update: (id, changes, at) => write((q) => q.updateUser(id, changes, at)),
      delete: (id) => write((q) => q.deleteUser(id)),
    },
    projects: {
      create: (project, at) => write((q) => q.createProject(project, at)),
      get: (id) => read((q) => q.getProject(id)),
      getByName: (name) => read((q) => q.getProjectByName(name)),
      list: (filter, window) => read((q) => q.listProjects(filter, window)),
      update: (id, changes, at) => write((q) => q.updateProject(id, changes, at)),
      delete: (id) => write((q) => q.deleteProject(id)),
      repositoryCount: (name) => read((q) => q.repositoryCount(name)),
      storageUsed: (name) => read((q) => q.storageUsed(name)),
      usage: () => read((q) => q.projectUsage()),
    },
    members: {
      add: (projectId, userId, roleId, at) => write((q) => q.addMember(projectId, userId, roleId, at)),
      get: (projectId, memberId) => read((q) => q.getMember(projectId, memberId)),
      list: (projectId) => read((q) => q.listMembers(projectId)),
      roleOf: (projectId, userId) => read((q) => q.roleOf(projectId, userId)),
      update: (projectId, memberId, roleId, at) => write((q) => q.updateMember(projectId, memberId, roleId, at)),
      delete: (projectId, memberId) => write((q) => q.deleteMember(projectId, memberId)),
    },
    robots: {
      create: (robot, at) => write((q) => q.createRobot(robot, at)),
      get: (id) => read((q) => q.getRobot(id)),
      getByName: (name) => read((q) => q.getRobotByName(name)),
      list: (filter, window) => read((q) => q.listRobots(filter, window)),
      update: (id, changes, at) => write((q) => q.updateRobot(id, changes, at)),
      delete: (id) => write((q) => q.deleteRobot(id)),
    },
    audit: {
      append: (entry) => write((q) => q.appendAudit(entry)),
      list: (filter, window) => read((q) => q.listAudit(filter, window)),
      countPurgeable: (purge) => read((q) => q.countPurgeable(purge)),
      deletePurgeable: (purge, limit) => write((q) => q.deletePurgeable(purge, limit)),
    },
  };
}
