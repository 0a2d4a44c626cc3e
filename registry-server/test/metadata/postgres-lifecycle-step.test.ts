// The PostgreSQL schema step that adds garbage collection's claims: a database written before it
// must come out with every blob claimed at its creation, its links and their cascade intact, and
// its manifests never pulled.

import type { Pool } from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { createPool } from "../../src/metadata/postgres/connection.ts";
import { LIFECYCLE_STEP, MIGRATIONS, migrate } from "../../src/metadata/postgres/schema.ts";
import { openPostgresStore } from "../../src/metadata/postgres/store.ts";
import { digestOf } from "../contracts/metadata-store-contract.ts";
import { createTestDatabase, withClient, within, type TestDatabase } from "./postgres-database.ts";

const T = Date.parse("2024-05-06T07:08:09.123Z");
const referenced = digestOf("referenced");
const unreferenced = digestOf("unreferenced");
const manifest = digestOf("manifest");

let database: TestDatabase | undefined;
beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);
afterAll(async () => {
  await database?.drop();
}, 60_000);

describe("postgres metadata store: the lifecycle step", () => {
  const opened: MetadataStore[] = [];
  const pools: Pool[] = [];

  afterEach(async () => {
    for (const store of opened.splice(0)) await within(5_000, "closing the store", store.close());
    for (const pool of pools.splice(0)) await within(5_000, "closing a pool", pool.end());
  });

  /** A fresh schema at the version before the step: two linked blobs, a manifest referencing one. */
  async function previousVersion(): Promise<string> {
    if (!database) throw new Error("the test database was not created");
    const { url } = await database.freshSchema();
    const step = MIGRATIONS.indexOf(LIFECYCLE_STEP);
    expect(step).toBeGreaterThan(0);
    const pool = createPool({ url, maxConnections: 2 });
    pools.push(pool);
    await migrate(pool, MIGRATIONS.slice(0, step));
    await withClient(url, async (client) => {
      const run = (sql: string, values: unknown[] = []) => client.query(sql, values);
      await run("INSERT INTO repositories (name, created_at) VALUES ('p/r', $1)", [new Date(T)]);
      for (const digest of [referenced, unreferenced]) {
        await run(`INSERT INTO blobs (digest, size, parts, created_at) VALUES ($1, 1, '[{"path":"x","size":1}]', $2)`, [
          digest,
          new Date(T),
        ]);
        await run("INSERT INTO repository_blobs (repository, digest) VALUES ('p/r', $1)", [digest]);
      }
      await run("INSERT INTO manifest_contents (digest, content) VALUES ($1, '\\x7b7d')", [manifest]);
      await run(
        `INSERT INTO manifests (repository, digest, media_type, size, created_at)
           VALUES ('p/r', $1, 'application/vnd.oci.image.manifest.v1+json', 2, $2)`,
        [manifest, new Date(T)],
      );
      await run("INSERT INTO manifest_blob_refs (repository, manifest_digest, blob_digest) VALUES ('p/r', $1, $2)", [
        manifest,
        referenced,
      ]);
    });
    return url;
  }

  it("claims every blob at its creation and keeps its links, their cascade and the manifests", async () => {
    const url = await previousVersion();
    const store = await openPostgresStore({ url, maxConnections: 2 });
    opened.push(store);
    const candidates = async (cutoff: number) =>
      (await store.gc.candidateBlobs(new Date(cutoff), { limit: 10 })).map((blob) => blob.digest);
    expect(await candidates(T)).toEqual([]);
    expect(await candidates(T + 1)).toEqual([unreferenced]);
    expect(await store.blobs.isLinked("p/r", referenced)).toBe(true);
    expect((await store.lifecycle.artifacts("p/r")).map((a) => [a.digest, a.pushedAt, a.pulledAt])).toEqual([
      [manifest, new Date(T), undefined],
    ]);

    expect(await store.gc.deleteUnreferencedBlob(unreferenced, new Date(T + 1), new Date(T + 2))).toBeDefined();
    expect(await store.blobs.isLinked("p/r", unreferenced)).toBe(false);
    expect(await store.gc.deleteUnreferencedBlob(referenced, new Date(T + 1), new Date(T + 2))).toBeUndefined();
    const links = await withClient(url, (client) => client.query("SELECT count(*)::int AS n FROM repository_blobs"));
    expect(links.rows).toEqual([{ n: 1 }]);
  });
});
