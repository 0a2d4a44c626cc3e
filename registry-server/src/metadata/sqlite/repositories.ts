// The repositories area of the SQLite metadata store (RepositoryMetadata): its statements, bound
// to the store's connections by store.ts. Rows and the project listing are in
// rows/repositories.ts; postgres/repositories.ts is the same area on PostgreSQL.

import type { RepositoryMetadata } from "../metadata-store.ts";
import { projectRepositories, toRepositorySummary, type RepositorySummaryRow } from "../rows/repositories.ts";
import { SQLITE } from "./dialect.ts";
import { listing, type Db, type Run } from "./statements.ts";

/** Records a repository when it is first uploaded, linked or pushed to. */
export function ensureRepository(db: Db, name: string, at: Date): void {
  db.run("INSERT INTO repositories (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING", name, at.getTime());
}

export function repositoryArea(read: Run, write: Run): RepositoryMetadata {
  return {
    exists: (name) => read((db) => db.row("SELECT 1 FROM repositories WHERE name = ?", name) !== undefined),
    // Names are never empty, so "> ''" is "from the start". BINARY collation: byte order.
    list: (page) =>
      read((db) =>
        db.names(
          "SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?",
          page.after ?? "",
          SQLITE.limit(page.limit),
        ),
      ),
    listInProject: (project, filter, window) =>
      read((db) =>
        listing(db, projectRepositories(SQLITE, project, filter.contains), window, (row: RepositorySummaryRow) =>
          toRepositorySummary(row, SQLITE),
        ),
      ),
    delete: (name) =>
      write((db) => {
        // Tags and references go with the manifests through ON DELETE CASCADE; a manifest's bytes
        // go when no other repository holds that digest.
        const digests = db.names("DELETE FROM manifests WHERE repository = ? RETURNING digest AS name", name);
        db.run(
          `DELETE FROM manifest_contents WHERE digest IN (SELECT value FROM json_each(?))
             AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = manifest_contents.digest)`,
          JSON.stringify(digests),
        );
        db.run("DELETE FROM repository_blobs WHERE repository = ?", name);
        db.run("DELETE FROM uploads WHERE repository = ?", name);
        return db.run("DELETE FROM repositories WHERE name = ?", name) > 0;
      }),
  };
}
