// The manifests area of the SQLite metadata store (ManifestMetadata): its statements, bound to the
// store's connections by store.ts. Rows are in rows/manifests.ts; postgres/manifests.ts is the
// same area on PostgreSQL.

import {
  PUSH_TIME_RESOLUTION_MS,
  sameManifest,
  type ManifestMetadata,
  type ManifestRecord,
  type ManifestReferences,
} from "../metadata-store.ts";
import { MANIFEST_COLUMNS, annotationsJson, toManifest, type ManifestRow } from "../rows/manifests.ts";
import { SQLITE } from "./dialect.ts";
import { ensureRepository } from "./repositories.ts";
import type { Db, Run } from "./statements.ts";

function getManifest(db: Db, repository: string, digest: string): ManifestRecord | undefined {
  const row = db.cachedRow<ManifestRow>(
    `SELECT ${MANIFEST_COLUMNS} FROM manifests WHERE repository = ? AND digest = ?`,
    repository,
    digest,
  );
  return row && toManifest(row, SQLITE);
}

function referencesOf(db: Db, repository: string, digest: string): ManifestReferences {
  const blobs = db.names(
    "SELECT blob_digest AS name FROM manifest_blob_refs WHERE repository = ? AND manifest_digest = ?",
    repository,
    digest,
  );
  const manifests = db.names(
    "SELECT child_digest AS name FROM manifest_child_refs WHERE repository = ? AND manifest_digest = ?",
    repository,
    digest,
  );
  return { blobs, manifests };
}

/** Deletes a digest's bytes once no repository holds that manifest any more. */
function dropUnusedContent(db: Db, digest: string): void {
  db.run(
    "DELETE FROM manifest_contents WHERE digest = ? AND NOT EXISTS (SELECT 1 FROM manifests WHERE digest = ?)",
    digest,
    digest,
  );
}

