// The lifecycle area of the SQLite metadata store (LifecycleMetadata): pull times, pins, and the
// artifacts retention and expiry evaluate; its statements, bound to the store's connections by
// store.ts. Rows and reads are in rows/lifecycle.ts; postgres/lifecycle.ts is the same area on
// PostgreSQL.

import type { LifecycleMetadata } from "../lifecycle-store.ts";
import {
  lifecycleStatements,
  toLifecycleArtifacts,
  type LifecycleManifestRow,
  type LifecycleTagRow,
  type PinRow,
} from "../rows/lifecycle.ts";
import { SQLITE } from "./dialect.ts";
import type { Run } from "./statements.ts";

export function lifecycleArea(read: Run, write: Run): LifecycleMetadata {
  return {
    recordPulls: (pulls) =>
      write((db) => {
        for (const pull of pulls) {
          db.run(
            `UPDATE manifests SET pulled_at = ?
               WHERE repository = ? AND digest = ? AND (pulled_at IS NULL OR pulled_at < ?)`,
            pull.at.getTime(),
            pull.repository,
            pull.digest,
            pull.at.getTime(),
          );
        }
      }),
    artifacts: (repository) =>
      read((db) => {
        const { manifests, tags, pins } = lifecycleStatements(SQLITE, repository);
        return toLifecycleArtifacts(
          repository,
          db.rows<LifecycleManifestRow>(manifests.sql, ...manifests.params),
          db.rows<LifecycleTagRow>(tags.sql, ...tags.params),
          db.rows<PinRow>(pins.sql, ...pins.params),
          SQLITE,
        );
      }),
    pin: (key, reason, at) =>
      write((db) => {
        if (!db.row("SELECT 1 FROM manifests WHERE repository = ? AND digest = ?", key.repository, key.digest)) {
          return false;
        }
        db.run(
          `INSERT INTO artifact_pins (repository, digest, reason, created_at) VALUES (?, ?, ?, ?)
             ON CONFLICT DO NOTHING`,
          key.repository,
          key.digest,
          reason,
          at.getTime(),
        );
        return true;
      }),
    unpin: (key, reason) =>
      write(
        (db) =>
          db.run(
            "DELETE FROM artifact_pins WHERE repository = ? AND digest = ? AND reason = ?",
            key.repository,
            key.digest,
            reason,
          ) > 0,
      ),
  };
}
