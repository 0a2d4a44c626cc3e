// The garbage collection area of the SQLite metadata store (GcMetadata): its statements, bound to
// the store's connections by store.ts. Rows and the two selections are in rows/gc.ts;
// postgres/gc.ts is the same area on PostgreSQL. A blob's conditional deletion is one statement,
// and SQLite runs one writer at a time: no claim can come between its check and its deletion.

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
import { SQLITE } from "./dialect.ts";
import type { Run } from "./statements.ts";

export function gcArea(read: Run, write: Run): GcMetadata {
  return {
    candidateBlobs: (cutoff, page) =>
      read((db) => {
        const { sql, params } = candidateBlobs(SQLITE, cutoff, page);
        return db.rows<GcBlobRow>(sql, ...params).map((row) => toGcBlob(row, SQLITE));
      }),
    deleteUnreferencedBlob: (digest, cutoff, at) =>
      write((db) => {
        // Its links go with it through ON DELETE CASCADE.
        const row = db.row<GcBlobRow>(
          `DELETE FROM blobs WHERE digest = ? AND touched_at < ? AND ${UNREFERENCED} RETURNING digest, size, parts`,
          digest,
          cutoff.getTime(),
        );
        if (!row) return undefined;
        const blob = toGcBlob(row, SQLITE);
        db.run(
          "INSERT OR IGNORE INTO gc_doomed_parts (path, doomed_at) SELECT value, ? FROM json_each(?)",
          at.getTime(),
          JSON.stringify(blob.parts.map((part) => part.path)),
        );
        return blob;
      }),
    doomedParts: (before, limit) =>
      read((db) =>
        db.names(
          "SELECT path AS name FROM gc_doomed_parts WHERE doomed_at < ? ORDER BY doomed_at, path LIMIT ?",
          before.getTime(),
          Math.max(0, Math.floor(limit)),
        ),
      ),
    forgetDoomed: (paths) =>
      write((db) => {
        if (paths.length === 0) return;
        db.run("DELETE FROM gc_doomed_parts WHERE path IN (SELECT value FROM json_each(?))", JSON.stringify(paths));
      }),
    knownPartPaths: () =>
      read(
        (db) =>
          new Set(
            db.names(
              `SELECT json_extract(p.value, '$.path') AS name FROM blobs b, json_each(b.parts) p
               UNION ALL SELECT json_extract(p.value, '$.path') FROM uploads u, json_each(u.parts) p
               UNION ALL SELECT path FROM gc_doomed_parts`,
            ),
          ),
      ),
    untaggedManifests: (cutoff, page) =>
      read((db) => {
        const { sql, params } = untaggedManifests(SQLITE, cutoff, page);
        return db.rows<UntaggedManifestRow>(sql, ...params).map(toUntaggedManifest);
      }),
    blobReferenceCounts: (digests) =>
      read((db) => {
        const counts = new Map(digests.map((digest) => [digest, 0]));
        if (digests.length === 0) return counts;
        const { sql, params } = referenceCounts(SQLITE, digests);
        for (const row of db.rows<{ digest: string; n: number }>(sql, ...params)) counts.set(row.digest, row.n);
        return counts;
      }),
  };
}