export function manifestArea(read: Run, write: Run): ManifestMetadata {
  return {
    put: (record, content, references) =>
      write((db) => {
        const recorded = getManifest(db, record.repository, record.digest);
        if (
          recorded &&
          sameManifest(recorded, referencesOf(db, recorded.repository, recorded.digest), record, references)
        ) {
          // Unchanged: only its push time moves (see PUSH_TIME_RESOLUTION_MS).
          if (record.createdAt.getTime() - recorded.createdAt.getTime() >= PUSH_TIME_RESOLUTION_MS) {
            db.run(
              "UPDATE manifests SET created_at = ? WHERE repository = ? AND digest = ?",
              record.createdAt.getTime(),
              record.repository,
              record.digest,
            );
          }
          return;
        }
        ensureRepository(db, record.repository, record.createdAt);
        db.run(
          "INSERT INTO manifest_contents (digest, content) VALUES (?, ?) ON CONFLICT DO NOTHING",
          record.digest,
          content,
        );
        // An upsert, not INSERT OR REPLACE: replacing deletes the row first, and the cascade would
        // take the manifest's tags with it.
        db.run(
          `INSERT INTO manifests (${MANIFEST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (repository, digest) DO UPDATE SET
               media_type = excluded.media_type, size = excluded.size, artifact_type = excluded.artifact_type,
               subject = excluded.subject, annotations = excluded.annotations, created_at = excluded.created_at,
               config_media_type = excluded.config_media_type`,
          record.repository,
          record.digest,
          record.mediaType,
          record.size,
          record.artifactType ?? null,
          record.subject ?? null,
          annotationsJson(record),
          record.createdAt.getTime(),
          record.configMediaType ?? null,
        );
        db.run(
          "DELETE FROM manifest_blob_refs WHERE repository = ? AND manifest_digest = ?",
          record.repository,
          record.digest,
        );
        db.run(
          "DELETE FROM manifest_child_refs WHERE repository = ? AND manifest_digest = ?",
          record.repository,
          record.digest,
        );
        // One statement per kind whatever the number of references: the digests go in as a JSON array.
        db.run(
          `INSERT OR IGNORE INTO manifest_blob_refs (repository, manifest_digest, blob_digest)
             SELECT ?, ?, value FROM json_each(?)`,
          record.repository,
          record.digest,
          JSON.stringify(references.blobs),
        );
        db.run(
          `INSERT OR IGNORE INTO manifest_child_refs (repository, manifest_digest, child_digest)
             SELECT ?, ?, value FROM json_each(?)`,
          record.repository,
          record.digest,
          JSON.stringify(references.manifests),
        );
      }),
    get: (repository, digest) => read((db) => getManifest(db, repository, digest)),
    references: (repository, digest) =>
      read((db) =>
        db.row("SELECT 1 FROM manifests WHERE repository = ? AND digest = ?", repository, digest) === undefined
          ? undefined
          : referencesOf(db, repository, digest),
      ),
    content: (repository, digest) =>
      read((db) => {
        const row = db.cachedRow<{ content: Uint8Array }>(
          `SELECT c.content FROM manifests m JOIN manifest_contents c ON c.digest = m.digest
             WHERE m.repository = ? AND m.digest = ?`,
          repository,
          digest,
        );
        return row && Buffer.from(row.content.buffer, row.content.byteOffset, row.content.byteLength);
      }),
    delete: (repository, digest) =>
      write((db) => {
        if (!getManifest(db, repository, digest)) return false;
        // The blobs only this manifest referenced leave the repository (and its quota usage); their
        // bytes stay for garbage collection. Then its tags and references go through ON DELETE CASCADE.
        db.run(
          `DELETE FROM repository_blobs WHERE repository = ? AND digest IN (
             SELECT r.blob_digest FROM manifest_blob_refs r
               WHERE r.repository = ? AND r.manifest_digest = ?
                 AND NOT EXISTS (SELECT 1 FROM manifest_blob_refs o
                   WHERE o.repository = r.repository AND o.blob_digest = r.blob_digest
                     AND o.manifest_digest <> r.manifest_digest))`,
          repository,
          repository,
          digest,
        );
        db.run("DELETE FROM manifests WHERE repository = ? AND digest = ?", repository, digest);
        dropUnusedContent(db, digest);
        return true;
      }),
    referrers: (repository, subject, artifactType) =>
      read((db) => {
        // `+digest`: sorting the few referrers found by the subject index, rather than walking the
        // whole repository in digest order through the primary key, which SQLite's planner picks
        // without statistics (a tenth of a second per artifact listed in a 10,000-artifact repository).
        const rows =
          artifactType === undefined
            ? db.rows<ManifestRow>(
                `SELECT ${MANIFEST_COLUMNS} FROM manifests WHERE repository = ? AND subject = ? ORDER BY +digest`,
                repository,
                subject,
              )
            : db.rows<ManifestRow>(
                `SELECT ${MANIFEST_COLUMNS} FROM manifests
                   WHERE repository = ? AND subject = ? AND artifact_type = ? ORDER BY +digest`,
                repository,
                subject,
                artifactType,
              );
        return rows.map((row) => toManifest(row, SQLITE));
      }),
    existing: (repository, digests) =>
      read((db) => {
        if (digests.length === 0) return new Map<string, number>();
        const rows = db.rows<{ digest: string; size: number }>(
          "SELECT digest, size FROM manifests WHERE repository = ? AND digest IN (SELECT value FROM json_each(?))",
          repository,
          JSON.stringify(digests),
        );
        return new Map(rows.map((row) => [row.digest, row.size]));
      }),
    parents: (repository, digest) =>
      read((db) =>
        db.names(
          `SELECT manifest_digest AS name FROM manifest_child_refs WHERE repository = ? AND child_digest = ?
             ORDER BY manifest_digest`,
          repository,
          digest,
        ),
      ),
    list: (repository, window) =>
      read((db) => {
        const rows = db.rows<ManifestRow>(
          `SELECT ${MANIFEST_COLUMNS} FROM manifests WHERE repository = ?
             ORDER BY created_at DESC, digest LIMIT ? OFFSET ?`,
          repository,
          window.limit,
          window.offset,
        );
        const total = db.count("SELECT count(*) AS n FROM manifests WHERE repository = ?", repository);
        return { items: rows.map((row) => toManifest(row, SQLITE)), total };
      }),
  };
}
