// Whose turn it is to write the SQLite metadata file, when several worker processes share it.
//
// SQLite lets one connection write at a time (BEGIN IMMEDIATE takes the file's write lock), and a
// connection that finds the lock taken waits in its busy handler: a synchronous sleep that stops
// the whole worker (no request of any kind is served meanwhile), with no order among waiters, so
// that a worker committing back to back can starve another until SQLITE_BUSY reaches a client.
// So the workers take turns first: the primary keeps a first-come queue, a worker asks it for the
// turn before BEGIN IMMEDIATE and gives it back after COMMIT. Waiting for the turn is an
// asynchronous wait (the worker goes on serving reads and receiving bodies), turns go in order,
// and when a worker's turn comes SQLite's lock is free unless a process outside the server (a
// backup, the sqlite3 shell) holds it, which the busy timeout still covers. Within a worker the
// store's group commit runs as before: one turn per batch of writes.
//
// Why not one writer process for the file instead: a write transaction here is a function of the
// caller's (read the quota, then link the blob, awaiting in between), which cannot be sent to
// another process; every transaction would have to become a message of its own. Taking turns
// keeps the store's contract as it is, for the price of one round trip to the primary per batch.

import type { SqliteWriteLock } from "../metadata/sqlite/store.ts";
import { MetadataUnavailableError } from "../metadata/metadata-store.ts";
import type { IpcPeer } from "./ipc-peer.ts";

export const WRITE_TURN = "write-turn";
const WRITE_TURN_RELEASE = "write-turn-release";
const WRITE_TURN_CANCEL = "write-turn-cancel";

/** How long a worker waits for its turn before its write answers 503 (the file is stuck). */
export const WRITE_TURN_TIMEOUT_MS = 30_000;

interface Turn {
  /** The worker (its cluster id, never reused) and its turn number. */
  readonly owner: number;
  readonly turn: number;
}

interface Waiting extends Turn {
  readonly grant: () => void;
}

/** The primary's side: one queue for every worker of the server. */
export class WriteTurns {
  private holder: Turn | undefined;
  private readonly queue: Waiting[] = [];

  /** Serves the turn requests of the worker `owner` that `peer` talks to. */
  attach(owner: number, peer: IpcPeer): void {
    peer.handle(WRITE_TURN, (payload) => this.acquire({ owner, turn: turnOf(payload) }));
    peer.onNote(WRITE_TURN_RELEASE, (payload) => this.release({ owner, turn: turnOf(payload) }));
    // The worker gave up waiting: forget its place, or give back the turn granted meanwhile.
    peer.onNote(WRITE_TURN_CANCEL, (payload) => this.release({ owner, turn: turnOf(payload) }));
  }

  /** The worker is gone: SQLite dropped its lock with the process, and so do the turns. */
  forget(owner: number): void {
    for (let index = this.queue.length - 1; index >= 0; index--) {
      if (this.queue[index]?.owner === owner) this.queue.splice(index, 1);
    }
    if (this.holder?.owner === owner) this.next();
  }

  /** Who holds the turn and how many wait (for tests and logs). */
  get state(): { held: boolean; waiting: number } {
    return { held: this.holder !== undefined, waiting: this.queue.length };
  }

  private acquire(turn: Turn): Promise<void> {
    return new Promise<void>((grant) => {
      this.queue.push({ ...turn, grant });
      if (!this.holder) this.next();
    });
  }

  private release(turn: Turn): void {
    if (this.holder?.owner === turn.owner && this.holder.turn === turn.turn) {
      this.next();
      return;
    }
    const index = this.queue.findIndex((waiting) => waiting.owner === turn.owner && waiting.turn === turn.turn);
    if (index >= 0) this.queue.splice(index, 1);
  }

  private next(): void {
    const waiting = this.queue.shift();
    this.holder = waiting && { owner: waiting.owner, turn: waiting.turn };
    waiting?.grant();
  }
}

function turnOf(payload: unknown): number {
  const turn = (payload as { turn?: unknown } | undefined)?.turn;
  if (typeof turn !== "number") throw new Error("a write turn message without its turn number");
  return turn;
}

/** A worker's side: the lock its SQLite store takes around each write transaction. */
export class ClusterWriteLock implements SqliteWriteLock {
  private readonly peer: IpcPeer;
  private readonly timeoutMs: number;
  private nextTurn = 1;

  constructor(peer: IpcPeer, timeoutMs = WRITE_TURN_TIMEOUT_MS) {
    this.peer = peer;
    this.timeoutMs = timeoutMs;
  }

  async acquire(): Promise<() => void> {
    const turn = this.nextTurn++;
    try {
      await this.peer.request(WRITE_TURN, { turn }, this.timeoutMs);
    } catch (error) {
      this.peer.note(WRITE_TURN_CANCEL, { turn });
      throw new MetadataUnavailableError("write turn not granted", { cause: error });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.peer.note(WRITE_TURN_RELEASE, { turn });
    };
  }
}
