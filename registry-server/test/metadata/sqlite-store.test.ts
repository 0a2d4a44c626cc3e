// The SQLite metadata store: the shared contract on a temp file, then what is SQLite's own (schema
// versioning, WAL, the file on disk, misuse of a transaction).

import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConflictError, ROLES, type RoleId } from "../../src/metadata/identity-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { SQLITE_SCHEMA_VERSION } from "../../src/metadata/sqlite/schema.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";
import { identityStoreContract } from "../contracts/identity-store-contract.ts";
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
import { digestOf, metadataStoreContract, type ContractStore } from "../contracts/metadata-store-contract.ts";

function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), "airlock-meta-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Rejects when `promise` takes longer than `ms`: a deadlock fails the test instead of hanging it. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function openContractStore(): Promise<ContractStore> {
  const temp = tempDir();
  const store = await openSqliteStore(path.join(temp.dir, "metadata.db"));
  return {
    store,
    cleanup: async () => {
      try {
        // close() waits for open transactions: one a failed test left open must not hang the run.
        await within(5_000, "closing the store", store.close());
      } finally {
        temp.remove();
      }
    },
  };
}

metadataStoreContract("sqlite", openContractStore);
identityStoreContract("sqlite", openContractStore);
registryStoreContract("sqlite", openContractStore);
settingsStoreContract("sqlite", openContractStore);
jobStoreContract("sqlite", openContractStore);
artifactStoreContract("sqlite", openContractStore);
lifecycleStoreContract("sqlite", openContractStore);
scanStoreContract("sqlite", openContractStore);
scannerStoreContract("sqlite", openContractStore);
webhookStoreContract("sqlite", openContractStore);
declarationStoreContract("sqlite", openContractStore);
replicationStoreContract("sqlite", openContractStore);
sessionStoreContract("sqlite", openContractStore);
proxyCacheStatsContract("sqlite", openContractStore);

/** Looks at the file with a connection of its own, closed before returning. */
function inspect<T>(file: string, look: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return look(db);
  } finally {
    db.close();
  }
}

function count(db: DatabaseSync, table: string): number {
  return Number(db.prepare(`SELECT count(*) AS n FROM ${table}`).get()?.["n"]);
}

const manifestBytes = Buffer.from('{"schemaVersion":2}');
const manifestRecord = {
  repository: "library/app",
  digest: digestOf('{"schemaVersion":2}'),
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  size: manifestBytes.length,
  createdAt: new Date(1_700_000_000_123),
};

