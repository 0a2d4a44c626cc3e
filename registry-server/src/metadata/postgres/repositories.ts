// The repositories area of the PostgreSQL metadata store (RepositoryMetadata): its statements,
// bound to the store's connections by store.ts. Rows and the project listing are in
// rows/repositories.ts; sqlite/repositories.ts is the same area on SQLite.

import type { RepositoryMetadata } from "../metadata-store.ts";
import { projectRepositories, toRepositorySummary, type RepositorySummaryRow } from "../rows/repositories.ts";
import { listing, type Db, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

/** Records a repository when it is first uploaded, linked or pushed to. */
export async function ensureRepository(db: Db, name: string, at: Date): Promise<void> {
  await db.run("INSERT INTO repositories (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING", name, at);
}

export function repositoryArea(read: Run, write: Run): RepositoryMetadata {
  return {
    exists: (name) =>
      read(async (db) => (await db.row("SELECT 1 FROM repositories WHERE name = $1", name)) !== undefined),
    // Names are never empty, so "> ''" is "from the start". COLLATE "C": byte order.
    list: (page) =>
      read((db) =>
        db.names(
          "SELECT name FROM repositories WHERE name > $1 ORDER BY name LIMIT $2",
          page.after ?? "",
          POSTGRES.limit(page.limit),
        ),
      ),
    listInProject: (project, filter, window) =>
      read((db) =>
        listing(db, projectRepositories(POSTGRES, project, filter.contains), window, (row: RepositorySummaryRow) =>
          toRepositorySummary(row, POSTGRES),
        ),
      ),
    delete: (name) =>
      write(async (db) => {
        // Tags and references go with the manifests through ON DELETE CASCADE; a manifest's bytes
        // go when no other repository holds that digest.
        const digests = await db.names("DELETE FROM manifests WHERE repository = $1 RETURNING digest AS name", name);
        await db.run(
          `DELETE FROM manifest_contents c WHERE c.digest = ANY($1::text[])
             AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = c.digest)`,
          digests,
        );
        await db.run("DELETE FROM repository_blobs WHERE repository = $1", name);
        await db.run("DELETE FROM uploads WHERE repository = $1", name);
        return (await db.run("DELETE FROM repositories WHERE name = $1", name)) > 0;
      }),
  };
}
