// The settings area of the PostgreSQL metadata store: the queries, written against `Db`, bound to
// the store's connections by postgres-store.ts. The table comes from postgres-schema.ts; the
// semantics are the SQLite store's (sqlite-settings.ts).

import type { Run } from "./connection.ts";
import type { SettingsMetadata } from "../settings-store.ts";

export function settingsArea(read: Run, write: Run): SettingsMetadata {
  return {
    all: () =>
      read(async (db) => {
        const rows = await db.rows<{ key: string; value: unknown }>(
          "SELECT key, value FROM system_settings ORDER BY key",
        );
        return Object.fromEntries(rows.map((row) => [row.key, row.value]));
      }),
    put: (values, at) =>
      write(async (db) => {
        for (const [key, value] of Object.entries(values)) {
          if (value === undefined) continue;
          await db.run(
            `INSERT INTO system_settings (key, value, updated_at) VALUES ($1, $2::jsonb, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
            key,
            JSON.stringify(value),
            at,
          );
        }
      }),
  };
}
