// The garbage collection area's rows (GcMetadata in lifecycle-store.ts), as both backends read
// them, and its two selections written once: the candidate blobs of a sweep and the untagged
// manifests of `delete_untagged`. The conditional deletion that dooms a blob's parts is each
// backend's own statement, over the same condition (`UNREFERENCED`).

import type { GcBlob, ManifestKey } from "../lifecycle-store.ts";
import type { BlobPart } from "../metadata-store.ts";
import { Conditions, type Dialect, type RowReader, type Statement, type StoredJson } from "./sql.ts";

export interface GcBlobRow {
  digest: string;
  size: number;
  parts: StoredJson<BlobPart[]>;
}

export const GC_BLOB_COLUMNS = "digest, size, parts";

export function toGcBlob(row: GcBlobRow, r: RowReader): GcBlob {
  return { digest: row.digest, size: row.size, parts: r.json(row.parts) };
}

/** SQL true when no manifest of any repository references the blob of the `blobs` row. */
export const UNREFERENCED = "NOT EXISTS (SELECT 1 FROM manifest_blob_refs r WHERE r.blob_digest = blobs.digest)";

/** Recorded blobs no manifest references and not claimed since `cutoff`, by digest after `after`. */
export function candidateBlobs<V>(
  d: Dialect<V>,
  cutoff: Date,
  page: { readonly after?: string; readonly limit: number },
): Statement<V> {
  const where = new Conditions(d).add((p) => `touched_at < ${p(d.time(cutoff))}`).add(UNREFERENCED);
  const after = page.after;
  if (after !== undefined) where.add((p) => `digest > ${p(after)}`);
  const limit = where.bind(Math.max(0, Math.floor(page.limit)));
  return {
    sql: `SELECT ${GC_BLOB_COLUMNS} FROM blobs ${where.toString()} ORDER BY digest LIMIT ${limit}`,
    params: where.params,
  };
}

export interface UntaggedManifestRow {
  repository: string;
  digest: string;
  size: number;
}

/**
 * Manifests without a tag, pushed before `cutoff`, in no index of their repository, unpinned,
 * without a subject or with one the repository no longer holds, by (repository, digest) after
 * `page.after`.
 */
export function untaggedManifests<V>(
  d: Dialect<V>,
  cutoff: Date,
  page: { readonly after?: ManifestKey; readonly limit: number },
): Statement<V> {
  const where = new Conditions(d)
    .add((p) => `m.created_at < ${p(d.time(cutoff))}`)
    .add("NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository = m.repository AND t.digest = m.digest)")
    .add(
      "NOT EXISTS (SELECT 1 FROM manifest_child_refs c WHERE c.repository = m.repository AND c.child_digest = m.digest)",
    )
    .add("NOT EXISTS (SELECT 1 FROM artifact_pins p WHERE p.repository = m.repository AND p.digest = m.digest)")
    .add(
      "(m.subject IS NULL OR NOT EXISTS (SELECT 1 FROM manifests s WHERE s.repository = m.repository AND s.digest = m.subject))",
    );
  const after = page.after;
  if (after) where.add((p) => `(m.repository, m.digest) > (${p(after.repository)}, ${p(after.digest)})`);
  const limit = where.bind(Math.max(0, Math.floor(page.limit)));
  return {
    sql: `SELECT m.repository, m.digest, m.size FROM manifests m ${where.toString()}
      ORDER BY m.repository, m.digest LIMIT ${limit}`,
    params: where.params,
  };
}

export function toUntaggedManifest(row: UntaggedManifestRow): ManifestKey & { readonly size: number } {
  return { repository: row.repository, digest: row.digest, size: row.size };
}

/** How many manifests reference each of `digests` (`blob_digest AS digest, count AS n`). */
export function referenceCounts<V>(d: Dialect<V>, digests: readonly string[]): Statement<V> {
  const where = new Conditions(d).among("blob_digest", digests);
  return {
    sql: `SELECT blob_digest AS digest, count(*) AS n FROM manifest_blob_refs ${where.toString()} GROUP BY blob_digest`,
    params: where.params,
  };
}
