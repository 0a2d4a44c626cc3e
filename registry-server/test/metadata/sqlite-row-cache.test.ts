// The SQLite reader's cache of hot rows (sqlite/row-cache.ts): it serves a lookup again without
// its query, within its bounds, and never serves a row that a commit of any connection changed.
// The second store below opens the same file with connections of its own, as another worker
// process or the primary would.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { RowCache } from "../../src/metadata/sqlite/row-cache.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";

/** The next macrotask: a new request, and so a new read snapshot. */
const nextRequest = () => new Promise((resolve) => setImmediate(resolve));

describe("RowCache", () => {
  const counted = () => {
    let queries = 0;
    return {
      get queries() {
        return queries;
      },
      query:
        <R>(row: R) =>
        () => {
          queries += 1;
          return row;
        },
    };
  };

  it("serves a lookup again without its query, found or not, while the version stays", () => {
    const cache = new RowCache();
    const db = counted();
    cache.validate(1);
    expect(cache.row("q", ["a"], db.query({ n: 1 }))).toEqual({ n: 1 });
    expect(cache.row("q", ["a"], db.query({ n: 2 }))).toEqual({ n: 1 });
    expect(cache.row("q", ["missing"], db.query(undefined))).toBeUndefined();
    expect(cache.row("q", ["missing"], db.query({ n: 3 }))).toBeUndefined();
    expect(db.queries).toBe(2);
    cache.validate(1);
    expect(cache.row("q", ["a"], db.query({ n: 4 }))).toEqual({ n: 1 });
    expect(db.queries).toBe(2);
  });

  it("forgets every row when the version moves", () => {
    const cache = new RowCache();
    const db = counted();
    cache.validate(1);
    cache.row("q", ["a"], db.query({ n: 1 }));
    cache.row("q", ["missing"], db.query(undefined));
    cache.validate(2);
    expect(cache.size).toBe(0);
    expect(cache.row("q", ["a"], db.query({ n: 2 }))).toEqual({ n: 2 });
    expect(cache.row("q", ["missing"], db.query({ n: 3 }))).toEqual({ n: 3 });
    expect(db.queries).toBe(4);
  });

  it("keys by statement and every parameter, and leaves uncertain keys uncached", () => {
    const cache = new RowCache();
    const db = counted();
    cache.validate(1);
    expect(cache.row("q", ["a", "b"], db.query("ab"))).toBe("ab");
    expect(cache.row("q", ["a", "c"], db.query("ac"))).toBe("ac");
    expect(cache.row("other", ["a", "b"], db.query("other"))).toBe("other");
    // "a\0b" + "c" and "a" + "b\0c" would share a joined key: neither is cached.
    expect(cache.row("q", ["a\0b", "c"], db.query("x"))).toBe("x");
    expect(cache.row("q", ["a", "b\0c"], db.query("y"))).toBe("y");
    expect(cache.row("q", [1], db.query("number"))).toBe("number");
    expect(cache.row("q", [1], db.query("number again"))).toBe("number again");
    expect(db.queries).toBe(7);
    expect(cache.size).toBe(3);
  });

  it("stays within its bounds of entries and bytes", () => {
    const cache = new RowCache(10, 4096);
    cache.validate(1);
    for (let n = 0; n < 100; n++) cache.row("q", [String(n)], () => ({ n }));
    expect(cache.size).toBeLessThanOrEqual(10);
    for (let n = 0; n < 100; n++) cache.row("big", [String(n)], () => ({ text: "x".repeat(500) }));
    expect(cache.size).toBeLessThanOrEqual(4);
    // Larger than the whole cache: served, never kept, and what the cache held stays.
    const held = cache.size;
    const huge = { content: new Uint8Array(8192) };
    expect(cache.row("huge", ["h"], () => huge)).toBe(huge);
    expect(cache.size).toBe(held);
    expect(cache.row("huge", ["h"], () => ({ content: new Uint8Array(1) }))).not.toBe(huge);
  });

  it("shares rows frozen, so that a caller that changed one fails instead of changing the next read", () => {
    const cache = new RowCache();
    cache.validate(1);
    const row = cache.row("q", ["a"], () => ({ name: "a" }));
    expect(() => {
      (row as { name: string }).name = "b";
    }).toThrow(TypeError);
    expect(cache.row("q", ["a"], () => ({ name: "c" }))).toEqual({ name: "a" });
  });
});

