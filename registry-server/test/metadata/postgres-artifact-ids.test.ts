// The PostgreSQL schema step that gives repositories, manifests and tags their ids adds identity
// columns to tables that may hold rows: a database written before it must come out with every
// row and reference intact, each row numbered, the config media types read from the manifests'
// bytes, and new rows numbered after the old ones.

import type { Pool } from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { createPool } from "../../src/metadata/postgres/connection.ts";
import { ARTIFACT_IDS_STEP, MIGRATIONS, MIGRATIONS_TABLE, migrate } from "../../src/metadata/postgres/schema.ts";
import { openPostgresStore } from "../../src/metadata/postgres/store.ts";
import { digestOf } from "../contracts/metadata-store-contract.ts";
import { legacyContent } from "./legacy-content.ts";
import { createTestDatabase, withClient, within, type TestDatabase } from "./postgres-database.ts";

let database: TestDatabase | undefined;
beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);
afterAll(async () => {
  await database?.drop();
}, 60_000);

describe("postgres metadata store: the ids step", () => {
  const opened: MetadataStore[] = [];
  const pools: Pool[] = [];

  afterEach(async () => {
    for (const store of opened.splice(0)) await within(5_000, "closing the store", store.close());
    for (const pool of pools.splice(0)) await within(5_000, "closing a pool", pool.end());
  });

  /** A fresh schema at the version before the step, holding `legacyContent`'s rows. */
  async function legacySchema(): Promise<string> {
    if (!database) throw new Error("the test database was not created");
    const { url } = await database.freshSchema();
    const step = MIGRATIONS.indexOf(ARTIFACT_IDS_STEP);
    expect(step).toBeGreaterThan(0);
    const pool = createPool({ url, maxConnections: 2 });
    pools.push(pool);
    await migrate(pool, MIGRATIONS.slice(0, step));
    const c = legacyContent;
    await withClient(url, async (client) => {
      const insert = (sql: string, values: unknown[]) => client.query(sql, values);
      // Created out of name order, so that the numbering shows it follows creation.
      await insert("INSERT INTO repositories (name, created_at) VALUES ($1, $2)", ["team/web", new Date(c.t(2))]);
      await insert("INSERT INTO repositories (name, created_at) VALUES ($1, $2)", ["team/app", new Date(c.t(1))]);
      for (const m of c.manifests) {
        await insert("INSERT INTO manifest_contents (digest, content) VALUES ($1, $2)", [m.digest, m.bytes]);
      }
      // Inserted newest first: identity columns number the rows there are, in no promised order.
      for (const m of [...c.manifests].reverse()) {
        await insert(
          `INSERT INTO manifests (repository, digest, media_type, size, artifact_type, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)`,
          [m.repository, m.digest, m.mediaType, m.bytes.length, m.artifactType ?? null, new Date(m.createdAt)],
        );
      }
      await insert("INSERT INTO manifest_child_refs (repository, manifest_digest, child_digest) VALUES ($1, $2, $3)", [
        "team/app",
        c.index.digest,
        c.image.digest,
      ]);
      await insert("INSERT INTO blobs (digest, size, parts, created_at) VALUES ($1, 1, '[]', now())", [c.config]);
      await insert("INSERT INTO repository_blobs (repository, digest) VALUES ($1, $2)", ["team/app", c.config]);
      await insert("INSERT INTO manifest_blob_refs (repository, manifest_digest, blob_digest) VALUES ($1, $2, $3)", [
        "team/app",
        c.image.digest,
        c.config,
      ]);
      for (const [name, digest, time] of c.tags) {
        await insert("INSERT INTO tags (repository, name, digest, updated_at) VALUES ('team/app', $1, $2, $3)", [
          name,
          digest,
          new Date(time),
        ]);
      }
      await insert(
        `INSERT INTO uploads (id, repository, algorithm, size, parts, created_at, updated_at)
           VALUES ('u1', 'team/web', 'sha256', 0, '[]', now(), now())`,
        [],
      );
    });
    return url;
  }

  async function open(url: string): Promise<MetadataStore> {
    const store = await openPostgresStore({ url, maxConnections: 3 });
    opened.push(store);
    return store;
  }

  it("keeps every row, numbers each, and reads the config media types", async () => {
    const url = await legacySchema();
    const store = await open(url);
    const c = legacyContent;

    const app = await store.artifacts.repository("team/app");
    const web = await store.artifacts.repository("team/web");
    expect(app).toMatchObject({
      name: "team/app",
      description: "",
      createdAt: new Date(c.t(1)),
      updatedAt: new Date(c.t(1)),
    });
    expect(new Set([app?.id, web?.id]).size).toBe(2);

    const ids = [];
    for (const m of c.manifests) ids.push((await store.artifacts.artifact("team/app", m.digest))?.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(3);
    expect((await store.artifacts.artifact("team/app", c.image.digest))?.configMediaType).toBe(c.configMediaType);
    expect((await store.manifests.get("team/app", c.image.digest))?.configMediaType).toBe(c.configMediaType);
    expect((await store.artifacts.artifact("team/app", c.index.digest))?.configMediaType).toBeUndefined();
    expect((await store.artifacts.artifact("team/app", c.opaque.digest))?.configMediaType).toBeUndefined();

    const tags = await store.artifacts.tags(
      "team/app",
      { sort: [{ key: "name", desc: false }] },
      { offset: 0, limit: 10 },
    );
    expect(tags.items.map((t) => [t.name, t.digest])).toEqual([
      ["latest", c.index.digest],
      ["v1", c.index.digest],
    ]);
    expect(new Set(tags.items.map((t) => t.id)).size).toBe(2);
    const listed = await store.artifacts.artifacts(
      "team/app",
      { sort: [{ key: "push_time", desc: false }] },
      { offset: 0, limit: 10 },
    );
    expect(listed.items.map((a) => a.digest)).toEqual([c.index.digest, c.opaque.digest]);
    expect(await store.blobs.isLinked("team/app", c.config)).toBe(true);
    expect(await store.uploads.get("u1")).toBeDefined();

    // New rows are numbered after the old ones.
    await store.blobs.create({ digest: digestOf("new"), size: 1, parts: [], createdAt: new Date(0) });
    await store.blobs.link("team/new", digestOf("new"));
    expect((await store.artifacts.repository("team/new"))?.id).toBeGreaterThan(Math.max(app?.id ?? 0, web?.id ?? 0));

    const applied = await withClient(url, (client) =>
      client.query(`SELECT count(*)::int AS n FROM ${MIGRATIONS_TABLE}`),
    );
    expect(applied.rows[0]).toEqual({ n: MIGRATIONS.length });
  });

  it("still cascades and unlinks after the step", async () => {
    const url = await legacySchema();
    const store = await open(url);
    const c = legacyContent;
    expect(await store.manifests.delete("team/app", c.index.digest)).toBe(true);
    expect(await store.tags.get("team/app", "latest")).toBeUndefined();
    expect(await store.manifests.parents("team/app", c.image.digest)).toEqual([]);
    expect(await store.manifests.delete("team/app", c.image.digest)).toBe(true);
    expect(await store.blobs.isLinked("team/app", c.config)).toBe(false);
    expect(await store.repositories.delete("team/web")).toBe(true);
    expect(await store.uploads.get("u1")).toBeUndefined();
  });
});
