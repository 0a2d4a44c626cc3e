// The blobs area of the SQLite metadata store (BlobMetadata): its statements, bound to the
// store's connections by store.ts. Rows are in rows/blobs.ts; postgres/blobs.ts is the same area
// on PostgreSQL.

import type { BlobMetadata, BlobRecord } from "../metadata-store.ts";
import { BLOB_COLUMNS, claimBlobs, recordedBlobs, toBlob, type BlobRow } from "../rows/blobs.ts";
import { SQLITE } from "./dialect.ts";
import { ensureRepository } from "./repositories.ts";
import type { Db, Run } from "./statements.ts";

/** Claims the recorded blobs among `digests` (rows/blobs.ts says when that writes); returns them. */
function touch(db: Db, digests: readonly string[], at: Date): Set<string> {
  if (digests.length === 0) return new Set();
  const recorded = recordedBlobs(SQLITE, digests);
  const claim = claimBlobs(SQLITE, digests, at);
  db.run(claim.sql, ...claim.params);
  return new Set(db.names(recorded.sql, ...recorded.params));
}

function getBlob(db: Db, digest: string): BlobRecord | undefined {
  const row = db.cachedRow<BlobRow>(`SELECT ${BLOB_COLUMNS} FROM blobs WHERE digest = ?`, digest);
  return row && toBlob(row, SQLITE);
}

export function blobArea(read: Run, write: Run): BlobMetadata {
  return {
    get: (digest) => read((db) => getBlob(db, digest)),
    create: (record) =>
      write((db) => {
        const created = db.run(
          `INSERT INTO blobs (${BLOB_COLUMNS}, touched_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          record.digest,
          record.size,
          JSON.stringify(record.parts),
          record.createdAt.getTime(),
          record.createdAt.getTime(),
        );
        if (created === 1) return { record, created: true };
        touch(db, [record.digest], record.createdAt);
        const existing = getBlob(db, record.digest);
        if (!existing) throw new Error(`blob ${record.digest} was neither created nor found`);
        return { record: existing, created: false };
      }),
    // Links go with it through ON DELETE CASCADE.
    delete: (digest) => write((db) => db.run("DELETE FROM blobs WHERE digest = ?", digest) > 0),
    link: (repository, digest) =>
      write((db) => {
        const at = new Date();
        if (touch(db, [digest], at).size === 0) return false;
        ensureRepository(db, repository, at);
        db.run(
          "INSERT INTO repository_blobs (repository, digest) VALUES (?, ?) ON CONFLICT DO NOTHING",
          repository,
          digest,
        );
        return true;
      }),
    isLinked: (repository, digest) =>
      read(
        (db) =>
          db.cachedRow("SELECT 1 FROM repository_blobs WHERE repository = ? AND digest = ?", repository, digest) !==
          undefined,
      ),
    unlink: (repository, digest) =>
      write((db) => db.run("DELETE FROM repository_blobs WHERE repository = ? AND digest = ?", repository, digest) > 0),
    repositoriesOf: (digest) =>
      read((db) =>
        db.names("SELECT repository AS name FROM repository_blobs WHERE digest = ? ORDER BY repository", digest),
      ),
    totalSize: () =>
      read((db) =>
        db.count("SELECT coalesce(sum(size), 0) AS n FROM blobs WHERE digest IN (SELECT digest FROM repository_blobs)"),
      ),
    touch: (digests, at) => write((db) => touch(db, digests, at)),
  };
}
