// The users, projects and members areas of the PostgreSQL metadata store: the queries, written
// against `Db`, bound to the store's connections by postgres-store.ts (robots and the audit log
// are in postgres-robots.ts). Their tables come from postgres-schema.ts; the semantics are the
// SQLite store's (sqlite-identity.ts).
//
// A list's total is counted under the same WHERE as its page. Filters are assembled from the
// fields present, so each combination is one prepared statement and the indexes stay usable.

import {
  ConflictError,
  type MemberMetadata,
  type MemberRecord,
  type ProjectMetadataArea,
  type ProjectRecord,
  type RoleId,
  type UserMetadata,
  type UserRecord,
} from "../identity-store.ts";
import { OldConditions, isUniqueViolation, oldListing, type Run } from "./connection.ts";
import { projectRange } from "../rows/sql.ts";

interface UserRow {
  id: number;
  username: string;
  email: string;
  realname: string;
  comment: string;
  password_hash: string;
  sysadmin: boolean;
  created_at: Date;
  updated_at: Date;
}

interface ProjectRow {
  id: number;
  name: string;
  owner_id: number;
  metadata: Record<string, string>;
  storage_limit: number;
  registry_id: number | null;
  created_at: Date;
  updated_at: Date;
}

interface MemberRow {
  id: number;
  project_id: number;
  user_id: number;
  role_id: number;
  created_at: Date;
  updated_at: Date;
}

