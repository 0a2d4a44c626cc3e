// The projects area of the SQLite metadata store (ProjectMetadataArea): its statements, bound to
// the store's connections by store.ts. Rows and the listing are in rows/projects.ts;
// postgres/projects.ts is the same area on PostgreSQL.

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
import { SQLITE } from "./dialect.ts";
import { conflict, listing, type Run } from "./statements.ts";

export function projectArea(read: Run, write: Run): ProjectMetadataArea {
  return {
    create: (project, at) =>
      write((db) => {
        try {
          const row = db.row<ProjectRow>(
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
          return toProject(required(row, "insert into projects"), SQLITE);
        } catch (error) {
          throw conflict(error, undefined, `project name ${JSON.stringify(project.name)} is taken`);
        }
      }),
    get: (id) =>
      read((db) => {
        const row = db.row<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE id = ?`, id);
        return row && toProject(row, SQLITE);
      }),
    getByName: (name) =>
      read((db) => {
        const row = db.cachedRow<ProjectRow>(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE name = ?`, name);
        return row && toProject(row, SQLITE);
      }),
    list: (filter, window) =>
      read((db) => listing(db, projectListing(SQLITE, filter), window, (row: ProjectRow) => toProject(row, SQLITE))),
    update: (id, changes, at) =>
      write((db) => {
        const row = db.row<ProjectRow>(
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
        return row && toProject(row, SQLITE);
      }),
    // Members and project-level robots go with it through ON DELETE CASCADE; audit entries stay.
    delete: (id) => write((db) => db.run("DELETE FROM projects WHERE id = ?", id) > 0),
    repositoryCount: (name) =>
      read((db) =>
        db.count("SELECT count(*) AS n FROM repositories WHERE name > ? AND name < ?", ...projectRange(name)),
      ),
    storageUsed: (name) =>
      read((db) =>
        db.count(
          `SELECT coalesce(sum(size), 0) AS n FROM blobs
             WHERE digest IN (SELECT digest FROM repository_blobs WHERE repository > ? AND repository < ?)`,
          ...projectRange(name),
        ),
      ),
    // The project of a repository is its name's first segment; names without one belong to none.
    usage: () =>
      read((db) =>
        db
          .rows<ProjectUsageRow>(
            `WITH linked AS (
               SELECT DISTINCT substr(repository, 1, instr(repository, '/') - 1) AS project, digest
                 FROM repository_blobs WHERE instr(repository, '/') > 1
             ), storage AS (
               SELECT l.project, sum(b.size) AS bytes FROM linked l JOIN blobs b ON b.digest = l.digest
                 GROUP BY l.project
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
          )
          .map(toProjectUsage),
      ),
  };
}
