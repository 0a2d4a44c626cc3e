// The sessions area of the SQLite metadata store (SessionMetadata): its statements, bound to the
// store's connections by store.ts. Rows are in rows/sessions.ts; postgres/sessions.ts is the same
// area on PostgreSQL.

import { SESSION_COLUMNS, toSession, type SessionRow } from "../rows/sessions.ts";
import type { SessionMetadata } from "../session-store.ts";
import { SQLITE } from "./dialect.ts";
import type { Run } from "./statements.ts";

export function sessionArea(read: Run, write: Run): SessionMetadata {
  return {
    create: (session, maxPerUser) =>
      write((db) => {
        db.run(
          `INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
          session.idHash,
          session.userId,
          session.createdAt.getTime(),
          session.createdAt.getTime(),
          session.expiresAt.getTime(),
        );
        // The user's newest `maxPerUser` stay (the one just made among them); older ones go.
        db.run(
          `DELETE FROM sessions WHERE user_id = ? AND id_hash NOT IN (
             SELECT id_hash FROM sessions WHERE user_id = ? ORDER BY created_at DESC, id_hash DESC LIMIT ?)`,
          session.userId,
          session.userId,
          Math.max(1, Math.floor(maxPerUser)),
        );
      }),
    get: (idHash) =>
      read((db) => {
        const row = db.row<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id_hash = ?`, idHash);
        return row && toSession(row, SQLITE);
      }),
    touch: (idHash, at) =>
      write(
        (db) =>
          db.run("UPDATE sessions SET last_seen_at = max(last_seen_at, ?) WHERE id_hash = ?", at.getTime(), idHash) > 0,
      ),
    delete: (idHash) => write((db) => db.run("DELETE FROM sessions WHERE id_hash = ?", idHash) > 0),
    deleteForUser: (userId, keepIdHash) =>
      write((db) => db.run("DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?", userId, keepIdHash ?? "")),
    purge: (now, idleSince) =>
      write((db) =>
        db.run("DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?", now.getTime(), idleSince.getTime()),
      ),
  };
}
