// The reader connection's cache of the hot lookups' rows (a project or a user by name, a tag, a
// manifest and its content, a blob and its link to a repository): a manifest GET or a blob HEAD
// made five to seven queries, each ~5–15 µs, to read rows that change a few times a day.
//
// Correct across processes without any message between them: SQLite's `PRAGMA data_version`
// changes whenever another connection, in this process or another, has committed since this
// connection last looked. The store reads it as each read snapshot opens (read-snapshot.ts), and
// the cache forgets everything when it moved. A row served from the cache is therefore the row
// the snapshot's own query would have read: no commit happened anywhere since it was read. The
// writer's connection has no cache (inside a transaction it must see its own writes).
//
// Rows are shared between callers: they are frozen, so that a caller that mutated one would fail
// loudly instead of changing what the next request reads.

import type { SQLInputValue } from "node:sqlite";

/** Bounds: far above what the hot lookups of a busy registry hold, far below a process's memory. */
export const ROW_CACHE_MAX_ENTRIES = 4096;
export const ROW_CACHE_MAX_BYTES = 8 * 1024 * 1024;

/** The map's value for a lookup that found no row (also worth remembering: a HEAD of a missing blob). */
const NO_ROW = Symbol("no row");

export class RowCache {
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  /** Rows by statement, then by parameters. */
  #rows = new Map<string, Map<string, unknown>>();
  #entries = 0;
  #bytes = 0;
  #version: number | undefined;

  constructor(maxEntries = ROW_CACHE_MAX_ENTRIES, maxBytes = ROW_CACHE_MAX_BYTES) {
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
  }

  /** Keeps the rows if the database's version is the one they were read at, else forgets them. */
  validate(version: number): void {
    if (version !== this.#version) {
      this.clear();
      this.#version = version;
    }
  }

  /** The row `sql` returns for `params`, read through `query` unless the cache holds it. */
  row<R>(sql: string, params: readonly SQLInputValue[], query: () => R | undefined): R | undefined {
    const key = keyOf(params);
    if (key === undefined) return query();
    let rows = this.#rows.get(sql);
    const cached = rows?.get(key);
    if (cached !== undefined) return cached === NO_ROW ? undefined : (cached as R);
    const row = query();
    const bytes = key.length + sizeOf(row);
    // Larger than the whole cache: served, never kept, and the rows already kept stay.
    if (bytes > this.#maxBytes) return row;
    if (this.#entries + 1 > this.#maxEntries || this.#bytes + bytes > this.#maxBytes) this.clear();
    if (!rows) {
      rows = new Map();
      this.#rows.set(sql, rows);
    }
    rows.set(key, row === undefined ? NO_ROW : Object.freeze(row));
    this.#entries += 1;
    this.#bytes += bytes;
    return row;
  }

  clear(): void {
    if (this.#entries === 0) return;
    this.#rows = new Map();
    this.#entries = 0;
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries;
  }
}

/**
 * The cache key of a lookup's parameters: the hot lookups take names and digests. Anything else
 * (numbers, bytes, a string holding the separator) is not cached rather than risk two lookups
 * sharing a key.
 */
function keyOf(params: readonly SQLInputValue[]): string | undefined {
  if (params.length === 1) {
    const only = params[0];
    return typeof only === "string" ? only : undefined;
  }
  const strings: string[] = [];
  for (const param of params) {
    if (typeof param !== "string" || param.includes("\0")) return undefined;
    strings.push(param);
  }
  return strings.join("\0");
}

/** Roughly the memory a row holds: its strings and byte arrays (the rest is small and bounded). */
function sizeOf(row: unknown): number {
  if (row === undefined || row === null || typeof row !== "object") return 16;
  let bytes = 64;
  for (const value of Object.values(row)) {
    if (typeof value === "string") bytes += value.length * 2;
    else if (value instanceof Uint8Array) bytes += value.byteLength;
    else bytes += 16;
  }
  return bytes;
}
