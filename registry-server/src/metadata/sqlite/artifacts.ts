// The artifacts area of the SQLite metadata store (ArtifactMetadata): its statements, bound to the
// store's connections by store.ts. Rows and the listings of Harbor's `q` and `sort` are in
// rows/artifacts.ts; postgres/artifacts.ts is the same area on PostgreSQL.

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
import { SQLITE } from "./dialect.ts";
import { conflict, listing, type Db, type Run } from "./statements.ts";

function getRepository(db: Db, name: string): RepositoryRecord | undefined {
  const row = db.row<RepositoryRow>(`SELECT ${REPOSITORY_COLUMNS} FROM repositories r WHERE r.name = ?`, name);
  return row && toRepository(row, SQLITE);
}

export function artifactArea(read: Run, write: Run): ArtifactMetadata {
  return {
    repository: (name) => read((db) => getRepository(db, name)),
    repositories: (query, window) =>
      read((db) =>
        listing(db, repositoryListing(SQLITE, query), window, (row: RepositoryRow) => toRepository(row, SQLITE)),
      ),
    describeRepository: (name, description, at) =>
      write((db) => {
        const changed = db.run(
          "UPDATE repositories SET description = ?, updated_at = ? WHERE name = ?",
          description,
          at.getTime(),
          name,
        );
        return changed === 0 ? undefined : getRepository(db, name);
      }),
    artifact: (repository, digest) =>
      read((db) => {
        const row = db.row<ArtifactRow>(
          `SELECT ${ARTIFACT_COLUMNS} FROM manifests m WHERE m.repository = ? AND m.digest = ?`,
          repository,
          digest,
        );
        return row && toArtifact(row, SQLITE);
      }),
    artifacts: (repository, query, window) =>
      read((db) =>
        listing(db, artifactListing(SQLITE, repository, query), window, (row: ArtifactRow) => toArtifact(row, SQLITE)),
      ),
    tags: (repository, query, window) =>
      read((db) =>
        listing(db, tagListing(SQLITE, repository, query), window, (row: TagEntryRow) => toTagEntry(row, SQLITE)),
      ),
    createTag: (repository, name, digest, at) =>
      write((db) => {
        try {
          db.run(
            "INSERT INTO tags (repository, name, digest, updated_at) VALUES (?, ?, ?, ?)",
            repository,
            name,
            digest,
            at.getTime(),
          );
        } catch (error) {
          throw conflict(error, undefined, `tag ${name} already exists under the repository ${repository}`);
        }
        const row = db.row<TagEntryRow>(
          `SELECT ${TAG_ENTRY_COLUMNS} FROM ${TAG_ENTRY_FROM} WHERE t.repository = ? AND t.name = ?`,
          repository,
          name,
        );
        if (!row) throw new Error(`tag ${name} was created but is not found`);
        return toTagEntry(row, SQLITE);
      }),
    deleteTag: (repository, name, digest) =>
      write(
        (db) =>
          db.run("DELETE FROM tags WHERE repository = ? AND name = ? AND digest = ?", repository, name, digest) > 0,
      ),
    artifactCounts: () =>
      read((db) =>
        db
          .rows<ArtifactCountRow>(
            `SELECT substr(m.repository, 1, instr(m.repository, '/') - 1) AS project,
                    ${mediaTypeOf(SQLITE)} AS media_type, count(*) AS n
               FROM manifests m WHERE instr(m.repository, '/') > 1
               GROUP BY 1, 2 ORDER BY 1, 2`,
          )
          .map(toArtifactCount),
      ),
  };
}
