// The SQLite schema step that gives repositories, manifests and tags their ids rebuilds those
// tables: a database written before it must come out with every row, reference and cascade
// intact, its rows numbered in the order they were created, and foreign keys enforced again.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { ARTIFACT_IDS_STEP, MIGRATIONS, SQLITE_SCHEMA_VERSION } from "../../src/metadata/sqlite/schema.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";
import { digestOf } from "../contracts/metadata-store-contract.ts";
import { legacyContent } from "./legacy-content.ts";

describe("sqlite metadata store: the ids step", () => {
  let dir: string;
  let file: string;
  let store: MetadataStore | undefined;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "airlock-ids-"));
    file = path.join(dir, "metadata.db");
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A database at the version before the step, holding `legacyContent`'s rows. */
  function legacyDatabase(): void {
    const step = MIGRATIONS.indexOf(ARTIFACT_IDS_STEP);
    expect(step).toBeGreaterThan(0);
    const db = new DatabaseSync(file, { enableForeignKeyConstraints: true });
    try {
      for (const sql of MIGRATIONS.slice(0, step)) db.exec(sql);
      db.exec(`PRAGMA user_version = ${step}`);
      const c = legacyContent;
      const insert = (sql: string, ...values: Array<string | number | Uint8Array | null>) =>
        db.prepare(sql).run(...values);
      // Created out of name order, so that the numbering shows it follows creation.
      insert("INSERT INTO repositories (name, created_at) VALUES (?, ?)", "team/web", c.t(2));
      insert("INSERT INTO repositories (name, created_at) VALUES (?, ?)", "team/app", c.t(1));
      for (const m of c.manifests)
        insert("INSERT INTO manifest_contents (digest, content) VALUES (?, ?)", m.digest, m.bytes);
      for (const m of c.manifests) {
        insert(
          `INSERT INTO manifests (repository, digest, media_type, size, artifact_type, subject, annotations, created_at)
             VALUES (?, ?, ?, ?, ?, NULL, NULL, ?)`,
          m.repository,
          m.digest,
          m.mediaType,
          m.bytes.length,
          m.artifactType ?? null,
          m.createdAt,
        );
      }
      insert(
        "INSERT INTO manifest_child_refs (repository, manifest_digest, child_digest) VALUES (?, ?, ?)",
        "team/app",
        c.index.digest,
        c.image.digest,
      );
      insert("INSERT INTO blobs (digest, size, parts, created_at) VALUES (?, 1, '[]', 0)", c.config);
      insert("INSERT INTO repository_blobs (repository, digest) VALUES (?, ?)", "team/app", c.config);
      insert(
        "INSERT INTO manifest_blob_refs (repository, manifest_digest, blob_digest) VALUES (?, ?, ?)",
        "team/app",
        c.image.digest,
        c.config,
      );
      for (const [name, digest, time] of c.tags) {
        insert(
          "INSERT INTO tags (repository, name, digest, updated_at) VALUES ('team/app', ?, ?, ?)",
          name,
          digest,
          time,
        );
      }
      insert(
        `INSERT INTO uploads (id, repository, algorithm, size, parts, created_at, updated_at)
           VALUES ('u1', 'team/web', 'sha256', 0, '[]', 0, 0)`,
      );
    } finally {
      db.close();
    }
  }

  it("keeps every row, numbers them in creation order, and reads the config media types", async () => {
    legacyDatabase();
    store = await openSqliteStore(file);
    const c = legacyContent;

    const app = await store.artifacts.repository("team/app");
    const web = await store.artifacts.repository("team/web");
    expect(app).toEqual({
      id: 1,
      name: "team/app",
      description: "",
      createdAt: new Date(c.t(1)),
      updatedAt: new Date(c.t(1)),
    });
    expect(web?.id).toBe(2);

    const image = await store.artifacts.artifact("team/app", c.image.digest);
    const index = await store.artifacts.artifact("team/app", c.index.digest);
    const opaque = await store.artifacts.artifact("team/app", c.opaque.digest);
    expect([image?.id, index?.id, opaque?.id]).toEqual([1, 2, 3]);
    expect(image?.configMediaType).toBe(c.configMediaType);
    expect(index?.configMediaType).toBeUndefined();
    expect(opaque?.configMediaType).toBeUndefined();
    expect((await store.manifests.content("team/app", c.image.digest))?.equals(c.image.bytes)).toBe(true);

    const tags = await store.artifacts.tags("team/app", { sort: [] }, { offset: 0, limit: 10 });
    expect(tags.items.map((t) => [t.id, t.name, t.digest, t.artifactId])).toEqual([
      [1, "latest", c.index.digest, index?.id],
      [2, "v1", c.index.digest, index?.id],
    ]);
    // The index still lists its child: the child is hidden from the artifact listing.
    expect((await store.manifests.parents("team/app", c.image.digest)).length).toBe(1);
    const listed = await store.artifacts.artifacts("team/app", { sort: [] }, { offset: 0, limit: 10 });
    expect(listed.items.map((a) => a.digest)).toEqual([c.index.digest, c.opaque.digest]);
    expect(await store.blobs.isLinked("team/app", c.config)).toBe(true);
    expect(await store.uploads.get("u1")).toBeDefined();

    // New rows continue the numbering.
    await store.blobs.create({ digest: digestOf("new"), size: 1, parts: [], createdAt: new Date(0) });
    await store.blobs.link("team/new", digestOf("new"));
    expect((await store.artifacts.repository("team/new"))?.id).toBe(3);

    const check = new DatabaseSync(file, { readOnly: true });
    try {
      expect(check.prepare("PRAGMA user_version").get()?.["user_version"]).toBe(SQLITE_SCHEMA_VERSION);
      expect(check.prepare("PRAGMA foreign_key_check").all()).toEqual([]);
    } finally {
      check.close();
    }
  });

  it("enforces foreign keys and cascades again afterwards", async () => {
    legacyDatabase();
    store = await openSqliteStore(file);
    const c = legacyContent;
    await expect(store.tags.put("team/app", "dangling", digestOf("none"), new Date(0))).rejects.toThrow(/FOREIGN KEY/);
    // Deleting the index takes its tags and its references with it, and the child can then go.
    expect(await store.manifests.delete("team/app", c.index.digest)).toBe(true);
    expect(await store.tags.get("team/app", "latest")).toBeUndefined();
    expect(await store.manifests.parents("team/app", c.image.digest)).toEqual([]);
    expect(await store.manifests.delete("team/app", c.image.digest)).toBe(true);
    // The blob only the image used left the repository.
    expect(await store.blobs.isLinked("team/app", c.config)).toBe(false);
    expect(await store.repositories.delete("team/web")).toBe(true);
    expect(await store.uploads.get("u1")).toBeUndefined();
  });
});
