// The blobs area's rows (BlobMetadata in metadata-store.ts), as both backends read them: a blob's
// digest, size and parts (JSON), and when it was recorded; and its claims, the one rule of when
// a claim writes, written once.

import { PUSH_TIME_RESOLUTION_MS, type BlobPart, type BlobRecord } from "../metadata-store.ts";
import { Conditions, type Dialect, type RowReader, type Statement, type StoredJson, type StoredTime } from "./sql.ts";

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

/** The recorded blobs among `digests` (`digest AS name`). */
export function recordedBlobs<V>(d: Dialect<V>, digests: readonly string[]): Statement<V> {
  const where = new Conditions(d).among("digest", digests);
  return { sql: `SELECT digest AS name FROM blobs ${where.toString()}`, params: where.params };
}

/**
 * Claims the recorded blobs among `digests` at `at`: writes only those last claimed more than
 * PUSH_TIME_RESOLUTION_MS before (metadata-store.ts says why), so never backwards.
 */
export function claimBlobs<V>(d: Dialect<V>, digests: readonly string[], at: Date): Statement<V> {
  const where = new Conditions(d);
  const time = where.bind(d.time(at));
  const before = new Date(at.getTime() - PUSH_TIME_RESOLUTION_MS);
  where.among("digest", digests).add((p) => `touched_at < ${p(d.time(before))}`);
  return { sql: `UPDATE blobs SET touched_at = ${time} ${where.toString()}`, params: where.params };
}
