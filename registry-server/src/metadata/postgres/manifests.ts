// The manifests area of the PostgreSQL metadata store (ManifestMetadata): its statements, bound
// to the store's connections by store.ts. Rows are in rows/manifests.ts; sqlite/manifests.ts is
// the same area on SQLite.

import {
  PUSH_TIME_RESOLUTION_MS,
  sameManifest,
  type ManifestMetadata,
  type ManifestRecord,
  type ManifestReferences,
} from "../metadata-store.ts";
import { MANIFEST_COLUMNS, annotationsJson, toManifest, type ManifestRow } from "../rows/manifests.ts";
import { windowNumber } from "../rows/sql.ts";
import type { Db, Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";
import { ensureRepository } from "./repositories.ts";

async function getManifest(db: Db, repository: string, digest: string): Promise<ManifestRecord | undefined> {
  const row = await db.row<ManifestRow>(
    `SELECT ${MANIFEST_COLUMNS} FROM manifests WHERE repository = $1 AND digest = $2`,
    repository,
    digest,
  );
  return row && toManifest(row, POSTGRES);
}

async function referencesOf(db: Db, repository: string, digest: string): Promise<ManifestReferences> {
  const blobs = await db.names(
    "SELECT blob_digest AS name FROM manifest_blob_refs WHERE repository = $1 AND manifest_digest = $2",
    repository,
    digest,
  );
  const manifests = await db.names(
    "SELECT child_digest AS name FROM manifest_child_refs WHERE repository = $1 AND manifest_digest = $2",
    repository,
    digest,
  );
  return { blobs, manifests };
}

/** Deletes a digest's bytes once no repository holds that manifest any more. */
async function dropUnusedContent(db: Db, digest: string): Promise<void> {
  await db.run(
    "DELETE FROM manifest_contents WHERE digest = $1 AND NOT EXISTS (SELECT 1 FROM manifests WHERE digest = $1)",
    digest,
  );
}

export function manifestArea(read: Run, write: Run): ManifestMetadata {
  return {
    put: (record, content, references) =>
      write(async (db) => {
        const recorded = await getManifest(db, record.repository, record.digest);
        if (
          recorded &&
          sameManifest(recorded, await referencesOf(db, recorded.repository, recorded.digest), record, references)
        ) {
          // Unchanged: only its push time moves (see PUSH_TIME_RESOLUTION_MS).
          if (record.createdAt.getTime() - recorded.createdAt.getTime() >= PUSH_TIME_RESOLUTION_MS) {
            await db.run(
              "UPDATE manifests SET created_at = $3 WHERE repository = $1 AND digest = $2",
              record.repository,
              record.digest,
              record.createdAt,
            );
          }
          return;
        }
        await ensureRepository(db, record.repository, record.createdAt);
        await db.run(
          "INSERT INTO manifest_contents (digest, content) VALUES ($1, $2) ON CONFLICT DO NOTHING",
          record.digest,
          Buffer.from(content.buffer, content.byteOffset, content.byteLength),
        );
        // An upsert: deleting and inserting again would take the manifest's tags with it.
        await db.run(
          `INSERT INTO manifests (${MANIFEST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8, $9)
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
          record.createdAt,
          record.configMediaType ?? null,
        );
        await db.run(
          "DELETE FROM manifest_blob_refs WHERE repository = $1 AND manifest_digest = $2",
          record.repository,
          record.digest,
        );
        await db.run(
          "DELETE FROM manifest_child_refs WHERE repository = $1 AND manifest_digest = $2",
          record.repository,
          record.digest,
        );
        // One statement per kind whatever the number of references: the digests go in as an array.
        await db.run(
          `INSERT INTO manifest_blob_refs (repository, manifest_digest, blob_digest)
             SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING`,
          record.repository,
          record.digest,
          references.blobs,
        );
        await db.run(
          `INSERT INTO manifest_child_refs (repository, manifest_digest, child_digest)
             SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING`,
          record.repository,
          record.digest,
          references.manifests,
        );
      }),
    get: (repository, digest) => read((db) => getManifest(db, repository, digest)),
    references: (repository, digest) =>
      read(async (db) =>
        (await db.row("SELECT 1 FROM manifests WHERE repository = $1 AND digest = $2", repository, digest)) ===
        undefined
          ? undefined
          : referencesOf(db, repository, digest),
      ),
    content: (repository, digest) =>
      read(async (db) => {
        const row = await db.row<{ content: Buffer }>(
          `SELECT c.content FROM manifests m JOIN manifest_contents c ON c.digest = m.digest
             WHERE m.repository = $1 AND m.digest = $2`,
          repository,
          digest,
        );
        return row?.content;
      }),
    delete: (repository, digest) =>
      write(async (db) => {
        if (!(await getManifest(db, repository, digest))) return false;
        // The blobs only this manifest referenced leave the repository (and its quota usage); their
        // bytes stay for garbage collection. Then its tags and references go through ON DELETE CASCADE.
        await db.run(
          `DELETE FROM repository_blobs WHERE repository = $1 AND digest IN (
             SELECT r.blob_digest FROM manifest_blob_refs r
               WHERE r.repository = $1 AND r.manifest_digest = $2
                 AND NOT EXISTS (SELECT 1 FROM manifest_blob_refs o
                   WHERE o.repository = r.repository AND o.blob_digest = r.blob_digest
                     AND o.manifest_digest <> r.manifest_digest))`,
          repository,
          digest,
        );
        await db.run("DELETE FROM manifests WHERE repository = $1 AND digest = $2", repository, digest);
        await dropUnusedContent(db, digest);
        return true;
      }),
    referrers: (repository, subject, artifactType) =>
      read(async (db) => {
        const rows =
          artifactType === undefined
            ? await db.rows<ManifestRow>(
                `SELECT ${MANIFEST_COLUMNS} FROM manifests WHERE repository = $1 AND subject = $2 ORDER BY digest`,
                repository,
                subject,
              )
            : await db.rows<ManifestRow>(
                `SELECT ${MANIFEST_COLUMNS} FROM manifests
                   WHERE repository = $1 AND subject = $2 AND artifact_type = $3 ORDER BY digest`,
                repository,
                subject,
                artifactType,
              );
        return rows.map((row) => toManifest(row, POSTGRES));
      }),
    existing: (repository, digests) =>
      read(async (db) => {
        if (digests.length === 0) return new Map<string, number>();
        const rows = await db.rows<{ digest: string; size: number }>(
          "SELECT digest, size FROM manifests WHERE repository = $1 AND digest = ANY($2::text[])",
          repository,
          digests,
        );
        return new Map(rows.map((row) => [row.digest, Number(row.size)]));
      }),
    parents: (repository, digest) =>
      read((db) =>
        db.names(
          `SELECT manifest_digest AS name FROM manifest_child_refs WHERE repository = $1 AND child_digest = $2
             ORDER BY manifest_digest`,
          repository,
          digest,
        ),
      ),
    list: (repository, window) =>
      read(async (db) => {
        const rows = await db.rows<ManifestRow>(
          `SELECT ${MANIFEST_COLUMNS} FROM manifests WHERE repository = $1
             ORDER BY created_at DESC, digest LIMIT $2 OFFSET $3`,
          repository,
          windowNumber(window.limit),
          windowNumber(window.offset),
        );
        const total = await db.count("SELECT count(*) AS n FROM manifests WHERE repository = $1", repository);
        return { items: rows.map((row) => toManifest(row, POSTGRES)), total };
      }),
  };
}
