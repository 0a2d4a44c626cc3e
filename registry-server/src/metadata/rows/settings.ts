// The settings area's rows (SettingsMetadata in settings-store.ts), as both backends read them:
// one JSON value per key.

import type { RowReader, StoredJson } from "./sql.ts";

export interface SettingRow {
  key: string;
  value: StoredJson<unknown>;
}

/** Every stored setting by key. */
export function toSettings(rows: readonly SettingRow[], r: RowReader): Record<string, unknown> {
  return Object.fromEntries(rows.map((row) => [row.key, r.json(row.value)]));
}
