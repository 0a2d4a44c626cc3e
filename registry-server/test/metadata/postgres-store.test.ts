// The PostgreSQL metadata store: the shared contract on the real server (a fresh schema per test),
// then what is PostgreSQL's own (versioned migrations, concurrent opening, byte order whatever
// the database's collation, misuse of a transaction).

import type { Pool } from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConflictError, ROLES, type RoleId } from "../../src/metadata/identity-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { createPool } from "../../src/metadata/postgres/connection.ts";
import { MIGRATIONS, MIGRATIONS_TABLE, POSTGRES_SCHEMA_VERSION, migrate } from "../../src/metadata/postgres/schema.ts";
import { openPostgresStore } from "../../src/metadata/postgres/store.ts";
import { identityStoreContract } from "../contracts/identity-store-contract.ts";
import { digestOf, metadataStoreContract, type ContractStore } from "../contracts/metadata-store-contract.ts";
import { registryStoreContract } from "../contracts/registry-store-contract.ts";
import { artifactStoreContract } from "../contracts/artifact-store-contract.ts";
import { jobStoreContract } from "../contracts/job-store-contract.ts";
import { lifecycleStoreContract } from "../contracts/lifecycle-store-contract.ts";
import { scanStoreContract } from "../contracts/scan-store-contract.ts";
import { replicationStoreContract } from "../contracts/replication-store-contract.ts";
import { scannerStoreContract } from "../contracts/scanner-store-contract.ts";
import { proxyCacheStatsContract } from "../contracts/proxy-cache-stats-contract.ts";
import { sessionStoreContract } from "../contracts/session-store-contract.ts";
import { settingsStoreContract } from "../contracts/settings-store-contract.ts";
import { webhookStoreContract } from "../contracts/webhook-store-contract.ts";
import { declarationStoreContract } from "../contracts/declaration-store-contract.ts";
import { createTestDatabase, withClient, within, type TestDatabase } from "./postgres-database.ts";

let database: TestDatabase | undefined;
beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);
// Every contract test made a schema in it: under load the drop's checkpoint takes over 30 s.
afterAll(async () => {
  await database?.drop(150_000);
}, 180_000);

function testDatabase(): TestDatabase {
  if (!database) throw new Error("the test database was not created");
  return database;
}

async function openContractStore(): Promise<ContractStore> {
  const { url } = await testDatabase().freshSchema();
  const store = await openPostgresStore({ url, maxConnections: 4 });
  return {
    store,
    // close() waits for queued writes: one a failed test left open must not hang the run.
    cleanup: () => within(5_000, "closing the store", store.close()),
  };
}

metadataStoreContract("postgres", openContractStore);
identityStoreContract("postgres", openContractStore);
registryStoreContract("postgres", openContractStore);
settingsStoreContract("postgres", openContractStore);
jobStoreContract("postgres", openContractStore);
artifactStoreContract("postgres", openContractStore);
lifecycleStoreContract("postgres", openContractStore);
scanStoreContract("postgres", openContractStore);
scannerStoreContract("postgres", openContractStore);
webhookStoreContract("postgres", openContractStore);
declarationStoreContract("postgres", openContractStore);
replicationStoreContract("postgres", openContractStore);
sessionStoreContract("postgres", openContractStore);
proxyCacheStatsContract("postgres", openContractStore);

const manifestBytes = Buffer.from('{"schemaVersion":2}');
const manifestRecord = {
  repository: "library/app",
  digest: digestOf('{"schemaVersion":2}'),
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  size: manifestBytes.length,
  createdAt: new Date(1_700_000_000_123),
};

