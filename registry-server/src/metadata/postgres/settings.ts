// The settings area of the PostgreSQL metadata store (SettingsMetadata): its statements, bound to
// the store's connections by store.ts. Rows are in rows/settings.ts; sqlite/settings.ts is the
// same area on SQLite.

import { toSettings, type SettingRow } from "../rows/settings.ts";
import type { SettingsMetadata } from "../settings-store.ts";
import type { Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

export function settingsArea(read: Run, write: Run): SettingsMetadata {
  return {
    all: () =>
      read(async (db) =>
        toSettings(await db.rows<SettingRow>("SELECT key, value FROM system_settings ORDER BY key"), POSTGRES),
      ),
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
