// The blobs area's rows (BlobMetadata in metadata-store.ts), as both backends read them: a blob's
// digest, size and parts (JSON), and when it was recorded.

import type { BlobPart, BlobRecord } from "../metadata-store.ts";
import type { RowReader, StoredJson, StoredTime } from "./sql.ts";

export interface BlobRow {
  digest: string;
  size: number;
  parts: StoredJson<BlobPart[]>;
  created_at: StoredTime;
}

export const BLOB_COLUMNS = "digest, size, parts, created_at";

export function toBlob(row: BlobRow, r: RowReader): BlobRecord {
  return { digest: row.digest, size: row.size, parts: r.json(row.parts), createdAt: r.date(row.created_at) };
}

/** Parts as JSON: exactly `path` and `size`, whatever else the caller's objects carry. */
export function partsJson(parts: readonly BlobPart[]): string {
  return JSON.stringify(parts.map((part) => ({ path: part.path, size: part.size })));
}

/** One part as JSON, to append to a stored list. */
export function partJson(part: BlobPart): string {
  return JSON.stringify({ path: part.path, size: part.size });
}
