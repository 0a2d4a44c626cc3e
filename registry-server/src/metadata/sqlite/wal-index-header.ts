// Tells, with one pread and no lock, whether anything was committed to a WAL-mode database since a
// given moment. SQLite keeps the WAL index in the database's `-shm` file, which every connection
// to the file maps, in this process or another; its first 96 bytes are two copies of a 48-byte
// header that every commit rewrites, with a change counter (`iChange`) it increments and the last
// valid frame of the log (https://sqlite.org/walformat.html, "The WAL-Index Header"). Two reads of
// those bytes that are equal therefore have no commit between them.
//
// Why not `PRAGMA data_version`: reading it takes the WAL read lock and, outside a transaction,
// releases it again (fcntl calls on the -shm and the database files); after the row cache, a
// read snapshot opened only to read it was the largest cost of a manifest GET left in SQLite.
//
// Where the file cannot be read (it does not exist yet, or is shorter than the header), every
// check answers "changed", so the caller falls back to asking SQLite.

import { closeSync, openSync, readSync } from "node:fs";

/** The two copies of the WAL-index header. */
const HEADER_BYTES = 96;

export class WalIndexHeader {
  readonly #shmFile: string;
  #fd: number | undefined;
  readonly #marked = Buffer.alloc(HEADER_BYTES);
  readonly #current = Buffer.alloc(HEADER_BYTES);
  #hasMark = false;

  /** `databaseFile` as SQLite was given it: the header lives in `<databaseFile>-shm`. */
  constructor(databaseFile: string) {
    this.#shmFile = `${databaseFile}-shm`;
  }

  /** Remembers the header as it is now, for `unchangedSinceMark`. */
  mark(): void {
    this.#hasMark = this.#read(this.#marked);
  }

  /** True only when the header could be read, now and at the mark, and has not changed since. */
  unchangedSinceMark(): boolean {
    return this.#hasMark && this.#read(this.#current) && this.#current.equals(this.#marked);
  }

  close(): void {
    this.#hasMark = false;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #read(into: Buffer): boolean {
    try {
      // Opened on first use: SQLite creates the file when the first connection reads in WAL
      // mode. It stays while any connection is open (SQLite removes it only when the last one
      // closes), and the store holds two for as long as it uses this.
      this.#fd ??= openSync(this.#shmFile, "r");
      return readSync(this.#fd, into, 0, HEADER_BYTES, 0) === HEADER_BYTES;
    } catch {
      return false;
    }
  }
}