describe("the SQLite store's cached lookups", () => {
  let dir: string;
  let store: MetadataStore;
  /** Another writer of the same file: another worker, the primary. */
  let other: MetadataStore;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "airlock-row-cache-"));
    const file = path.join(dir, "metadata.db");
    store = await openSqliteStore(file);
    other = await openSqliteStore(file);
  });
  afterEach(async () => {
    await store.close();
    await other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const at = new Date(1_000);
  const digest = (n: number) => `sha256:${String(n).padStart(64, "0")}`;
  const manifest = (n: number) => ({
    repository: "library/app",
    digest: digest(n),
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    size: 2,
    createdAt: at,
  });

  it("see a project or a user another process created, changed or deleted", async () => {
    expect(await store.projects.getByName("team")).toBeUndefined();
    const admin = await other.users.create(
      { username: "ops", email: "", realname: "", comment: "", passwordHash: "h1", sysadmin: false },
      at,
    );
    const project = await other.projects.create(
      { name: "team", ownerId: admin.id, metadata: {}, storageLimit: -1 },
      at,
    );
    await nextRequest();
    expect(await store.projects.getByName("team")).toMatchObject({ id: project.id, metadata: {} });
    expect(await store.users.getByName("ops")).toMatchObject({ passwordHash: "h1", sysadmin: false });

    await other.projects.update(project.id, { metadata: { public: "true" } }, at);
    await other.users.update(admin.id, { passwordHash: "h2", sysadmin: true }, at);
    await nextRequest();
    expect(await store.projects.getByName("team")).toMatchObject({ metadata: { public: "true" } });
    expect(await store.users.getByName("ops")).toMatchObject({ passwordHash: "h2", sysadmin: true });

    await other.projects.delete(project.id);
    await other.users.delete(admin.id);
    await nextRequest();
    expect(await store.projects.getByName("team")).toBeUndefined();
    expect(await store.users.getByName("ops")).toBeUndefined();
  });

  it("see a tag moved or deleted, a manifest and its bytes, a blob and its link, by another process", async () => {
    const references = { blobs: [], manifests: [] };
    expect(await store.tags.get("library/app", "v1")).toBeUndefined();
    expect(await store.manifests.content("library/app", digest(1))).toBeUndefined();
    await other.manifests.put(manifest(1), Buffer.from("{1}"), references);
    await other.manifests.put(manifest(2), Buffer.from("{2}"), references);
    await other.tags.put("library/app", "v1", digest(1), at);
    await nextRequest();
    expect(await store.tags.get("library/app", "v1")).toMatchObject({ digest: digest(1) });
    expect(await store.manifests.get("library/app", digest(1))).toEqual(manifest(1));
    expect((await store.manifests.content("library/app", digest(1)))?.toString()).toBe("{1}");

    await other.tags.put("library/app", "v1", digest(2), at);
    await nextRequest();
    expect(await store.tags.get("library/app", "v1")).toMatchObject({ digest: digest(2) });

    await other.manifests.delete("library/app", digest(1));
    await nextRequest();
    expect(await store.manifests.get("library/app", digest(1))).toBeUndefined();
    expect(await store.manifests.content("library/app", digest(1))).toBeUndefined();

    const layer = { digest: digest(9), size: 9, parts: [{ path: "parts/9", size: 9 }], createdAt: at };
    expect(await store.blobs.get(layer.digest)).toBeUndefined();
    expect(await store.blobs.isLinked("library/app", layer.digest)).toBe(false);
    await other.blobs.create(layer);
    await other.blobs.link("library/app", layer.digest);
    await nextRequest();
    expect(await store.blobs.get(layer.digest)).toMatchObject({ size: 9 });
    expect(await store.blobs.isLinked("library/app", layer.digest)).toBe(true);
    await other.blobs.unlink("library/app", layer.digest);
    await nextRequest();
    expect(await store.blobs.isLinked("library/app", layer.digest)).toBe(false);
  });

  it("see the store's own writes at once, and a transaction's reads see its own writes", async () => {
    expect(await store.tags.get("library/app", "v1")).toBeUndefined();
    await store.manifests.put(manifest(1), Buffer.from("{1}"), { blobs: [], manifests: [] });
    await store.tags.put("library/app", "v1", digest(1), at);
    expect(await store.tags.get("library/app", "v1")).toMatchObject({ digest: digest(1) });
    await store.transaction(async (tx) => {
      await tx.tags.delete("library/app", "v1");
      expect(await tx.tags.get("library/app", "v1")).toBeUndefined();
    });
    expect(await store.tags.get("library/app", "v1")).toBeUndefined();
  });
});
