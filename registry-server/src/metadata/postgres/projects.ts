// The projects area of the PostgreSQL metadata store (ProjectMetadataArea): its statements, bound
// to the store's connections by store.ts. Rows and the listing are in rows/projects.ts;
// sqlite/projects.ts is the same area on SQLite.

import type { ProjectMetadataArea } from "../identity-store.ts";
import {
  PROJECT_COLUMNS,
  projectListing,
  toProject,
  toProjectUsage,
  type ProjectRow,
  type ProjectUsageRow,
} from "../rows/projects.ts";
import { projectRange, required } from "../rows/sql.ts";
import { conflict, listing, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

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
          return toProject(required(row, "insert into projects"), POSTGRES);
        } catch (error) {
          throw conflict(error, "projects_name_key", `project name ${JSON.stringify(project.name)} is taken`);
        }
      }),
    get: (id) =>
      read(async (db) => {
        const row = await db.row<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE id = $1`, id);
        return row && toProject(row, POSTGRES);
      }),
    getByName: (name) =>
      read(async (db) => {
        const row = await db.row<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE name = $1`, name);
        return row && toProject(row, POSTGRES);
      }),
    list: (filter, window) =>
      read((db) =>
        listing(db, projectListing(POSTGRES, filter), window, (row: ProjectRow) => toProject(row, POSTGRES)),
      ),
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
        return row && toProject(row, POSTGRES);
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
          await db.rows<ProjectUsageRow>(
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
        ).map(toProjectUsage),
      ),
  };
}
