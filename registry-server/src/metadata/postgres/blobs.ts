// The blobs area of the PostgreSQL metadata store (BlobMetadata): its statements, bound to the
// store's connections by store.ts. Rows are in rows/blobs.ts; sqlite/blobs.ts is the same area on
// SQLite.

import type { BlobMetadata, BlobRecord } from "../metadata-store.ts";
import { BLOB_COLUMNS, claimBlobs, partsJson, recordedBlobs, toBlob, type BlobRow } from "../rows/blobs.ts";
import type { Db, Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";
import { ensureRepository } from "./repositories.ts";

/**
 * Claims the recorded blobs among `digests` (rows/blobs.ts says when that writes); returns them.
 * Reading the rows is what makes a concurrent deletion of one of them (gc.deleteUnreferencedBlob)
 * and this transaction fail to serialize, one of them then running again, even when the claim
 * writes nothing.
 */
async function touch(db: Db, digests: readonly string[], at: Date): Promise<Set<string>> {
  if (digests.length === 0) return new Set();
  const recorded = recordedBlobs(POSTGRES, digests);
  const claim = claimBlobs(POSTGRES, digests, at);
  await db.run(claim.sql, ...claim.params);
  return new Set(await db.names(recorded.sql, ...recorded.params));
}

async function getBlob(db: Db, digest: string): Promise<BlobRecord | undefined> {
  const row = await db.row<BlobRow>(`SELECT ${BLOB_COLUMNS} FROM blobs WHERE digest = $1`, digest);
  return row && toBlob(row, POSTGRES);
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
          `INSERT INTO blobs (${BLOB_COLUMNS}, touched_at) VALUES ($1, $2, $3::jsonb, $4, $4) ON CONFLICT DO NOTHING`,
          record.digest,
          record.size,
          partsJson(record.parts),
          record.createdAt,
        );
        if (created === 1) return { record, created: true };
        await touch(db, [record.digest], record.createdAt);
        const existing = await getBlob(db, record.digest);
        if (!existing) throw new Error(`blob ${record.digest} was neither created nor found`);
        return { record: existing, created: false };
      }),
    // Links go with it through ON DELETE CASCADE.
    delete: (digest) => write(async (db) => (await db.run("DELETE FROM blobs WHERE digest = $1", digest)) > 0),
    link: (repository, digest) =>
      write(async (db) => {
        const at = new Date();
        if ((await touch(db, [digest], at)).size === 0) return false;
        await ensureRepository(db, repository, at);
        await db.run(
          "INSERT INTO repository_blobs (repository, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING",
          repository,
          digest,
        );
        return true;
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
    touch: (digests, at) => write((db) => touch(db, digests, at)),
  };
}
