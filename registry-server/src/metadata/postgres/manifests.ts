// The manifests and tags areas of the PostgreSQL metadata store: the queries, written against
// `Db`, bound to the store's connections by postgres-store.ts. Their tables come from
// postgres-schema.ts; the semantics are the SQLite store's (sqlite-store.ts).

import {
  PUSH_TIME_RESOLUTION_MS,
  sameManifest,
  type ManifestMetadata,
  type ManifestRecord,
  type ManifestReferences,
  type TagMetadata,
} from "../metadata-store.ts";
import { sqlLimit, windowNumber, type Db, type Run } from "./connection.ts";
import { ensureRepository } from "./repositories.ts";

interface ManifestRow {
  repository: string;
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  subject: string | null;
  annotations: Record<string, string> | null;
  created_at: Date;
  config_media_type: string | null;
}

const MANIFEST_COLUMNS =
  "repository, digest, media_type, size, artifact_type, subject, annotations, created_at, config_media_type";

function toManifest(row: ManifestRow): ManifestRecord {
  return {
    repository: row.repository,
    digest: row.digest,
    mediaType: row.media_type,
    size: row.size,
    ...(row.artifact_type !== null && { artifactType: row.artifact_type }),
    ...(row.subject !== null && { subject: row.subject }),
    ...(row.annotations !== null && { annotations: row.annotations }),
    ...(row.config_media_type !== null && { configMediaType: row.config_media_type }),
    createdAt: row.created_at,
  };
}

async function getManifest(db: Db, repository: string, digest: string): Promise<ManifestRecord | undefined> {
  const row = await db.row<ManifestRow>(
    `SELECT ${MANIFEST_COLUMNS} FROM manifests WHERE repository = $1 AND digest = $2`,
    repository,
    digest,
  );
  return row && toManifest(row);
}

async function referencesOf(db: Db, manifest: ManifestRecord): Promise<ManifestReferences> {
  const blobs = await db.rows<{ digest: string }>(
    "SELECT blob_digest AS digest FROM manifest_blob_refs WHERE repository = $1 AND manifest_digest = $2",
    manifest.repository,
    manifest.digest,
  );
  const children = await db.rows<{ digest: string }>(
    "SELECT child_digest AS digest FROM manifest_child_refs WHERE repository = $1 AND manifest_digest = $2",
    manifest.repository,
    manifest.digest,
  );
  return { blobs: blobs.map((row) => row.digest), manifests: children.map((row) => row.digest) };
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
        if (recorded && sameManifest(recorded, await referencesOf(db, recorded), record, references)) {
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
          record.annotations ? JSON.stringify(record.annotations) : null,
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
        return rows.map(toManifest);
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
        return { items: rows.map(toManifest), total };
      }),
  };
}

export function tagArea(read: Run, write: Run): TagMetadata {
  return {
    get: (repository, name) =>
      read(async (db) => {
        const row = await db.row<{ repository: string; name: string; digest: string; updated_at: Date }>(
          "SELECT repository, name, digest, updated_at FROM tags WHERE repository = $1 AND name = $2",
          repository,
          name,
        );
        return row && { repository: row.repository, name: row.name, digest: row.digest, updatedAt: row.updated_at };
      }),
    put: (repository, name, digest, at) =>
      write(async (db) => {
        await db.run(
          `INSERT INTO tags (repository, name, digest, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (repository, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
          repository,
          name,
          digest,
          at,
        );
      }),
    delete: (repository, name) =>
      write(async (db) => (await db.run("DELETE FROM tags WHERE repository = $1 AND name = $2", repository, name)) > 0),
    // Tag names are never empty, so "> ''" is "from the start". COLLATE "C": byte order.
    list: (repository, page) =>
      read((db) =>
        db.names(
          "SELECT name FROM tags WHERE repository = $1 AND name > $2 ORDER BY name LIMIT $3",
          repository,
          page.after ?? "",
          sqlLimit(page.limit),
        ),
      ),
    forDigest: (repository, digest) =>
      read((db) =>
        db.names("SELECT name FROM tags WHERE repository = $1 AND digest = $2 ORDER BY name", repository, digest),
      ),
  };
}
