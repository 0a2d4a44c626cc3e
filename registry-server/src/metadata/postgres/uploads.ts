// The uploads area of the PostgreSQL metadata store (UploadMetadata): its statements, bound to the
// store's connections by store.ts. Rows are in rows/uploads.ts; sqlite/uploads.ts is the same
// area on SQLite.

import type { UploadMetadata } from "../metadata-store.ts";
import { partJson, partsJson } from "../rows/blobs.ts";
import { UPLOAD_COLUMNS, toUpload, type UploadRow } from "../rows/uploads.ts";
import type { Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";
import { ensureRepository } from "./repositories.ts";

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
        return row && toUpload(row, POSTGRES);
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
          partJson(part),
          at,
          id,
          expectedSize,
        );
        return row && toUpload(row, POSTGRES);
      }),
    delete: (id, expectedSize) =>
      write(async (db) => {
        const row = await db.row<UploadRow>(
          `DELETE FROM uploads WHERE id = $1 AND ($2::bigint IS NULL OR size = $2) RETURNING ${UPLOAD_COLUMNS}`,
          id,
          expectedSize ?? null,
        );
        return row && toUpload(row, POSTGRES);
      }),
    listStale: (before) =>
      read(async (db) =>
        (
          await db.rows<UploadRow>(
            `SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE updated_at < $1 ORDER BY updated_at, id`,
            before,
          )
        ).map((row) => toUpload(row, POSTGRES)),
      ),
  };
}
