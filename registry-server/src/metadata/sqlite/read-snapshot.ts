// Reads on the SQLite store's reader connection, grouped into short read transactions. Outside a
// transaction each statement takes and drops WAL read locks itself: two fcntl calls and an fstat,
// about 10 µs of a statement that otherwise runs in 1 µs, and a manifest GET makes five. The
// store's reads are synchronous underneath, so a request's reads mostly run in one go, in one
// callback and the promise continuations that follow it: they share one snapshot, opened by the
// first read and closed on process.nextTick, which runs once those continuations are done and
// before the event loop takes any further event.
//
// Consistency: a snapshot starts inside the callback whose reads use it, so it holds every write
// that was acknowledged, by any process, before that callback's event arrived; and the store
// ends it whenever it commits a write of its own, so that what follows a write sees it. Each
// snapshot starts by reading the database's version, which tells the reader's row cache whether
// anything was committed since its rows were read (row-cache.ts).

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { RowCache } from "./row-cache.ts";

export class ReadSnapshots {
  readonly #db: DatabaseSync;
  /** Prepared once: exec() would compile them on every call. */
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #dataVersion: StatementSync;
  readonly #cache: RowCache;
  #open = false;

  constructor(db: DatabaseSync, cache: RowCache) {
    this.#db = db;
    this.#cache = cache;
    this.#begin = db.prepare("BEGIN");
    this.#commit = db.prepare("COMMIT");
    this.#dataVersion = db.prepare("PRAGMA data_version");
  }

  /** Runs `read` in the current snapshot, opening one when there is none. */
  run<T>(read: () => T): T {
    if (!this.#open) {
      this.#begin.run();
      this.#open = true;
      process.nextTick(this.end);
      // The first read of the transaction: it takes the WAL read lock, which fixes the snapshot
      // the version describes.
      this.#cache.validate(Number(this.#dataVersion.get()?.["data_version"]));
    }
    return read();
  }

  /** Ends the current snapshot, if any: the next read sees the latest commit. */
  readonly end = (): void => {
    if (!this.#open) return;
    this.#open = false;
    if (this.#db.isTransaction) this.#commit.run();
  };
}
