// The SQLite store's reads share short read transactions (sqlite/read-snapshot.ts): what they must
// still see. A snapshot lives until the next process.nextTick, so everything below runs in one
// go, without a macrotask in between, as a request's reads and writes do.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";

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
