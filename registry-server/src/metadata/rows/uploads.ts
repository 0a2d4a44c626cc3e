// The uploads area's rows (UploadMetadata in metadata-store.ts), as both backends read them: a
// session's repository, digest algorithm, bytes received so far and their parts (JSON).

import type { BlobPart, DigestAlgorithm, UploadRecord } from "../metadata-store.ts";
import type { RowReader, StoredJson, StoredTime } from "./sql.ts";

export interface UploadRow {
  id: string;
  repository: string;
  algorithm: string;
  size: number;
  parts: StoredJson<BlobPart[]>;
  created_at: StoredTime;
  updated_at: StoredTime;
}

export const UPLOAD_COLUMNS = "id, repository, algorithm, size, parts, created_at, updated_at";

export function toUpload(row: UploadRow, r: RowReader): UploadRecord {
  return {
    id: row.id,
    repository: row.repository,
    algorithm: row.algorithm as DigestAlgorithm,
    size: row.size,
    parts: r.json(row.parts),
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
  };
}
