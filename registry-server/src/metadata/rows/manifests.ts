// The manifests area's rows (ManifestMetadata in metadata-store.ts), as both backends read them:
// a manifest of a repository with what the referrers API and Harbor report of it. Its exact
// bytes (manifest_contents) and references (manifest_blob_refs, manifest_child_refs) are read by
// the backends' own statements.

import type { ManifestRecord } from "../metadata-store.ts";
import type { RowReader, StoredJson, StoredTime } from "./sql.ts";

export interface ManifestRow {
  repository: string;
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  subject: string | null;
  annotations: StoredJson<Record<string, string>> | null;
  created_at: StoredTime;
  config_media_type: string | null;
}

export const MANIFEST_COLUMNS =
  "repository, digest, media_type, size, artifact_type, subject, annotations, created_at, config_media_type";

export function toManifest(row: ManifestRow, r: RowReader): ManifestRecord {
  return {
    repository: row.repository,
    digest: row.digest,
    mediaType: row.media_type,
    size: row.size,
    ...(row.artifact_type !== null && { artifactType: row.artifact_type }),
    ...(row.subject !== null && { subject: row.subject }),
    ...(row.annotations !== null && { annotations: r.json(row.annotations) }),
    ...(row.config_media_type !== null && { configMediaType: row.config_media_type }),
    createdAt: r.date(row.created_at),
  };
}

/** The annotations as stored (JSON text; PostgreSQL's json keeps their order), or NULL. */
export function annotationsJson(record: ManifestRecord): string | null {
  return record.annotations ? JSON.stringify(record.annotations) : null;
}
