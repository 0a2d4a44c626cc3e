// The sessions area of the PostgreSQL metadata store (SessionMetadata): its statements, bound to
// the store's connections by store.ts. Rows are in rows/sessions.ts; sqlite/sessions.ts is the
// same area on SQLite.

import { SESSION_COLUMNS, toSession, type SessionRow } from "../rows/sessions.ts";
import type { SessionMetadata } from "../session-store.ts";
import type { Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

export function sessionArea(read: Run, write: Run): SessionMetadata {
  return {
    create: (session, maxPerUser) =>
      write(async (db) => {
        await db.run(
          `INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)`,
          session.idHash,
          session.userId,
          session.createdAt,
          session.expiresAt,
        );
        // The user's newest `maxPerUser` stay (the one just made among them); older ones go.
        await db.run(
          `DELETE FROM sessions WHERE user_id = $1 AND id_hash NOT IN (
             SELECT id_hash FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id_hash DESC LIMIT $2)`,
          session.userId,
          Math.max(1, Math.floor(maxPerUser)),
        );
      }),
    get: (idHash) =>
      read(async (db) => {
        const row = await db.row<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id_hash = $1`, idHash);
        return row && toSession(row, POSTGRES);
      }),
    touch: async (idHash, at) =>
      write(
        async (db) =>
          (await db.run(
            "UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, $1) WHERE id_hash = $2",
            at,
            idHash,
          )) > 0,
      ),
    delete: (idHash) => write(async (db) => (await db.run("DELETE FROM sessions WHERE id_hash = $1", idHash)) > 0),
    deleteForUser: (userId, keepIdHash) =>
      write((db) => db.run("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2", userId, keepIdHash ?? "")),
    purge: (now, idleSince) =>
      write((db) => db.run("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2", now, idleSince)),
  };
}
