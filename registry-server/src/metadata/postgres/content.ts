// The blobs, uploads and repositories areas of the PostgreSQL metadata store: the queries, written
// against `Db`, bound to the store's connections by postgres-store.ts. Their tables come from
// postgres-schema.ts; the semantics are the SQLite store's (sqlite-store.ts), statement for
// statement where PostgreSQL allows.

import type {
  BlobMetadata,
  BlobPart,
  BlobRecord,
  DigestAlgorithm,
  RepositoryMetadata,
  UploadMetadata,
  UploadRecord,
} from "../metadata-store.ts";
import { sqlLimit, windowNumber, type Db, type Run } from "./connection.ts";

interface BlobRow {
  digest: string;
  size: number;
  parts: BlobPart[];
  created_at: Date;
}

interface UploadRow {
  id: string;
  repository: string;
  algorithm: string;
  size: number;
  parts: BlobPart[];
  created_at: Date;
  updated_at: Date;
}

const BLOB_COLUMNS = "digest, size, parts, created_at";
const UPLOAD_COLUMNS = "id, repository, algorithm, size, parts, created_at, updated_at";

function toBlob(row: BlobRow): BlobRecord {
  return { digest: row.digest, size: row.size, parts: row.parts, createdAt: row.created_at };
}

function toUpload(row: UploadRow): UploadRecord {
  return {
    id: row.id,
    repository: row.repository,
    algorithm: row.algorithm as DigestAlgorithm,
    size: row.size,
    parts: row.parts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Parts as stored: exactly `path` and `size`, whatever else the caller's objects carry. */
function partsJson(parts: readonly BlobPart[]): string {
  return JSON.stringify(parts.map((part) => ({ path: part.path, size: part.size })));
}

export async function ensureRepository(db: Db, name: string, at: Date): Promise<void> {
  await db.run("INSERT INTO repositories (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING", name, at);
}

async function getBlob(db: Db, digest: string): Promise<BlobRecord | undefined> {
  const row = await db.row<BlobRow>(`SELECT ${BLOB_COLUMNS} FROM blobs WHERE digest = $1`, digest);
  return row && toBlob(row);
}

export function blobArea(read: Run, write: Run): BlobMetadata {
  return {
    get: (digest) => read((db) => getBlob(db, digest)),
    create: (record) =>
      write(async (db) => {
        // Two replicas creating one digest: the second INSERT waits for the first's commit and
        // then does nothing (or, its snapshot being older, fails to serialize and is run again);
        // either way it then reads and returns the first copy.
        const created = await db.run(
          `INSERT INTO blobs (${BLOB_COLUMNS}) VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT DO NOTHING`,
          record.digest,
          record.size,
          partsJson(record.parts),
          record.createdAt,
        );
        if (created === 1) return { record, created: true };
        const existing = await getBlob(db, record.digest);
        if (!existing) throw new Error(`blob ${record.digest} was neither created nor found`);
        return { record: existing, created: false };
      }),
    // Links go with it through ON DELETE CASCADE.
    delete: (digest) => write(async (db) => (await db.run("DELETE FROM blobs WHERE digest = $1", digest)) > 0),
    link: (repository, digest) =>
      write(async (db) => {
        await ensureRepository(db, repository, new Date());
        await db.run(
          "INSERT INTO repository_blobs (repository, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING",
          repository,
          digest,
        );
      }),
    isLinked: (repository, digest) =>
      read(
        async (db) =>
          (await db.row("SELECT 1 FROM repository_blobs WHERE repository = $1 AND digest = $2", repository, digest)) !==
          undefined,
      ),
    unlink: (repository, digest) =>
      write(
        async (db) =>
          (await db.run("DELETE FROM repository_blobs WHERE repository = $1 AND digest = $2", repository, digest)) > 0,
      ),
    repositoriesOf: (digest) =>
      read((db) =>
        db.names("SELECT repository AS name FROM repository_blobs WHERE digest = $1 ORDER BY repository", digest),
      ),
    totalSize: () =>
      read((db) =>
        db.count(
          "SELECT coalesce(sum(size), 0)::bigint AS n FROM blobs WHERE digest IN (SELECT digest FROM repository_blobs)",
        ),
      ),
  };
}

export function uploadArea(read: Run, write: Run): UploadMetadata {
  return {
    create: (record) =>
      write(async (db) => {
        await ensureRepository(db, record.repository, record.createdAt);
        await db.run(
          `INSERT INTO uploads (${UPLOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)`,
          record.id,
          record.repository,
          record.algorithm,
          record.size,
          partsJson(record.parts),
          record.createdAt,
          record.updatedAt,
        );
      }),
    get: (id) =>
      read(async (db) => {
        const row = await db.row<UploadRow>(`SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE id = $1`, id);
        return row && toUpload(row);
      }),
    appendPart: (id, expectedSize, part, at) =>
      write(async (db) => {
        // The size test in WHERE is the compare-and-set. Two replicas appending at one offset:
        // the second UPDATE waits for the first's row lock, and once that commits it either finds
        // the size moved on or (serializable) fails and is run again, and then finds it: either
        // way it changes nothing and reports the session as moved on.
        const row = await db.row<UploadRow>(
          `UPDATE uploads
             SET size = size + $1, parts = parts || jsonb_build_array($2::jsonb), updated_at = $3
             WHERE id = $4 AND size = $5
             RETURNING ${UPLOAD_COLUMNS}`,
          part.size,
          JSON.stringify({ path: part.path, size: part.size }),
          at,
          id,
          expectedSize,
        );
        return row && toUpload(row);
      }),
    delete: (id) => write(async (db) => (await db.run("DELETE FROM uploads WHERE id = $1", id)) > 0),
    listStale: (before) =>
      read(async (db) =>
        (
          await db.rows<UploadRow>(
            `SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE updated_at < $1 ORDER BY updated_at, id`,
            before,
          )
        ).map(toUpload),
      ),
  };
}

/**
 * The names in ["p/", "p0"): '0' follows '/' in byte order, so this is "starts with p/" without
 * LIKE, whose '_' and '%' are wildcards, and it uses the primary key's index.
 */
export function projectRange(project: string): [string, string] {
  return [`${project}/`, `${project}0`];
}

export function repositoryArea(read: Run, write: Run): RepositoryMetadata {
  return {
    exists: (name) =>
      read(async (db) => (await db.row("SELECT 1 FROM repositories WHERE name = $1", name)) !== undefined),
    // Names are never empty, so "> ''" is "from the start".
    list: (page) =>
      read((db) =>
        db.names(
          "SELECT name FROM repositories WHERE name > $1 ORDER BY name LIMIT $2",
          page.after ?? "",
          sqlLimit(page.limit),
        ),
      ),
    listInProject: (project, filter, window) =>
      read(async (db) => {
        const where = "name > $1 AND name < $2 AND ($3::text IS NULL OR strpos(name, $3) > 0)";
        const params = [...projectRange(project), filter.contains ?? null];
        const rows = await db.rows<{ name: string; manifests: number; created_at: Date }>(
          `SELECT name, created_at,
                  (SELECT count(*) FROM manifests m WHERE m.repository = r.name) AS manifests
             FROM repositories r WHERE ${where} ORDER BY name LIMIT $4 OFFSET $5`,
          ...params,
          windowNumber(window.limit),
          windowNumber(window.offset),
        );
        const total = await db.count(`SELECT count(*) AS n FROM repositories WHERE ${where}`, ...params);
        return {
          items: rows.map((row) => ({ name: row.name, manifestCount: row.manifests, createdAt: row.created_at })),
          total,
        };
      }),
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
