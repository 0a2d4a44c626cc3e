// The uploads area of the SQLite metadata store (UploadMetadata): its statements, bound to the
// store's connections by store.ts. Rows are in rows/uploads.ts; postgres/uploads.ts is the same
// area on PostgreSQL.

import type { UploadMetadata } from "../metadata-store.ts";
import { partJson } from "../rows/blobs.ts";
import { UPLOAD_COLUMNS, toUpload, type UploadRow } from "../rows/uploads.ts";
import { SQLITE } from "./dialect.ts";
import { ensureRepository } from "./repositories.ts";
import type { Run } from "./statements.ts";

export function uploadArea(read: Run, write: Run): UploadMetadata {
  return {
    create: (record) =>
      write((db) => {
        ensureRepository(db, record.repository, record.createdAt);
        db.run(
          `INSERT INTO uploads (${UPLOAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
          record.id,
          record.repository,
          record.algorithm,
          record.size,
          JSON.stringify(record.parts),
          record.createdAt.getTime(),
          record.updatedAt.getTime(),
        );
      }),
    get: (id) =>
      read((db) => {
        const row = db.row<UploadRow>(`SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE id = ?`, id);
        return row && toUpload(row, SQLITE);
      }),
    appendPart: (id, expectedSize, part, at) =>
      write((db) => {
        // The size test in WHERE is the compare-and-set: a stale offset changes no row.
        const row = db.row<UploadRow>(
          `UPDATE uploads
             SET size = size + ?, parts = json_insert(parts, '$[#]', json(?)), updated_at = ?
             WHERE id = ? AND size = ?
             RETURNING ${UPLOAD_COLUMNS}`,
          part.size,
          partJson(part),
          at.getTime(),
          id,
          expectedSize,
        );
        return row && toUpload(row, SQLITE);
      }),
    delete: (id, expectedSize) =>
      write((db) => {
        const row = db.row<UploadRow>(
          `DELETE FROM uploads WHERE id = ? AND (? IS NULL OR size = ?) RETURNING ${UPLOAD_COLUMNS}`,
          id,
          expectedSize ?? null,
          expectedSize ?? null,
        );
        return row && toUpload(row, SQLITE);
      }),
    listStale: (before) =>
      read((db) =>
        db
          .rows<UploadRow>(
            `SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE updated_at < ? ORDER BY updated_at, id`,
            before.getTime(),
          )
          .map((row) => toUpload(row, SQLITE)),
      ),
  };
}