const USER_COLUMNS = "id, username, email, realname, comment, password_hash, sysadmin, created_at, updated_at";
const PROJECT_COLUMNS = "id, name, owner_id, metadata, storage_limit, registry_id, created_at, updated_at";
const MEMBER_COLUMNS = "id, project_id, user_id, role_id, created_at, updated_at";

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    realname: row.realname,
    comment: row.comment,
    passwordHash: row.password_hash,
    sysadmin: row.sysadmin,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toProject(row: ProjectRow): ProjectRecord {
  return {
    id: row.id,
    name: row.name,
    ownerId: row.owner_id,
    metadata: row.metadata,
    storageLimit: row.storage_limit,
    ...(row.registry_id !== null && { registryId: row.registry_id }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toMember(row: MemberRow): MemberRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    userId: row.user_id,
    roleId: row.role_id as RoleId,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** An INSERT … RETURNING that returned nothing: it cannot, short of a bug. */
export function required<R>(row: R | undefined, table: string): R {
  if (row === undefined) throw new Error(`insert into ${table} returned no row`);
  return row;
}

/** A violation of `constraint` as a ConflictError saying `message`; any other error as it is. */
export function conflict(error: unknown, constraint: string, message: string): unknown {
  return isUniqueViolation(error, constraint) ? new ConflictError(message, { cause: error }) : error;
}

/** Users have two unique columns: the violated constraint names the one. */
function userConflict(error: unknown, username: string | undefined, email: string | undefined): unknown {
  if (isUniqueViolation(error, "users_email_key")) {
    return new ConflictError(`email ${JSON.stringify(email)} is taken`, { cause: error });
  }
  return conflict(error, "users_username_key", `user name ${JSON.stringify(username)} is taken`);
}

export function userArea(read: Run, write: Run): UserMetadata {
  return {
    create: (user, at) =>
      write(async (db) => {
        try {
          const row = await db.row<UserRow>(
            `INSERT INTO users (username, email, realname, comment, password_hash, sysadmin, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ${USER_COLUMNS}`,
            user.username,
            user.email,
            user.realname,
            user.comment,
            user.passwordHash,
            user.sysadmin,
            at,
          );
          return toUser(required(row, "users"));
        } catch (error) {
          throw userConflict(error, user.username, user.email);
        }
      }),
    get: (id) =>
      read(async (db) => {
        const row = await db.row<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, id);
        return row && toUser(row);
      }),
    getByName: (username) =>
      read(async (db) => {
        const row = await db.row<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = $1`, username);
        return row && toUser(row);
      }),
    list: (filter, window) =>
      read((db) => {
        const where = new OldConditions();
        if (filter.username !== undefined) where.add((p) => `strpos(username, ${p(filter.username ?? "")}) > 0`);
        return oldListing(db, { table: "users", columns: USER_COLUMNS, where, order: "id" }, window, toUser);
      }),
    update: (id, changes, at) =>
      write(async (db) => {
        try {
          const row = await db.row<UserRow>(
            `UPDATE users SET
               email = coalesce($1, email), realname = coalesce($2, realname), comment = coalesce($3, comment),
               password_hash = coalesce($4, password_hash), sysadmin = coalesce($5, sysadmin), updated_at = $6
               WHERE id = $7 RETURNING ${USER_COLUMNS}`,
            changes.email ?? null,
            changes.realname ?? null,
            changes.comment ?? null,
            changes.passwordHash ?? null,
            changes.sysadmin ?? null,
            at,
            id,
          );
          return row && toUser(row);
        } catch (error) {
          throw userConflict(error, undefined, changes.email);
        }
      }),
    // Memberships go with it through ON DELETE CASCADE.
    delete: (id) => write(async (db) => (await db.run("DELETE FROM users WHERE id = $1", id)) > 0),
  };
}

export function projectArea(read: Run, write: Run): ProjectMetadataArea {
  return {
    create: (project, at) =>
      write(async (db) => {
        try {
          const row = await db.row<ProjectRow>(
            `INSERT INTO projects (name, owner_id, metadata, storage_limit, registry_id, created_at, updated_at)
               VALUES ($1, $2, $3::jsonb, $4, $5, $6, $6) RETURNING ${PROJECT_COLUMNS}`,
            project.name,
            project.ownerId,
            JSON.stringify(project.metadata),
            project.storageLimit,
            project.registryId ?? null,
            at,
          );
          return toProject(required(row, "projects"));
        } catch (error) {
          throw conflict(error, "projects_name_key", `project name ${JSON.stringify(project.name)} is taken`);
        }
      }),
    get: (id) =>
      read(async (db) => {
        const row = await db.row<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE id = $1`, id);
        return row && toProject(row);
      }),
    getByName: (name) =>
      read(async (db) => {
        const row = await db.row<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE name = $1`, name);
        return row && toProject(row);
      }),
    list: (filter, window) =>
      read((db) => {
        const where = new OldConditions();
        if (filter.name !== undefined) where.add((p) => `strpos(name, ${p(filter.name ?? "")}) > 0`);
        if (filter.public === true) where.add(() => "metadata->>'public' = 'true'");
        if (filter.public === false) where.add(() => "coalesce(metadata->>'public', '') <> 'true'");
        if (filter.memberUserId !== undefined) {
          const userId = filter.memberUserId;
          where.add(
            (p) =>
              `EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = projects.id AND m.user_id = ${p(userId)})`,
          );
        }
        if (filter.ids !== undefined) {
          const ids = filter.ids;
          where.add((p) => `id = ANY(${p(ids)}::bigint[])`);
        }
        return oldListing(db, { table: "projects", columns: PROJECT_COLUMNS, where, order: "name" }, window, toProject);
      }),
    update: (id, changes, at) =>
      write(async (db) => {
        const row = await db.row<ProjectRow>(
          `UPDATE projects SET
             metadata = coalesce($1::jsonb, metadata), storage_limit = coalesce($2, storage_limit),
             registry_id = coalesce($3, registry_id), updated_at = $4
             WHERE id = $5 RETURNING ${PROJECT_COLUMNS}`,
          changes.metadata === undefined ? null : JSON.stringify(changes.metadata),
          changes.storageLimit ?? null,
          changes.registryId ?? null,
          at,
          id,
        );
        return row && toProject(row);
      }),
    // Members and project-level robots go with it through ON DELETE CASCADE; audit entries stay.
    delete: (id) => write(async (db) => (await db.run("DELETE FROM projects WHERE id = $1", id)) > 0),
    repositoryCount: (name) =>
      read((db) =>
        db.count("SELECT count(*) AS n FROM repositories WHERE name > $1 AND name < $2", ...projectRange(name)),
      ),
    // Called inside the transaction that links a blob (quota-policy.ts): under SERIALIZABLE, two
    // replicas that both read the usage and then both link into the project conflict, and one of
    // them runs again and sees the other's blob. No lock is needed, and none is held by reads.
    storageUsed: (name) =>
      read((db) =>
        db.count(
          `SELECT coalesce(sum(size), 0)::bigint AS n FROM blobs
             WHERE digest IN (SELECT digest FROM repository_blobs WHERE repository > $1 AND repository < $2)`,
          ...projectRange(name),
        ),
      ),
    // The project of a repository is its name's first segment; names without one belong to none.
    usage: () =>
      read(async (db) =>
        (
          await db.rows<{ name: string; storage_used: number; repositories: number; members: number }>(
            `WITH linked AS (
               SELECT DISTINCT split_part(repository, '/', 1) AS project, digest
                 FROM repository_blobs WHERE strpos(repository, '/') > 1
             ), storage AS (
               SELECT l.project, sum(b.size)::bigint AS bytes FROM linked l JOIN blobs b ON b.digest = l.digest
                 GROUP BY l.project
             ), repos AS (
               SELECT split_part(name, '/', 1) AS project, count(*) AS n
                 FROM repositories WHERE strpos(name, '/') > 1 GROUP BY 1
             ), members AS (
               SELECT project_id, count(*) AS n FROM project_members GROUP BY project_id
             )
             SELECT p.name, coalesce(s.bytes, 0)::bigint AS storage_used, coalesce(r.n, 0)::bigint AS repositories,
                    coalesce(m.n, 0)::bigint AS members
               FROM projects p
               LEFT JOIN storage s ON s.project = p.name
               LEFT JOIN repos r ON r.project = p.name
               LEFT JOIN members m ON m.project_id = p.id
               ORDER BY p.name`,
          )
        ).map((row) => ({
          name: row.name,
          storageUsed: row.storage_used,
          repositories: row.repositories,
          members: row.members,
        })),
      ),
  };
}

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
          return toMember(required(row, "project_members"));
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
        return row && toMember(row);
      }),
    list: (projectId) =>
      read(async (db) =>
        (
          await db.rows<MemberRow>(
            `SELECT ${MEMBER_COLUMNS} FROM project_members WHERE project_id = $1 ORDER BY id`,
            projectId,
          )
        ).map(toMember),
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
        return row && toMember(row);
      }),
    delete: (projectId, memberId) =>
      write(
        async (db) =>
          (await db.run("DELETE FROM project_members WHERE project_id = $1 AND id = $2", projectId, memberId)) > 0,
      ),
  };
}
