// The artifacts area of the PostgreSQL metadata store (ArtifactMetadata): its statements, bound to
// the store's connections by store.ts. Rows and the listings of Harbor's `q` and `sort` are in
// rows/artifacts.ts; sqlite/artifacts.ts is the same area on SQLite.

import type { ArtifactMetadata, RepositoryRecord } from "../artifact-store.ts";
import {
  ARTIFACT_COLUMNS,
  REPOSITORY_COLUMNS,
  TAG_ENTRY_COLUMNS,
  TAG_ENTRY_FROM,
  artifactListing,
  mediaTypeOf,
  repositoryListing,
  tagListing,
  toArtifact,
  toArtifactCount,
  toRepository,
  toTagEntry,
  type ArtifactCountRow,
  type ArtifactRow,
  type RepositoryRow,
  type TagEntryRow,
} from "../rows/artifacts.ts";
import { conflict, listing, type Db, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

async function getRepository(db: Db, name: string): Promise<RepositoryRecord | undefined> {
  const row = await db.row<RepositoryRow>(`SELECT ${REPOSITORY_COLUMNS} FROM repositories r WHERE r.name = $1`, name);
  return row && toRepository(row, POSTGRES);
}

export function artifactArea(read: Run, write: Run): ArtifactMetadata {
  return {
    repository: (name) => read((db) => getRepository(db, name)),
    repositories: (query, window) =>
      read((db) =>
        listing(db, repositoryListing(POSTGRES, query), window, (row: RepositoryRow) => toRepository(row, POSTGRES)),
      ),
    describeRepository: (name, description, at) =>
      write(async (db) => {
        const changed = await db.run(
          "UPDATE repositories SET description = $1, updated_at = $2 WHERE name = $3",
          description,
          at,
          name,
        );
        return changed === 0 ? undefined : getRepository(db, name);
      }),
    artifact: (repository, digest) =>
      read(async (db) => {
        const row = await db.row<ArtifactRow>(
          `SELECT ${ARTIFACT_COLUMNS} FROM manifests m WHERE m.repository = $1 AND m.digest = $2`,
          repository,
          digest,
        );
        return row && toArtifact(row, POSTGRES);
      }),
    artifacts: (repository, query, window) =>
      read((db) =>
        listing(db, artifactListing(POSTGRES, repository, query), window, (row: ArtifactRow) =>
          toArtifact(row, POSTGRES),
        ),
      ),
    tags: (repository, query, window) =>
      read((db) =>
        listing(db, tagListing(POSTGRES, repository, query), window, (row: TagEntryRow) => toTagEntry(row, POSTGRES)),
      ),
    createTag: (repository, name, digest, at) =>
      write(async (db) => {
        try {
          await db.run(
            "INSERT INTO tags (repository, name, digest, updated_at) VALUES ($1, $2, $3, $4)",
            repository,
            name,
            digest,
            at,
          );
        } catch (error) {
          throw conflict(error, "tags_pkey", `tag ${name} already exists under the repository ${repository}`);
        }
        const row = await db.row<TagEntryRow>(
          `SELECT ${TAG_ENTRY_COLUMNS} FROM ${TAG_ENTRY_FROM} WHERE t.repository = $1 AND t.name = $2`,
          repository,
          name,
        );
        if (!row) throw new Error(`tag ${name} was created but is not found`);
        return toTagEntry(row, POSTGRES);
      }),
    deleteTag: (repository, name, digest) =>
      write(
        async (db) =>
          (await db.run(
            "DELETE FROM tags WHERE repository = $1 AND name = $2 AND digest = $3",
            repository,
            name,
            digest,
          )) > 0,
      ),
    artifactCounts: () =>
      read(async (db) =>
        (
          await db.rows<ArtifactCountRow>(
            `SELECT project, media_type, n FROM (
               SELECT split_part(m.repository, '/', 1) AS project, ${mediaTypeOf(POSTGRES)} AS media_type, count(*) AS n
                 FROM manifests m WHERE strpos(m.repository, '/') > 1
                 GROUP BY 1, 2
             ) counted ORDER BY project COLLATE "C", media_type COLLATE "C"`,
          )
        ).map(toArtifactCount),
      ),
  };
}
