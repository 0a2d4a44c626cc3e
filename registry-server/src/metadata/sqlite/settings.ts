// The settings area of the SQLite metadata store (SettingsMetadata): its statements, bound to the
// store's connections by store.ts. Rows are in rows/settings.ts; postgres/settings.ts is the same
// area on PostgreSQL.

import { toSettings, type SettingRow } from "../rows/settings.ts";
import type { SettingsMetadata } from "../settings-store.ts";
import { SQLITE } from "./dialect.ts";
import type { Run } from "./statements.ts";

export function settingsArea(read: Run, write: Run): SettingsMetadata {
  return {
    all: () =>
      read((db) => toSettings(db.rows<SettingRow>("SELECT key, value FROM system_settings ORDER BY key"), SQLITE)),
    put: (values, at) =>
      write((db) => {
        for (const [key, value] of Object.entries(values)) {
          if (value === undefined) continue;
          db.run(
            `INSERT INTO system_settings (key, value, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
            key,
            JSON.stringify(value),
            at.getTime(),
          );
        }
      }),
  };
}
