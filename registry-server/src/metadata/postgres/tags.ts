// The tags area of the PostgreSQL metadata store (TagMetadata): its statements, bound to the
// store's connections by store.ts. Rows are in rows/tags.ts; sqlite/tags.ts is the same area on
// SQLite.

import type { TagMetadata } from "../metadata-store.ts";
import { TAG_COLUMNS, toTag, type TagRow } from "../rows/tags.ts";
import type { Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

export function tagArea(read: Run, write: Run): TagMetadata {
  return {
    get: (repository, name) =>
      read(async (db) => {
        const row = await db.row<TagRow>(
          `SELECT ${TAG_COLUMNS} FROM tags WHERE repository = $1 AND name = $2`,
          repository,
          name,
        );
        return row && toTag(row, POSTGRES);
      }),
    put: (repository, name, digest, at) =>
      write(async (db) => {
        await db.run(
          `INSERT INTO tags (${TAG_COLUMNS}) VALUES ($1, $2, $3, $4)
             ON CONFLICT (repository, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
          repository,
          name,
          digest,
          at,
        );
      }),
    delete: (repository, name) =>
      write(async (db) => (await db.run("DELETE FROM tags WHERE repository = $1 AND name = $2", repository, name)) > 0),
    // Tag names are never empty, so "> ''" is "from the start". COLLATE "C": byte order.
    list: (repository, page) =>
      read((db) =>
        db.names(
          "SELECT name FROM tags WHERE repository = $1 AND name > $2 ORDER BY name LIMIT $3",
          repository,
          page.after ?? "",
          POSTGRES.limit(page.limit),
        ),
      ),
    forDigest: (repository, digest) =>
      read((db) =>
        db.names("SELECT name FROM tags WHERE repository = $1 AND digest = $2 ORDER BY name", repository, digest),
      ),
  };
}
