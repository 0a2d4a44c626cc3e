// The settings area of the SQLite metadata store: its table (a schema step appended to
// sqlite-store.ts's migrations) and its queries, which sqlite-store.ts wires to its connections
// and transactions as it does the other areas'.

import type { SettingsMetadata } from "../settings-store.ts";
import { Db } from "./statements.ts";

/** The settings queries on one connection, synchronous. */
export class SettingsQueries extends Db {
  all(): Record<string, unknown> {
    const rows = this.rows<{ key: string; value: string }>("SELECT key, value FROM system_settings ORDER BY key");
    return Object.fromEntries(rows.map((row) => [row.key, JSON.parse(row.value) as unknown]));
  }

  put(values: Readonly<Record<string, unknown>>, at: Date): void {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) continue;
      this.run(
        `INSERT INTO system_settings (key, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        key,
        JSON.stringify(value),
        at.getTime(),
      );
    }
  }
}

type SettingsRun = <T>(query: (queries: SettingsQueries) => T) => Promise<T>;

/** The settings area, reads through `read` and writes (one transaction each) through `write`. */
export function bindSettingsArea(read: SettingsRun, write: SettingsRun): SettingsMetadata {
  return {
    all: () => read((q) => q.all()),
    put: (values, at) => write((q) => q.put(values, at)),
  };
}
