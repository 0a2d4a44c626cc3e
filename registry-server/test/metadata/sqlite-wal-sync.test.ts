// The sync of SQLite's write-ahead log that makes each commit durable off the event loop: calls
// made together share one sync, a call made later gets a sync of its own, and a log that cannot be
// opened fails the sync without breaking the next one.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WalSync } from "../../src/metadata/sqlite/wal-sync.ts";

describe("WalSync", () => {
  let dir: string;
  let database: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "airlock-wal-sync-"));
    database = path.join(dir, "registry.db");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("lets the commits made together share one sync, and gives a later one its own", async () => {
    writeFileSync(`${database}-wal`, "log");
    const sync = new WalSync(database);
    const first = sync.sync();
    const together = sync.sync();
    expect(together).toBe(first);
    await first;
    const later = sync.sync();
    expect(later).not.toBe(first);
    await later;
    await sync.close();
  });

  it("makes a commit made while a sync runs wait for the next sync", async () => {
    writeFileSync(`${database}-wal`, "log");
    const sync = new WalSync(database);
    const order: string[] = [];
    const first = sync.sync().then(() => order.push("first"));
    // Once the first sync has started (its turn came), a new call must not join it.
    await new Promise((resolve) => setImmediate(resolve));
    const second = sync.sync().then(() => order.push("second"));
    await Promise.all([first, second]);
    expect(order).toEqual(["first", "second"]);
    await sync.close();
  });

  it("fails while the log cannot be opened, and works once it can", async () => {
    const sync = new WalSync(database);
    await expect(sync.sync()).rejects.toMatchObject({ code: "ENOENT" });
    writeFileSync(`${database}-wal`, "log");
    await expect(sync.sync()).resolves.toBeUndefined();
    await sync.close();
  });
});
