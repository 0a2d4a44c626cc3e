// The sessions area's rows (SessionMetadata in session-store.ts), as both backends read them.

import type { SessionRecord } from "../session-store.ts";
import type { RowReader, StoredTime } from "./sql.ts";

export interface SessionRow {
  id_hash: string;
  user_id: number;
  created_at: StoredTime;
  last_seen_at: StoredTime;
  expires_at: StoredTime;
}

export const SESSION_COLUMNS = "id_hash, user_id, created_at, last_seen_at, expires_at";

export function toSession(row: SessionRow, r: RowReader): SessionRecord {
  return {
    idHash: row.id_hash,
    userId: Number(row.user_id),
    createdAt: r.date(row.created_at),
    lastSeenAt: r.date(row.last_seen_at),
    expiresAt: r.date(row.expires_at),
  };
}
