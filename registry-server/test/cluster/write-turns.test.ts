// The SQLite write turns between workers, over an IPC channel made of two in-memory ends (each
// message delivered on a later turn of the event loop, as a pipe would): turns go first come,
// first served; a worker that gives up waiting loses its place (and gives back a turn granted
// meanwhile) and its write answers 503; a worker that dies gives back its turn and its places.

import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { IpcPeer, type IpcEndpoint } from "../../src/cluster/ipc-peer.ts";
import { ClusterWriteLock, WriteTurns } from "../../src/cluster/write-turns.ts";
import { MetadataUnavailableError } from "../../src/metadata/metadata-store.ts";

/** Two connected ends of a channel. */
function channel(): [IpcEndpoint, IpcEndpoint] {
  const left = new EventEmitter();
  const right = new EventEmitter();
  const end = (self: EventEmitter, other: EventEmitter): IpcEndpoint => ({
    send: (message) => setImmediate(() => other.emit("message", structuredClone(message))),
    on: (event, listener) => self.on(event, listener),
    off: (event, listener) => self.off(event, listener),
  });
  return [end(left, right), end(right, left)];
}

/** A primary keeping the turns, and `count` workers' locks connected to it. */
function workers(count: number, timeoutMs = 5_000): { turns: WriteTurns; locks: ClusterWriteLock[] } {
  const turns = new WriteTurns();
  const locks: ClusterWriteLock[] = [];
  for (let owner = 1; owner <= count; owner++) {
    const [primaryEnd, workerEnd] = channel();
    turns.attach(owner, new IpcPeer(primaryEnd));
    locks.push(new ClusterWriteLock(new IpcPeer(workerEnd), timeoutMs));
  }
  return { turns, locks };
}

function lock(locks: ClusterWriteLock[], index: number): ClusterWriteLock {
  const found = locks[index];
  if (!found) throw new Error(`no worker ${index}`);
  return found;
}

describe("write turns between workers", () => {
  it("grants one turn at a time, in the order asked", async () => {
    const { locks } = workers(3);
    const order: string[] = [];
    const take = async (index: number): Promise<void> => {
      const release = await lock(locks, index).acquire();
      order.push(`start ${index}`);
      await sleep(20);
      order.push(`end ${index}`);
      release();
    };
    await Promise.all([take(0), take(1), take(2), take(0)]);
    expect(order).toEqual(["start 0", "end 0", "start 1", "end 1", "start 2", "end 2", "start 0", "end 0"]);
  });

  it("answers 503 to a worker that waited too long, and skips its place", async () => {
    const { turns, locks } = workers(3, 100);
    const release = await lock(locks, 0).acquire();
    const late = lock(locks, 1).acquire();
    await expect(late).rejects.toBeInstanceOf(MetadataUnavailableError);
    const next = lock(locks, 2).acquire();
    release();
    // The third worker gets the turn, not the one that left.
    (await next)();
    await sleep(10);
    expect(turns.state).toEqual({ held: false, waiting: 0 });
  });

  it("passes on the turn and the places of a worker that died", async () => {
    const { turns, locks } = workers(2);
    await lock(locks, 0).acquire();
    const waiting = lock(locks, 1).acquire();
    await sleep(10);
    expect(turns.state).toEqual({ held: true, waiting: 1 });
    turns.forget(1);
    (await waiting)();
    await sleep(10);
    expect(turns.state).toEqual({ held: false, waiting: 0 });
  });
});