describe("postgres metadata store", () => {
  let url: string;
  const opened: MetadataStore[] = [];
  const pools: Pool[] = [];

  afterEach(async () => {
    for (const store of opened.splice(0)) await within(5_000, "closing the store", store.close());
    for (const pool of pools.splice(0)) await within(5_000, "closing a pool", pool.end());
  });

  async function freshSchema(): Promise<string> {
    url = (await testDatabase().freshSchema()).url;
    return url;
  }

  async function open(at = url): Promise<MetadataStore> {
    const store = await openPostgresStore({ url: at, maxConnections: 3 });
    opened.push(store);
    return store;
  }

  function query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    return withClient(url, async (client) => (await client.query(sql, params)).rows as R[]);
  }

  const appliedVersions = async (): Promise<number[]> =>
    (await query<{ version: number }>(`SELECT version FROM ${MIGRATIONS_TABLE} ORDER BY version`)).map(
      (row) => row.version,
    );

  it("creates the schema at the current version, recording each step", async () => {
    await freshSchema();
    await open();
    expect(POSTGRES_SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect(await appliedVersions()).toEqual(Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
    const tables = await query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1",
    );
    expect(tables.map((row) => row.name)).toEqual([
      MIGRATIONS_TABLE,
      "artifact_pins",
      "audit_logs",
      "blobs",
      "cve_allowlists",
      "declarations",
      "gc_doomed_parts",
      "immutable_rules",
      "job_executions",
      "job_logs",
      "job_pools",
      "job_queue_pauses",
      "job_schedules",
      "job_tasks",
      "manifest_blob_refs",
      "manifest_child_refs",
      "manifest_contents",
      "manifests",
      "project_members",
      "projects",
      "proxy_cache_stats",
      "registries",
      "replication_policies",
      "repositories",
      "repository_blobs",
      "retention_policies",
      "robots",
      "scan_reports",
      "scanner_registrations",
      "sessions",
      "system_settings",
      "tags",
      "uploads",
      "users",
      "webhook_last_triggers",
      "webhook_policies",
    ]);
  });

  it("keeps the data when reopened, without running migrations again", async () => {
    await freshSchema();
    const first = await openPostgresStore({ url, maxConnections: 2 });
    await first.manifests.put(manifestRecord, manifestBytes, { blobs: [], manifests: [] });
    await first.tags.put("library/app", "v1", manifestRecord.digest, new Date(1_700_000_000_456));
    await first.close();
    // An object the migrations do not make: re-running them on a fresh schema would not keep
    // it, and re-running them here would fail on the existing tables.
    await query("CREATE TABLE marker (x integer)");

    const second = await open();
    expect(await second.manifests.get("library/app", manifestRecord.digest)).toEqual(manifestRecord);
    expect((await second.tags.get("library/app", "v1"))?.updatedAt.getTime()).toBe(1_700_000_000_456);
    expect(await appliedVersions()).toEqual(Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
    expect(await query("SELECT * FROM marker")).toEqual([]);
  });

  it("applies only the steps a database lacks, in order, each with its record", async () => {
    await freshSchema();
    const pool = createPool({ url, maxConnections: 2 });
    pools.push(pool);
    const steps = ["CREATE TABLE one (x integer)", "INSERT INTO one VALUES (1)", "INSERT INTO one VALUES (2)"];
    await migrate(pool, steps.slice(0, 1));
    await migrate(pool, steps.slice(0, 2));
    await migrate(pool, steps);
    await migrate(pool, steps);
    expect(await query("SELECT x FROM one ORDER BY x")).toEqual([{ x: 1 }, { x: 2 }]);
    expect(await appliedVersions()).toEqual([1, 2, 3]);
  });

  it("rolls back a failing step with its record, and applies it once fixed", async () => {
    await freshSchema();
    const pool = createPool({ url, maxConnections: 2 });
    pools.push(pool);
    const broken = ["CREATE TABLE one (x integer)", "INSERT INTO one VALUES (1); INSERT INTO nowhere VALUES (2)"];
    await expect(migrate(pool, broken)).rejects.toThrow(/schema step 2 failed: .*nowhere/);
    expect(await query("SELECT x FROM one")).toEqual([]);
    expect(await appliedVersions()).toEqual([1]);
    await migrate(pool, [broken[0] ?? "", "INSERT INTO one VALUES (1)"]);
    expect(await query("SELECT x FROM one")).toEqual([{ x: 1 }]);
  });

  it("refuses a database from a newer schema version, or whose released steps were edited", async () => {
    await freshSchema();
    await (await openPostgresStore({ url, maxConnections: 2 })).close();
    await query(`INSERT INTO ${MIGRATIONS_TABLE} (version, checksum) VALUES ($1, 'x')`, [POSTGRES_SCHEMA_VERSION + 1]);
    await expect(openPostgresStore({ url, maxConnections: 2 })).rejects.toThrow(/newer than this server's/);

    await freshSchema();
    const pool = createPool({ url, maxConnections: 2 });
    pools.push(pool);
    await migrate(pool, ["CREATE TABLE one (x integer)"]);
    await expect(migrate(pool, ["CREATE TABLE one (x bigint)"])).rejects.toThrow(/never be edited/);
  });

  it("migrates once when several replicas open a new database at the same moment", async () => {
    await freshSchema();
    const stores = await within(
      60_000,
      "opening four stores at once",
      Promise.all(Array.from({ length: 4 }, () => open())),
    );
    expect(await appliedVersions()).toEqual(Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
    // Every one of them works on the one schema.
    await stores[0]?.manifests.put(manifestRecord, manifestBytes, { blobs: [], manifests: [] });
    for (const store of stores) expect(await store.manifests.get("library/app", manifestRecord.digest)).toBeDefined();
    // The advisory lock is released: a fifth opens at once.
    await within(5_000, "opening a fifth store", open());
  });

  it("waits for a migration running elsewhere instead of racing it", async () => {
    await freshSchema();
    const pool = createPool({ url, maxConnections: 2 });
    pools.push(pool);
    // A slow step holds the lock; the store opened meanwhile must find its table made.
    const slow = migrate(pool, ["SELECT pg_sleep(0.5); CREATE TABLE slow (x integer)"]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(open()).rejects.toThrow(/differs from this server's/);
    await slow;
    expect(await query("SELECT x FROM slow")).toEqual([]);
  });

  it("orders names byte by byte even in a database whose collation is not C", async () => {
    await freshSchema();
    const store = await open();
    const collations = await query<{ name: string }>(
      "SELECT collname AS name FROM pg_collation WHERE collname IN ('en-US-x-icu', 'en_US.utf8', 'en_US') LIMIT 1",
    );
    const collation = collations[0]?.name;
    // A linguistic order, where one exists, differs from byte order on these names.
    if (collation) {
      const linguistic = await query<{ name: string }>(
        `SELECT name FROM unnest(ARRAY['b', 'B', 'a-b', 'a_b', 'A']) AS name ORDER BY name COLLATE "${collation}"`,
      );
      expect(linguistic.map((row) => row.name)).not.toEqual(["A", "B", "a-b", "a_b", "b"]);
    }
    const blob = { digest: digestOf("x"), size: 1, parts: [], createdAt: new Date(0) };
    await store.blobs.create(blob);
    for (const name of ["b", "B", "a-b", "a_b", "A"]) await store.blobs.link(name, blob.digest);
    expect(await store.repositories.list({})).toEqual(["A", "B", "a-b", "a_b", "b"]);
    expect(await store.repositories.list({ after: "B", limit: 2 })).toEqual(["a-b", "a_b"]);
  });

  it("never reuses ids, even those of rolled-back inserts", async () => {
    await freshSchema();
    const store = await open();
    const user = (name: string) => ({
      username: name,
      email: "",
      realname: "",
      comment: "",
      passwordHash: "h",
      sysadmin: false,
    });
    const first = await store.users.create(user("a"), new Date(1));
    await expect(
      store.transaction(async (tx) => {
        await tx.users.create(user("b"), new Date(2));
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    await store.users.delete(first.id);
    const next = await store.users.create(user("c"), new Date(3));
    expect(next.id).toBeGreaterThan(first.id + 1);
  });

  it("passes errors other than unique violations through, not as conflicts", async () => {
    await freshSchema();
    const store = await open();
    const user = await store.users.create(
      { username: "alice", email: "", realname: "", comment: "", passwordHash: "h", sysadmin: false },
      new Date(1),
    );
    const adding = store.members.add(12345, user.id, ROLES.guest, new Date(2));
    await expect(adding).rejects.toThrow(/foreign key/);
    await expect(adding).rejects.not.toBeInstanceOf(ConflictError);
    await expect(store.members.add(12345, user.id, 9 as RoleId, new Date(2))).rejects.toThrow(/check constraint/);
  });

  it("enforces foreign keys: a tag must point at a manifest of its repository", async () => {
    await freshSchema();
    const store = await open();
    await expect(store.tags.put("library/app", "v1", digestOf("none"), new Date())).rejects.toThrow(/foreign key/);
    expect(await store.tags.get("library/app", "v1")).toBeUndefined();
  });

  it("deletes a manifest's bytes with the last repository holding them", async () => {
    await freshSchema();
    const store = await open();
    const contents = async () => (await query<{ n: string }>("SELECT count(*) AS n FROM manifest_contents"))[0]?.n;
    await store.manifests.put(manifestRecord, manifestBytes, { blobs: [], manifests: [] });
    await store.manifests.put({ ...manifestRecord, repository: "library/other" }, manifestBytes, {
      blobs: [],
      manifests: [],
    });
    expect(await contents()).toBe("1");
    await store.manifests.delete("library/app", manifestRecord.digest);
    expect(await contents()).toBe("1");
    await store.repositories.delete("library/other");
    expect(await contents()).toBe("0");
  });

  it("keeps a failed write inside a transaction from leaving half its changes", async () => {
    await freshSchema();
    const store = await open();
    await store.transaction(async (tx) => {
      // The manifest row is written, then the tag fails on its foreign key: the savepoint takes
      // back the tag alone, and the transaction goes on.
      await tx.manifests.put(manifestRecord, manifestBytes, { blobs: [], manifests: [] });
      await expect(tx.tags.put("library/app", "v1", digestOf("none"), new Date())).rejects.toThrow(/foreign key/);
      await tx.tags.put("library/app", "v2", manifestRecord.digest, new Date(5));
    });
    expect(await store.tags.list("library/app", {})).toEqual(["v2"]);
  });

  it("refuses a store write inside a transaction instead of deadlocking", async () => {
    await freshSchema();
    const store = await open();
    const storeWrite = store.transaction(async () => {
      await store.blobs.link("library/app", digestOf("a"));
    });
    await expect(within(2_000, "store write in a transaction", storeWrite)).rejects.toThrow(/inside a transaction/);
    const nested = store.transaction(() => store.transaction(async () => 1));
    await expect(within(2_000, "nested transaction", nested)).rejects.toThrow(/inside a transaction/);
    // Reads through the store stay allowed (on another connection), and the store still writes.
    expect(await store.transaction(() => store.repositories.exists("library/app"))).toBe(false);
    await store.manifests.put(manifestRecord, manifestBytes, { blobs: [], manifests: [] });
    expect(await store.repositories.exists("library/app")).toBe(true);
  });

  it("refuses a transaction's areas once it has ended", async () => {
    await freshSchema();
    const store = await open();
    const leaked = await store.transaction(async (tx) => tx);
    await expect(leaked.repositories.exists("library/app")).rejects.toThrow(/has ended/);
    await expect(leaked.manifests.put(manifestRecord, manifestBytes, { blobs: [], manifests: [] })).rejects.toThrow(
      /has ended/,
    );
    expect(await store.repositories.exists("library/app")).toBe(false);
  });

  it("waits for queued writes when closed, and refuses writes after", async () => {
    await freshSchema();
    const store = await openPostgresStore({ url, maxConnections: 2 });
    const writing = store.transaction(async (tx) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await tx.manifests.put(manifestRecord, manifestBytes, { blobs: [], manifests: [] });
    });
    await store.close();
    await writing;
    await expect(store.tags.put("library/app", "v1", manifestRecord.digest, new Date())).rejects.toThrow(/closed/);
    const reopened = await open();
    expect(await reopened.manifests.get("library/app", manifestRecord.digest)).toEqual(manifestRecord);
  });

  it("goes on after its connections are cut (a database restart or failover)", async () => {
    await freshSchema();
    const idleErrors: Error[] = [];
    const store = await openPostgresStore({ url, maxConnections: 3, onIdleError: (error) => idleErrors.push(error) });
    opened.push(store);
    await store.manifests.put(manifestRecord, manifestBytes, { blobs: [], manifests: [] });
    await Promise.all([store.repositories.exists("a"), store.repositories.exists("b")]);
    const cut = await query<{ cut: boolean }>(
      `SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'airlock-registry'`,
    );
    expect(cut.length).toBeGreaterThan(0);
    // At once, before the pool has heard of it: a write and reads run again on fresh connections.
    await store.tags.put("library/app", "at-once", manifestRecord.digest, new Date(1));
    await Promise.all([
      store.repositories.exists("a"),
      store.repositories.exists("b"),
      store.tags.list("library/app", {}),
    ]);
    // The pool hears of it on its idle connections, and drops them.
    for (let waited = 0; idleErrors.length === 0 && waited < 5_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(idleErrors.length).toBeGreaterThan(0);
    await store.tags.put("library/app", "after", manifestRecord.digest, new Date(1));
    expect(await store.tags.list("library/app", {})).toEqual(["after", "at-once"]);
  });

  it("needs two connections at least", async () => {
    await expect(openPostgresStore({ url: testDatabase().url, maxConnections: 1 })).rejects.toThrow(/at least 2/);
  });

  it("fails to open within its connection timeout when the server is unreachable", async () => {
    // A port nothing listens on: refused at once, not hanging.
    await expect(
      within(15_000, "opening", openPostgresStore({ url: "postgres://postgres@127.0.0.1:1/x", maxConnections: 2 })),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});
