// Makes committed transactions durable off the event loop: the fsync of SQLite's write-ahead log,
// which `synchronous = FULL` runs inside COMMIT, here runs in libuv's thread pool, and a write is
// reported done only once it has.
//
// Why: node:sqlite is synchronous, so under FULL the event loop waited for the disk at every
// commit; pushing small images, a third of the loop's time went to it (bench/profiles/README.md).
// The store now commits with `synchronous = NORMAL` (SQLite writes the log without syncing it;
// it still syncs it before each checkpoint, and the database after) and calls `sync()` after
// each COMMIT, before it resolves the writes of that commit. fdatasync on a descriptor of our
// own flushes the file whoever wrote it. A commit is durable before its writer hears of it, as
// before; what changes is that another request may read it a moment before it is durable, while
// the sync runs (a power cut then loses a write nobody was told had succeeded, and that a reader
// saw).
//
// Syncs never overlap: the commits made while one runs share the next. The log file stays as long
// as a connection is open (SQLite removes it when the last one closes, after a checkpoint into
// the database file, which it syncs).

import { open, type FileHandle } from "node:fs/promises";

export class WalSync {
  readonly #walFile: string;
  #handle: Promise<FileHandle> | undefined;
  /** The sync running now, and the one the commits made meanwhile wait for. */
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  constructor(databaseFile: string) {
    this.#walFile = `${databaseFile}-wal`;
  }

  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void> {
    // The sync running now may have started before the caller's commit: wait for the next one.
    this.#next ??= (this.#running ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        const started = this.#flush();
        this.#running = started;
        this.#next = undefined;
        return started;
      });
    return this.#next;
  }

  /** Waits for the syncs in flight, then lets the log file go. */
  async close(): Promise<void> {
    await this.#next?.catch(() => undefined);
    await this.#running?.catch(() => undefined);
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.then((opened) => opened.close()).catch(() => undefined);
  }

  async #flush(): Promise<void> {
    // Opened on the first sync: the log file exists once something was committed.
    this.#handle ??= open(this.#walFile, "r");
    try {
      await (await this.#handle).datasync();
    } catch (error) {
      // Opened again next time (a failed open, or a descriptor gone bad).
      const handle = this.#handle;
      this.#handle = undefined;
      await handle.then((opened) => opened.close()).catch(() => undefined);
      throw error;
    }
  }
}
