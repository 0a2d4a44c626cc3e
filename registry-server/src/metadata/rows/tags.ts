// The tags area's rows (TagMetadata in metadata-store.ts), as both backends read them: a tag of a
// repository, the manifest it points at and when it was last pointed there. The management API's
// view of tags (ids) is in artifacts.ts.

import type { TagRecord } from "../metadata-store.ts";
import type { RowReader, StoredTime } from "./sql.ts";

export interface TagRow {
  repository: string;
  name: string;
  digest: string;
  updated_at: StoredTime;
}

export const TAG_COLUMNS = "repository, name, digest, updated_at";

export function toTag(row: TagRow, r: RowReader): TagRecord {
  return { repository: row.repository, name: row.name, digest: row.digest, updatedAt: r.date(row.updated_at) };
}
