// The lifecycle area of the PostgreSQL metadata store (LifecycleMetadata): pull times, pins, and
// the artifacts retention and expiry evaluate; its statements, bound to the store's connections by
// store.ts. Rows and reads are in rows/lifecycle.ts; sqlite/lifecycle.ts is the same area on
// SQLite.

import type { LifecycleMetadata } from "../lifecycle-store.ts";
import {
  lifecycleStatements,
  toLifecycleArtifacts,
  type LifecycleManifestRow,
  type LifecycleTagRow,
  type PinRow,
} from "../rows/lifecycle.ts";
import type { Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

export function lifecycleArea(read: Run, write: Run): LifecycleMetadata {
  return {
    recordPulls: (pulls) =>
      write(async (db) => {
        for (const pull of pulls) {
          await db.run(
            `UPDATE manifests SET pulled_at = $3
               WHERE repository = $1 AND digest = $2 AND (pulled_at IS NULL OR pulled_at < $3)`,
            pull.repository,
            pull.digest,
            pull.at,
          );
        }
      }),
    artifacts: (repository) =>
      read(async (db) => {
        const { manifests, tags, pins } = lifecycleStatements(POSTGRES, repository);
        return toLifecycleArtifacts(
          repository,
          await db.rows<LifecycleManifestRow>(manifests.sql, ...manifests.params),
          await db.rows<LifecycleTagRow>(tags.sql, ...tags.params),
          await db.rows<PinRow>(pins.sql, ...pins.params),
          POSTGRES,
        );
      }),
    pin: (key, reason, at) =>
      write(async (db) => {
        if (
          !(await db.row("SELECT 1 FROM manifests WHERE repository = $1 AND digest = $2", key.repository, key.digest))
        ) {
          return false;
        }
        await db.run(
          `INSERT INTO artifact_pins (repository, digest, reason, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING`,
          key.repository,
          key.digest,
          reason,
          at,
        );
        return true;
      }),
    unpin: (key, reason) =>
      write(
        async (db) =>
          (await db.run(
            "DELETE FROM artifact_pins WHERE repository = $1 AND digest = $2 AND reason = $3",
            key.repository,
            key.digest,
            reason,
          )) > 0,
      ),
  };
}
