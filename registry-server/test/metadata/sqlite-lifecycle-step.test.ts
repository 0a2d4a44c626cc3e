// The SQLite schema step that adds garbage collection's claims rebuilds the blobs table (SQLite
// cannot add a NOT NULL column without a default): a database written before it must come out
// with every blob claimed at its creation, its links and their cascade intact, and its manifests
// never pulled.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { LIFECYCLE_STEP, MIGRATIONS } from "../../src/metadata/sqlite/schema.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";
import { digestOf } from "../contracts/metadata-store-contract.ts";

const T = Date.parse("2024-05-06T07:08:09.123Z");
const referenced = digestOf("referenced");
const unreferenced = digestOf("unreferenced");
const manifest = digestOf("manifest");

describe("sqlite metadata store: the lifecycle step", () => {
  let dir: string;
  let file: string;
  let store: MetadataStore | undefined;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "airlock-lifecycle-"));
    file = path.join(dir, "metadata.db");
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A database at the version before the step: two linked blobs, a manifest referencing one. */
  function previousVersion(): void {
    const step = MIGRATIONS.indexOf(LIFECYCLE_STEP);
    expect(step).toBeGreaterThan(0);
    const db = new DatabaseSync(file, { enableForeignKeyConstraints: true });
    try {
      for (const sql of MIGRATIONS.slice(0, step)) db.exec(sql);
      db.exec(`PRAGMA user_version = ${step}`);
      const run = (sql: string, ...values: Array<string | number>) => db.prepare(sql).run(...values);
      run("INSERT INTO repositories (name, created_at) VALUES ('p/r', ?)", T);
      for (const digest of [referenced, unreferenced]) {
        run(
          "INSERT INTO blobs (digest, size, parts, created_at) VALUES (?, 1, ?, ?)",
          digest,
          '[{"path":"x","size":1}]',
          T,
        );
        run("INSERT INTO repository_blobs (repository, digest) VALUES ('p/r', ?)", digest);
      }
      run("INSERT INTO manifest_contents (digest, content) VALUES (?, x'7b7d')", manifest);
      run(
        `INSERT INTO manifests (repository, digest, media_type, size, created_at)
           VALUES ('p/r', ?, 'application/vnd.oci.image.manifest.v1+json', 2, ?)`,
        manifest,
        T,
      );
      run(
        "INSERT INTO manifest_blob_refs (repository, manifest_digest, blob_digest) VALUES ('p/r', ?, ?)",
        manifest,
        referenced,
      );
    } finally {
      db.close();
    }
  }

  it("claims every blob at its creation and keeps its links, their cascade and the manifests", async () => {
    previousVersion();
    store = await openSqliteStore(file);
    const candidates = async (cutoff: number) =>
      (await store?.gc.candidateBlobs(new Date(cutoff), { limit: 10 }))?.map((blob) => blob.digest);
    expect(await candidates(T)).toEqual([]);
    expect(await candidates(T + 1)).toEqual([unreferenced]);
    expect(await store.blobs.isLinked("p/r", referenced)).toBe(true);
    expect((await store.lifecycle.artifacts("p/r")).map((a) => [a.digest, a.pushedAt, a.pulledAt])).toEqual([
      [manifest, new Date(T), undefined],
    ]);

    expect(await store.gc.deleteUnreferencedBlob(unreferenced, new Date(T + 1), new Date(T + 2))).toBeDefined();
    expect(await store.blobs.isLinked("p/r", unreferenced)).toBe(false);
    expect(await store.gc.deleteUnreferencedBlob(referenced, new Date(T + 1), new Date(T + 2))).toBeUndefined();

    const check = new DatabaseSync(file, { readOnly: true });
    try {
      expect(check.prepare("PRAGMA foreign_key_check").all()).toEqual([]);
      expect(check.prepare("SELECT count(*) AS n FROM repository_blobs").get()?.["n"]).toBe(1);
    } finally {
      check.close();
    }
  });
});
