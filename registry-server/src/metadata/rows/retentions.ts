// The retentions area's rows (RetentionMetadata in lifecycle-store.ts), as both backends read
// them: a project's retention policy, Harbor's JSON kept as text, byte for byte.

import type { RetentionPolicyRecord } from "../lifecycle-store.ts";
import type { RowReader, StoredTime } from "./sql.ts";

export interface RetentionRow {
  id: number;
  project_id: number;
  policy: string;
  created_at: StoredTime;
  updated_at: StoredTime;
}

export const RETENTION_COLUMNS = "id, project_id, policy, created_at, updated_at";

export function toRetention(row: RetentionRow, r: RowReader): RetentionPolicyRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    policy: row.policy,
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
  };
}
