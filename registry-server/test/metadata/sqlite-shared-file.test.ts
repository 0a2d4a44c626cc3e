// The SQLite store when other processes write its file (a server's worker processes, a backup):
// each batch of writes takes the write lock it is given before BEGIN IMMEDIATE, the writes queued
// meanwhile share that batch's commit, one store sees another's commits, and a lock held from
// outside past the busy timeout fails the waiting writes instead of leaving them waiting for ever.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openSqliteStore, type SqliteWriteLock } from "../../src/metadata/sqlite/store.ts";
import { within } from "./postgres-database.ts";

/** A lock shared by the stores of this test, in turn, logging what happens under it. */
class TurnLog implements SqliteWriteLock {
  readonly events: string[] = [];
  private tail: Promise<void> = Promise.resolve();
  private readonly delayMs: number;

  constructor(delayMs: number) {
    this.delayMs = delayMs;
  }

  acquire(): Promise<() => void> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const granted = this.tail.then(async () => {
      await sleep(this.delayMs);
      this.events.push("acquired");
    });
    this.tail = granted.then(() => released);
    return granted.then(() => () => {
      this.events.push("released");
      release();
    });
  }
}

describe("the SQLite store sharing its file", () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function open(file: string, writeLock?: SqliteWriteLock): Promise<MetadataStore> {
    const store = await openSqliteStore(file, { writeLock });
    cleanup.push(() => store.close());
    return store;
  }

  function tempFile(): string {
    const dir = mkdtempSync(path.join(tmpdir(), "airlock-shared-file-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    return path.join(dir, "registry.db");
  }

  it("takes the lock around each batch, and commits what was queued while waiting for it at once", async () => {
    const file = tempFile();
    const lock = new TurnLog(50);
    const store = await open(file, lock);
    const writes = Array.from({ length: 10 }, (_, index) =>
      store.settings.put({ banner_message: `banner ${index}` }, new Date()),
    );
    await within(5_000, "the writes", Promise.all(writes));
    // One turn for the ten: they were all queued before it came.
    expect(lock.events).toEqual(["acquired", "released"]);
    expect((await store.settings.all())["banner_message"]).toBe("banner 9");
  });

  it("lets two stores on one file write in turn, each reading the other's commits", async () => {
    const file = tempFile();
    const lock = new TurnLog(0);
    const first = await open(file, lock);
    const second = await open(file, lock);
    const writes: Array<Promise<unknown>> = [];
    for (let index = 0; index < 20; index++) {
      const store = index % 2 === 0 ? first : second;
      writes.push(
        store.users.create(
          { username: `user-${index}`, email: "", realname: "", comment: "", passwordHash: "x", sysadmin: false },
          new Date(),
        ),
      );
    }
    await within(10_000, "the writes", Promise.all(writes));
    for (const store of [first, second]) {
      for (let index = 0; index < 20; index++) expect(await store.users.getByName(`user-${index}`)).toBeDefined();
    }
    // Turns never overlap.
    expect(lock.events.join(",")).toMatch(/^(acquired,released,?)+$/);
  });

  it("fails the waiting writes, not hangs them, while a process outside holds the lock past the busy timeout", async () => {
    const file = tempFile();
    const store = await open(file);
    const outside = new DatabaseSync(file, { timeout: 100 });
    cleanup.push(() => outside.close());
    outside.exec("BEGIN IMMEDIATE");
    let held = true;
    try {
      const write = store.settings.put({ banner_message: "blocked" }, new Date());
      await expect(within(15_000, "the write under the outside lock", write)).rejects.toThrow(/locked|busy/i);
      outside.exec("ROLLBACK");
      held = false;
      // The store goes on: the next write takes the lock now free.
      await within(5_000, "the next write", store.settings.put({ banner_message: "after" }, new Date()));
      expect((await store.settings.all())["banner_message"]).toBe("after");
    } finally {
      if (held) outside.exec("ROLLBACK");
    }
  }, 30_000);
});
