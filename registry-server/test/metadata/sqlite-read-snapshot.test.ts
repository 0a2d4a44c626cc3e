// The SQLite store's reads share short read transactions (sqlite/read-snapshot.ts): what they must
// still see. A snapshot lives until the next process.nextTick, so the first tests run in one go,
// without a macrotask in between, as a request's reads and writes do.

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { ReadSnapshots } from "../../src/metadata/sqlite/read-snapshot.ts";
import { RowCache } from "../../src/metadata/sqlite/row-cache.ts";
import { Db } from "../../src/metadata/sqlite/statements.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";
import { WalIndexHeader } from "../../src/metadata/sqlite/wal-index-header.ts";

const blob = (n: number) => ({
  digest: `sha256:${String(n).padStart(64, "0")}`,
  size: n,
  parts: [{ path: `parts/${n}`, size: n }],
  createdAt: new Date(0),
});

describe("reads grouped into snapshots", () => {
  let dir: string;
  let file: string;
  let store: MetadataStore;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "airlock-snapshot-"));
    file = path.join(dir, "metadata.db");
    store = await openSqliteStore(file);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("see the store's own write right after it, in the same run of promise continuations", async () => {
    expect(await store.blobs.get(blob(1).digest)).toBeUndefined();
    await store.blobs.create(blob(1));
    expect(await store.blobs.get(blob(1).digest)).toMatchObject({ size: 1 });
    await store.transaction(async (tx) => {
      await tx.blobs.create(blob(2));
    });
    expect(await store.blobs.get(blob(2).digest)).toMatchObject({ size: 2 });
  });

  it("see another connection's commit once a new event is being handled", async () => {
    expect(await store.blobs.get(blob(3).digest)).toBeUndefined();
    const other = new DatabaseSync(file);
    try {
      other
        .prepare("INSERT INTO blobs (digest, size, parts, created_at, touched_at) VALUES (?, ?, ?, ?, ?)")
        .run(blob(3).digest, 3, JSON.stringify(blob(3).parts), 0, 0);
    } finally {
      other.close();
    }
    // A macrotask later, as the next request would be.
    await new Promise((resolve) => setImmediate(resolve));
    expect(await store.blobs.get(blob(3).digest)).toMatchObject({ size: 3 });
  });
});

// Reads the row cache answers need no snapshot while the WAL-index header says nothing was
// committed (wal-index-header.ts); the rest open one, and none is held between callbacks.
describe("read snapshots and the row cache", () => {
  let dir: string;
  let file: string;
  let connection: DatabaseSync;
  let snapshots: ReadSnapshots;
  let reader: Db;
  let other: DatabaseSync;

  /** A cached lookup (its parameter is a string, as the hot lookups' are). */
  const cachedCount = () =>
    snapshots.run(() => reader.cachedRow<{ n: number }>("SELECT count(*) AS n FROM t WHERE x IS NOT ?", "-")?.n);
  const count = () => snapshots.run(() => reader.count("SELECT count(*) AS n FROM t"));
  const nextEvent = () => new Promise((resolve) => setImmediate(resolve));

  function open(header: WalIndexHeader): void {
    const cache = new RowCache();
    snapshots = new ReadSnapshots(connection, cache, header);
    reader = new Db(connection, cache, snapshots.beforeStatement);
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "airlock-snapshot-"));
    file = path.join(dir, "metadata.db");
    other = new DatabaseSync(file);
    other.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; CREATE TABLE t (x INTEGER)");
    connection = new DatabaseSync(file, { readOnly: true });
    open(new WalIndexHeader(file));
  });
  afterEach(() => {
    snapshots.close();
    connection.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers from the cache without a read transaction while nothing was committed", async () => {
    expect(cachedCount()).toBe(0);
    // The miss opened a snapshot, which lasts until the callback is done.
    expect(connection.isTransaction).toBe(true);
    await nextEvent();
    expect(connection.isTransaction).toBe(false);
    expect(cachedCount()).toBe(0);
    expect(connection.isTransaction).toBe(false);
    // A read the cache cannot answer opens one.
    expect(count()).toBe(0);
    expect(connection.isTransaction).toBe(true);
  });

  it("sees every commit of another connection at the next event, commit after commit", async () => {
    const insert = other.prepare("INSERT INTO t (x) VALUES (?)");
    for (let i = 1; i <= 200; i += 1) {
      insert.run(i);
      // A checkpoint now and then starts the log over, which rewrites the header's other fields.
      if (i % 50 === 0) other.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      await nextEvent();
      expect(cachedCount()).toBe(i);
      expect(cachedCount()).toBe(i);
    }
  });

  it("holds one snapshot within a callback, even when another connection commits meanwhile", () => {
    expect(count()).toBe(0);
    other.exec("INSERT INTO t (x) VALUES (1)");
    expect(count()).toBe(0);
    expect(cachedCount()).toBe(0);
  });

  it("holds no lock between callbacks, so that the log can start over while reads go on", async () => {
    const insert = other.prepare("INSERT INTO t (x) VALUES (?)");
    let largest = 0;
    for (let i = 1; i <= 200; i += 1) {
      insert.run(i);
      if (i % 10 === 0) other.exec("PRAGMA wal_checkpoint(PASSIVE)");
      await nextEvent();
      expect(cachedCount()).toBe(i);
      expect(count()).toBe(i);
      // The writes above came from another process, in its own events.
      await nextEvent();
      largest = Math.max(largest, statSync(`${file}-wal`).size);
    }
    // Each commit appends a page or two; a log never started over would hold all 200 commits.
    expect(largest).toBeLessThan(50 * 4096);
    expect(Number(other.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get()?.["busy"])).toBe(0);
  });

  it("opens a snapshot in every callback where the header cannot be read", async () => {
    snapshots.close();
    open(new WalIndexHeader(path.join(dir, "absent.db")));
    expect(cachedCount()).toBe(0);
    other.exec("INSERT INTO t (x) VALUES (1)");
    await nextEvent();
    expect(cachedCount()).toBe(1);
    expect(connection.isTransaction).toBe(true);
  });
});
