// The tags area of the SQLite metadata store (TagMetadata): its statements, bound to the store's
// connections by store.ts. Rows are in rows/tags.ts; postgres/tags.ts is the same area on
// PostgreSQL.

import type { TagMetadata } from "../metadata-store.ts";
import { TAG_COLUMNS, toTag, type TagRow } from "../rows/tags.ts";
import { SQLITE } from "./dialect.ts";
import type { Run } from "./statements.ts";

export function tagArea(read: Run, write: Run): TagMetadata {
  return {
    get: (repository, name) =>
      read((db) => {
        const row = db.cachedRow<TagRow>(
          `SELECT ${TAG_COLUMNS} FROM tags WHERE repository = ? AND name = ?`,
          repository,
          name,
        );
        return row && toTag(row, SQLITE);
      }),
    put: (repository, name, digest, at) =>
      write((db) => {
        db.run(
          `INSERT INTO tags (${TAG_COLUMNS}) VALUES (?, ?, ?, ?)
             ON CONFLICT (repository, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
          repository,
          name,
          digest,
          at.getTime(),
        );
      }),
    delete: (repository, name) =>
      write((db) => db.run("DELETE FROM tags WHERE repository = ? AND name = ?", repository, name) > 0),
    // Tag names are never empty, so "> ''" is "from the start". BINARY collation: byte order.
    list: (repository, page) =>
      read((db) =>
        db.names(
          "SELECT name FROM tags WHERE repository = ? AND name > ? ORDER BY name LIMIT ?",
          repository,
          page.after ?? "",
          SQLITE.limit(page.limit),
        ),
      ),
    forDigest: (repository, digest) =>
      read((db) =>
        db.names("SELECT name FROM tags WHERE repository = ? AND digest = ? ORDER BY name", repository, digest),
      ),
  };
}
