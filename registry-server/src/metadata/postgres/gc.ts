// The garbage collection area of the PostgreSQL metadata store (GcMetadata): its statements, bound
// to the store's connections by store.ts. Rows and the two selections are in rows/gc.ts;
// sqlite/gc.ts is the same area on SQLite. A blob's conditional deletion is one statement in a
// SERIALIZABLE transaction, as every write is: a claim of the blob committed meanwhile (a link, a
// manifest put reading the row) makes one of the two fail to serialize and run again, and then
// see the other.

import type { GcMetadata } from "../lifecycle-store.ts";
import {
  UNREFERENCED,
  candidateBlobs,
  referenceCounts,
  toGcBlob,
  toUntaggedManifest,
  untaggedManifests,
  type GcBlobRow,
  type UntaggedManifestRow,
} from "../rows/gc.ts";
import type { Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

export function gcArea(read: Run, write: Run): GcMetadata {
  return {
    candidateBlobs: (cutoff, page) =>
      read(async (db) => {
        const { sql, params } = candidateBlobs(POSTGRES, cutoff, page);
        return (await db.rows<GcBlobRow>(sql, ...params)).map((row) => toGcBlob(row, POSTGRES));
      }),
    deleteUnreferencedBlob: (digest, cutoff, at) =>
      write(async (db) => {
        // Its links go with it through ON DELETE CASCADE.
        const row = await db.row<GcBlobRow>(
          `DELETE FROM blobs WHERE digest = $1 AND touched_at < $2 AND ${UNREFERENCED} RETURNING digest, size, parts`,
          digest,
          cutoff,
        );
        if (!row) return undefined;
        const blob = toGcBlob(row, POSTGRES);
        await db.run(
          "INSERT INTO gc_doomed_parts (path, doomed_at) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING",
          blob.parts.map((part) => part.path),
          at,
        );
        return blob;
      }),
    doomedParts: (before, limit) =>
      read((db) =>
        db.names(
          "SELECT path AS name FROM gc_doomed_parts WHERE doomed_at < $1 ORDER BY doomed_at, path LIMIT $2",
          before,
          Math.max(0, Math.floor(limit)),
        ),
      ),
    forgetDoomed: (paths) =>
      write(async (db) => {
        if (paths.length === 0) return;
        await db.run("DELETE FROM gc_doomed_parts WHERE path = ANY($1::text[])", paths);
      }),
    knownPartPaths: () =>
      read(
        async (db) =>
          new Set(
            await db.names(
              `SELECT p ->> 'path' AS name FROM blobs b, jsonb_array_elements(b.parts) p
               UNION ALL SELECT p ->> 'path' FROM uploads u, jsonb_array_elements(u.parts) p
               UNION ALL SELECT path FROM gc_doomed_parts`,
            ),
          ),
      ),
    untaggedManifests: (cutoff, page) =>
      read(async (db) => {
        const { sql, params } = untaggedManifests(POSTGRES, cutoff, page);
        return (await db.rows<UntaggedManifestRow>(sql, ...params)).map(toUntaggedManifest);
      }),
    blobReferenceCounts: (digests) =>
      read(async (db) => {
        const counts = new Map(digests.map((digest) => [digest, 0]));
        if (digests.length === 0) return counts;
        const { sql, params } = referenceCounts(POSTGRES, digests);
        for (const row of await db.rows<{ digest: string; n: number }>(sql, ...params)) counts.set(row.digest, row.n);
        return counts;
      }),
  };
}
