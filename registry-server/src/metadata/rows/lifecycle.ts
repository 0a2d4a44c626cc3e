// The lifecycle area's rows (LifecycleMetadata in lifecycle-store.ts), as both backends read
// them: a repository's manifests with their pull times, their tags and their pins, put together
// into the artifacts retention and expiry evaluate.

import type { LifecycleArtifact, PinReason } from "../lifecycle-store.ts";
import { Conditions, type Dialect, type RowReader, type Statement, type StoredBool, type StoredTime } from "./sql.ts";

export interface LifecycleManifestRow {
  digest: string;
  size: number;
  created_at: StoredTime;
  pulled_at: StoredTime | null;
  subject: string | null;
  /** Whether an index of the repository lists it. */
  listed: StoredBool;
}

export interface LifecycleTagRow {
  digest: string;
  name: string;
  updated_at: StoredTime;
}

export interface PinRow {
  digest: string;
  reason: string;
}

/** The three reads of a repository's artifacts: its manifests by digest, tags by name, pins by reason. */
export function lifecycleStatements<V>(
  d: Dialect<V>,
  repository: string,
): { manifests: Statement<V>; tags: Statement<V>; pins: Statement<V> } {
  const of = (column: string) => new Conditions(d).equals(column, repository);
  const manifests = of("m.repository");
  const tags = of("repository");
  const pins = of("repository");
  return {
    manifests: {
      sql: `SELECT m.digest, m.size, m.created_at, m.pulled_at, m.subject,
          EXISTS (SELECT 1 FROM manifest_child_refs c WHERE c.repository = m.repository AND c.child_digest = m.digest)
            AS listed
        FROM manifests m ${manifests.toString()} ORDER BY m.digest`,
      params: manifests.params,
    },
    tags: { sql: `SELECT digest, name, updated_at FROM tags ${tags.toString()} ORDER BY name`, params: tags.params },
    pins: { sql: `SELECT digest, reason FROM artifact_pins ${pins.toString()} ORDER BY reason`, params: pins.params },
  };
}

/** The repository's artifacts, from its manifests (by digest), tags (by name) and pins (by reason). */
export function toLifecycleArtifacts(
  repository: string,
  manifests: readonly LifecycleManifestRow[],
  tags: readonly LifecycleTagRow[],
  pins: readonly PinRow[],
  r: RowReader,
): LifecycleArtifact[] {
  const tagsOf = new Map<string, Array<{ name: string; pushedAt: Date }>>();
  for (const tag of tags) {
    const list = tagsOf.get(tag.digest) ?? [];
    list.push({ name: tag.name, pushedAt: r.date(tag.updated_at) });
    tagsOf.set(tag.digest, list);
  }
  const pinsOf = new Map<string, PinReason[]>();
  for (const pin of pins) {
    const list = pinsOf.get(pin.digest) ?? [];
    list.push(pin.reason as PinReason);
    pinsOf.set(pin.digest, list);
  }
  return manifests.map((row) => ({
    repository,
    digest: row.digest,
    size: row.size,
    pushedAt: r.date(row.created_at),
    ...(row.pulled_at !== null && { pulledAt: r.date(row.pulled_at) }),
    tags: tagsOf.get(row.digest) ?? [],
    ...(row.subject !== null && { subject: row.subject }),
    listedByIndex: r.flag(row.listed),
    pins: pinsOf.get(row.digest) ?? [],
  }));
}
