// Reads on the SQLite store's reader connection, grouped into short read transactions. Outside a
// transaction each statement takes and drops WAL read locks itself: two fcntl calls and an fstat,
// about 10 µs of a statement that otherwise runs in 1 µs, and a manifest GET makes five. The
// store's reads are synchronous underneath, so a request's reads mostly run in one go, in one
// callback and the promise continuations that follow it: they share one snapshot, closed on
// process.nextTick, which runs once those continuations are done and before the event loop takes
// any further event.
//
// Most of those reads are answered by the reader's row cache (row-cache.ts), valid while nothing
// was committed since the last snapshot validated it. Opening a snapshot only to learn that (its
// lock's fcntl calls, `PRAGMA data_version`, COMMIT) was then the largest cost left in SQLite, so
// the first read of a callback asks the WAL-index header instead (wal-index-header.ts: one pread,
// no lock): unchanged since the last snapshot began, the cache is current and the callback opens a
// snapshot only if a read reaches SQLite (`beforeStatement`); changed, it opens one at once, which
// validates the cache.
//
// Consistency: every read of a callback sees every write acknowledged, by any process, before the
// callback's event arrived; the store ends the snapshot whenever it commits a write of its own, so
// that what follows a write sees it. Reads served from the cache and a snapshot opened later in the
// same callback may differ by a commit made in between (as reads in two callbacks may): a snapshot
// never holds an older state than the cache. No lock is held between callbacks, so checkpoints and
// the log starting over are never held up by an idle reader.

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { RowCache } from "./row-cache.ts";
import type { WalIndexHeader } from "./wal-index-header.ts";

export class ReadSnapshots {
  readonly #db: DatabaseSync;
  /** Prepared once: exec() would compile them on every call. */
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #dataVersion: StatementSync;
  readonly #cache: RowCache;
  readonly #header: WalIndexHeader;
  #open = false;
  /** Whether the current callback has made its reads current (and scheduled `end`). */
  #current = false;
  /** Whether the cache was validated by a snapshot begun after the header's mark. */
  #cacheMatchesMark = false;

  constructor(db: DatabaseSync, cache: RowCache, header: WalIndexHeader) {
    this.#db = db;
    this.#cache = cache;
    this.#header = header;
    this.#begin = db.prepare("BEGIN");
    this.#commit = db.prepare("COMMIT");
    this.#dataVersion = db.prepare("PRAGMA data_version");
  }

  /** Runs `read` seeing every commit made before the current callback began. */
  run<T>(read: () => T): T {
    if (!this.#current) {
      this.#current = true;
      process.nextTick(this.end);
      if (!(this.#cacheMatchesMark && this.#header.unchangedSinceMark())) this.#start();
    }
    return read();
  }

  /** For the reader connection, before each statement it runs: the cache could not answer. */
  readonly beforeStatement = (): void => {
    if (this.#open) return;
    if (!this.#current) {
      this.#current = true;
      process.nextTick(this.end);
    }
    this.#start();
  };

  /** Ends the current snapshot, if any: the next read sees the latest commit. */
  readonly end = (): void => {
    this.#current = false;
    if (!this.#open) return;
    this.#open = false;
    if (this.#db.isTransaction) this.#commit.run();
  };

  /** Ends the snapshot and lets the header's file go: the store is closing. */
  close(): void {
    this.end();
    this.#header.close();
  }

  #start(): void {
    // The header first: the snapshot the lock below fixes then holds at least what the header
    // says, so a header unchanged later means no commit since this snapshot.
    this.#cacheMatchesMark = false;
    this.#header.mark();
    this.#begin.run();
    this.#open = true;
    // The first read of the transaction: it takes the WAL read lock, which fixes the snapshot
    // the version describes.
    try {
      this.#cache.validate(Number(this.#dataVersion.get()?.["data_version"]));
    } catch (error) {
      // A cache no snapshot vouches for could serve stale rows.
      this.#cache.clear();
      this.end();
      throw error;
    }
    this.#cacheMatchesMark = true;
  }
}