describe("sqlite metadata store", () => {
  let temp: { dir: string; remove: () => void };
  let file: string;
  const opened: MetadataStore[] = [];

  beforeEach(() => {
    temp = tempDir();
    // A directory that does not exist yet: opening creates it.
    file = path.join(temp.dir, "nested", "dir", "metadata.db");
  });

  afterEach(async () => {
    try {
      for (const store of opened.splice(0)) await within(5_000, "closing the store", store.close());
    } finally {
      temp.remove();
    }
  });

  async function open(): Promise<MetadataStore> {
    const store = await openSqliteStore(file);
    opened.push(store);
    return store;
  }

  it("creates the schema at the current version, in WAL mode", async () => {
    await open();
    expect(SQLITE_SCHEMA_VERSION).toBeGreaterThanOrEqual(1);
    const { version, journal, tables } = inspect(file, (db) => ({
      version: db.prepare("PRAGMA user_version").get()?.["user_version"],
      journal: db.prepare("PRAGMA journal_mode").get()?.["journal_mode"],
      tables: db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .all()
        .map((row) => row["name"]),
    }));
    expect(version).toBe(SQLITE_SCHEMA_VERSION);
    expect(journal).toBe("wal");
    expect(tables).toEqual([
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
      // SQLite's own, for the AUTOINCREMENT ids.
      "sqlite_sequence",
      "system_settings",
      "tags",
      "uploads",
      "users",
      "webhook_last_triggers",
      "webhook_policies",
    ]);
  });

  it("keeps the data when reopened, without running migrations again", async () => {
    const first = await openSqliteStore(file);
    await first.manifests.put(manifestRecord, manifestBytes, { blobs: [], manifests: [] });
    await first.tags.put("library/app", "v1", manifestRecord.digest, new Date(1_700_000_000_456));
    await first.close();
    // A schema object the migrations do not make: re-running them on a fresh schema would not
    // keep it, and re-running them here would fail on the existing tables.
    const writable = new DatabaseSync(file);
    writable.exec("CREATE TABLE marker (x INTEGER)");
    writable.close();

    const second = await open();
    expect(await second.manifests.get("library/app", manifestRecord.digest)).toEqual(manifestRecord);
    expect((await second.tags.get("library/app", "v1"))?.updatedAt.getTime()).toBe(1_700_000_000_456);
    expect(inspect(file, (db) => db.prepare("PRAGMA user_version").get()?.["user_version"])).toBe(
      SQLITE_SCHEMA_VERSION,
    );
    expect(inspect(file, (db) => count(db, "marker"))).toBe(0);
  });

  it("refuses a database from a newer schema version", async () => {
    await (await openSqliteStore(file)).close();
    const writable = new DatabaseSync(file);
    writable.exec(`PRAGMA user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    writable.close();
    await expect(openSqliteStore(file)).rejects.toThrow(/newer/);
  });

  it("migrates a database of the first schema version, keeping its content", async () => {
    const first = await openSqliteStore(file);
    await first.manifests.put(manifestRecord, manifestBytes, { blobs: [], manifests: [] });
    await first.close();
    // Back to version 1: the content tables only (sqlite_sequence cannot be dropped; it is empty).
    const writable = new DatabaseSync(file);
    writable.exec(`
      DROP TABLE job_logs; DROP TABLE job_tasks; DROP TABLE job_executions; DROP TABLE job_pools;
      DROP TABLE job_queue_pauses; DROP TABLE job_schedules; DROP TABLE system_settings;
      DROP TABLE replication_policies; DROP TABLE proxy_cache_stats; DROP TABLE registries; DROP TABLE webhook_last_triggers;
      DROP TABLE webhook_policies; DROP TABLE scanner_registrations; DROP TABLE scan_reports; DROP TABLE cve_allowlists;
      DROP TABLE artifact_pins; DROP TABLE gc_doomed_parts; DROP TABLE retention_policies; DROP TABLE immutable_rules;
      DROP TABLE sessions; DROP TABLE declarations; DROP TABLE audit_logs; DROP TABLE robots; DROP TABLE project_members; DROP TABLE projects; DROP TABLE users;
      PRAGMA user_version = 1;
    `);
    writable.close();

    const store = await open();
    expect(inspect(file, (db) => db.prepare("PRAGMA user_version").get()?.["user_version"])).toBe(
      SQLITE_SCHEMA_VERSION,
    );
    expect(await store.manifests.get("library/app", manifestRecord.digest)).toEqual(manifestRecord);
    const user = await store.users.create(
      { username: "admin", email: "", realname: "", comment: "", passwordHash: "h", sysadmin: true },
      new Date(1),
    );
    expect(await store.users.getByName("admin")).toEqual(user);
    expect(await store.projects.repositoryCount("library")).toBe(1);
  });

  it("passes errors other than unique violations through, not as conflicts", async () => {
    const store = await open();
    const user = await store.users.create(
      { username: "alice", email: "", realname: "", comment: "", passwordHash: "h", sysadmin: false },
      new Date(1),
    );
    const adding = store.members.add(12345, user.id, ROLES.guest, new Date(2));
    await expect(adding).rejects.toThrow(/FOREIGN KEY/);
    await expect(adding).rejects.not.toBeInstanceOf(ConflictError);
    await expect(store.members.add(12345, user.id, 9 as RoleId, new Date(2))).rejects.toThrow(/CHECK/);
  });

  it("needs a file, not an in-memory database", async () => {
    await expect(openSqliteStore(":memory:")).rejects.toThrow(/file path/);
  });

  it("deletes a manifest's bytes with the last repository holding them", async () => {
    const store = await open();
    await store.manifests.put(manifestRecord, manifestBytes, { blobs: [], manifests: [] });
    await store.manifests.put({ ...manifestRecord, repository: "library/other" }, manifestBytes, {
      blobs: [],
      manifests: [],
    });
    expect(inspect(file, (db) => count(db, "manifest_contents"))).toBe(1);
    await store.manifests.delete("library/app", manifestRecord.digest);
    expect(inspect(file, (db) => count(db, "manifest_contents"))).toBe(1);
    await store.manifests.delete("library/other", manifestRecord.digest);
    expect(inspect(file, (db) => count(db, "manifest_contents"))).toBe(0);
  });

  it("replaces a manifest's references when it is put again, and deletes them with it", async () => {
    const store = await open();
    const refs = () =>
      inspect(file, (db) => ({
        blobs: db
          .prepare("SELECT blob_digest AS d FROM manifest_blob_refs ORDER BY d")
          .all()
          .map((r) => r["d"]),
        children: db
          .prepare("SELECT child_digest AS d FROM manifest_child_refs ORDER BY d")
          .all()
          .map((r) => r["d"]),
      }));
    await store.manifests.put(manifestRecord, manifestBytes, { blobs: ["sha256:a", "sha256:b"], manifests: [] });
    expect(refs()).toEqual({ blobs: ["sha256:a", "sha256:b"], children: [] });
    await store.manifests.put(manifestRecord, manifestBytes, { blobs: ["sha256:c"], manifests: ["sha256:d"] });
    expect(refs()).toEqual({ blobs: ["sha256:c"], children: ["sha256:d"] });
    await store.manifests.delete("library/app", manifestRecord.digest);
    expect(refs()).toEqual({ blobs: [], children: [] });
  });

  it("enforces foreign keys: a tag must point at a manifest of its repository", async () => {
    const store = await open();
    await expect(store.tags.put("library/app", "v1", digestOf("none"), new Date())).rejects.toThrow(/FOREIGN KEY/);
    expect(await store.tags.get("library/app", "v1")).toBeUndefined();
  });

  it("commits concurrent writes together, each one all or nothing", async () => {
    const store = await open();
    const blob = (name: string) => ({
      digest: `sha256:${createHash("sha256").update(name).digest("hex")}`,
      size: 1,
      parts: [{ path: `blobs/${name}`, size: 1 }],
      createdAt: new Date(0),
    });
    // Queued together, these share a commit; the failing one must leave no trace, the others stay.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.transaction(async (tx) => {
          await tx.blobs.create(blob(`group-${i}`));
          await tx.blobs.link(`repo/${i}`, blob(`group-${i}`).digest);
          if (i % 7 === 3) throw new Error(`work ${i} fails`);
          return i;
        }),
      ),
    );
    for (const [i, outcome] of outcomes.entries()) {
      const failing = i % 7 === 3;
      expect(outcome.status, `work ${i}`).toBe(failing ? "rejected" : "fulfilled");
      expect(await store.blobs.get(blob(`group-${i}`).digest), `work ${i}`).toEqual(
        failing ? undefined : blob(`group-${i}`),
      );
      expect(await store.repositories.exists(`repo/${i}`), `work ${i}`).toBe(!failing);
    }
  });

  it("refuses a store write inside a transaction instead of deadlocking", async () => {
    const store = await open();
    const storeWrite = store.transaction(async () => {
      await store.blobs.link("library/app", digestOf("a"));
    });
    await expect(within(2_000, "store write in a transaction", storeWrite)).rejects.toThrow(/inside a transaction/);
    const nested = store.transaction(() => store.transaction(async () => 1));
    await expect(within(2_000, "nested transaction", nested)).rejects.toThrow(/inside a transaction/);
    // Reads through the store stay allowed, and the store still writes afterwards.
    expect(await store.transaction(() => store.repositories.exists("library/app"))).toBe(false);
    await store.manifests.put(manifestRecord, manifestBytes, { blobs: [], manifests: [] });
    expect(await store.repositories.exists("library/app")).toBe(true);
  });

  it("refuses a transaction's areas once it has ended", async () => {
    const store = await open();
    const leaked = await store.transaction(async (tx) => tx);
    await expect(leaked.repositories.exists("library/app")).rejects.toThrow(/has ended/);
    await expect(leaked.manifests.put(manifestRecord, manifestBytes, { blobs: [], manifests: [] })).rejects.toThrow(
      /has ended/,
    );
    expect(await store.repositories.exists("library/app")).toBe(false);
  });

  it("waits for queued writes when closed", async () => {
    const store = await openSqliteStore(file);
    const writing = store.transaction(async (tx) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await tx.manifests.put(manifestRecord, manifestBytes, { blobs: [], manifests: [] });
    });
    await store.close();
    await writing;
    const reopened = await open();
    expect(await reopened.manifests.get("library/app", manifestRecord.digest)).toEqual(manifestRecord);
  });
});
