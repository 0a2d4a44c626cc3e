// The SQLite metadata store (node:sqlite), for single-node deployments: one database file next to
// the blob storage, its schema (schema.ts) versioned by `PRAGMA user_version`. Each area's
// statements are in a file of their own beside this one (blobs.ts … artifacts.ts), over the rows
// shared with the PostgreSQL store (../rows/); postgres/ holds the same files. This module decides
// which connection each statement runs on, and when it commits.
//
// DatabaseSync is synchronous, and a transaction spans awaits (the caller's work between its
// statements). On one connection, statements from other requests would then run inside that open
// transaction. So the store holds two connections to the file:
// - the writer: every write, each in its own BEGIN IMMEDIATE transaction, and everything inside
//   `transaction()`. Writes queue and run one batch at a time: the works queued together share
//   one BEGIN IMMEDIATE … COMMIT, each in its own savepoint (a group commit, `writeTransaction`).
// - the reader (read-only): reads made outside transactions. WAL mode gives it the last committed
//   state, never the writer's open transaction, and it never waits for the writer.
//
// Several processes may share the file: the worker processes of one server (cluster/). WAL mode
// lets every process read while one writes; BEGIN IMMEDIATE takes the write lock before a
// transaction reads anything, so what a write transaction checks (a quota, an upload's offset)
// is the last committed state of every process, not a snapshot another process has moved past.
// The processes take turns through a `SqliteWriteLock` before BEGIN IMMEDIATE
// (cluster/write-turns.ts says why), so that SQLite's busy handler, which would block the event
// loop, only ever waits for processes outside the server. Checkpoints need nothing of ours: the
// connection whose commit takes the WAL past its threshold copies it back (PASSIVE, never
// waiting for readers, whose statements are short), and the last connection to close, in
// whichever process, checkpoints what is left and removes the WAL.

import { AsyncLocalStorage } from "node:async_hooks";
import { mkdir } from "node:fs/promises";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { MetadataFullError, type MetadataAreas, type MetadataStore } from "../metadata-store.ts";
import { ReadSnapshots } from "./read-snapshot.ts";
import { WalIndexHeader } from "./wal-index-header.ts";
import { RowCache } from "./row-cache.ts";
import { migrate } from "./schema.ts";
import { Db, type Run } from "./statements.ts";
import { WalSync } from "./wal-sync.ts";
import { blobArea } from "./blobs.ts";
import { uploadArea } from "./uploads.ts";
import { manifestArea } from "./manifests.ts";
import { tagArea } from "./tags.ts";
import { repositoryArea } from "./repositories.ts";
import { userArea } from "./users.ts";
import { projectArea } from "./projects.ts";
import { memberArea } from "./members.ts";
import { robotArea } from "./robots.ts";
import { auditArea } from "./audit.ts";
import { registryArea } from "./registries.ts";
import { settingsArea } from "./settings.ts";
import { jobArea } from "./jobs.ts";
import { artifactArea } from "./artifacts.ts";
import { gcArea } from "./gc.ts";
import { lifecycleArea } from "./lifecycle.ts";
import { retentionArea } from "./retentions.ts";
import { immutableRuleArea } from "./immutable-rules.ts";
import { cveAllowlistArea, scanReportArea } from "./scans.ts";
import { scannerArea } from "./scanners.ts";
import { webhookArea } from "./webhooks.ts";
import { replicationPolicyArea } from "./replication-policies.ts";
import { sessionArea } from "./sessions.ts";
import { declarationArea } from "./declarations.ts";
import { proxyCacheStatsArea } from "./proxy-cache-stats.ts";

/**
 * How long a connection waits for another process's lock before failing. Within this process the
 * write queue already serialises writers; this only matters when a second process (a backup, the CLI)
 * touches the file, and the wait blocks the event loop, so it stays short.
 */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * Serialises write transactions among the processes sharing the file (cluster/write-turns.ts):
 * `acquire` resolves with the function that gives the turn back.
 */
export interface SqliteWriteLock {
  acquire(): Promise<() => void>;
}

/** One process alone: the store's own queue already serialises its writes. */
const PROCESS_LOCAL: SqliteWriteLock = { acquire: async () => () => undefined };

export interface SqliteStoreOptions {
  /** Taken around each write transaction when other processes write the same file. */
  writeLock?: SqliteWriteLock;
}

/** Opens (creating and migrating when needed) the metadata database at `file`. */
export async function openSqliteStore(file: string, options: SqliteStoreOptions = {}): Promise<MetadataStore> {
  // Two connections to ":memory:" would be two separate databases.
  if (file === "" || file === ":memory:" || file.startsWith("file:")) {
    throw new Error(`the SQLite metadata store needs a file path, not ${JSON.stringify(file)}`);
  }
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });

  const writer = new DatabaseSync(file, { enableForeignKeyConstraints: true, timeout: BUSY_TIMEOUT_MS });
  let reader: DatabaseSync | undefined;
  try {
    const journalMode = writer.prepare("PRAGMA journal_mode = WAL").get()?.["journal_mode"];
    if (journalMode !== "wal") throw new Error(`${file}: could not switch to WAL mode (got ${String(journalMode)})`);
    // A push acknowledged to a client survives a power cut, not only a process crash: the
    // migrations commit with FULL (SQLite syncs the log in COMMIT), every later write with NORMAL
    // and the store's own sync of the log before the write is reported done (wal-sync.ts: the
    // fsync then runs off the event loop). Pulls only read and pay neither.
    writer.exec("PRAGMA synchronous = FULL");
    migrate(writer, file);
    writer.exec("PRAGMA synchronous = NORMAL");
    // Opened after the writer made the file WAL (which is persistent), so it reads in WAL mode.
    reader = new DatabaseSync(file, { readOnly: true, timeout: BUSY_TIMEOUT_MS });
  } catch (error) {
    reader?.close();
    writer.close();
    throw error;
  }
  const rowCache = new RowCache();
  const snapshots = new ReadSnapshots(reader, rowCache, new WalIndexHeader(path.resolve(file)));
  return new SqliteMetadataStore(
    new Db(reader, rowCache, snapshots.beforeStatement),
    snapshots,
    new Db(writer),
    options.writeLock ?? PROCESS_LOCAL,
    new WalSync(path.resolve(file)),
  );
}

/** The areas, with reads going through `read` and writes through `write`. */
function bindAreas(read: Run, write: Run): MetadataAreas {
  return {
    blobs: blobArea(read, write),
    uploads: uploadArea(read, write),
    manifests: manifestArea(read, write),
    tags: tagArea(read, write),
    repositories: repositoryArea(read, write),
    users: userArea(read, write),
    projects: projectArea(read, write),
    members: memberArea(read, write),
    robots: robotArea(read, write),
    audit: auditArea(read, write),
    registries: registryArea(read, write),
    settings: settingsArea(read, write),
    jobs: jobArea(read, write),
    artifacts: artifactArea(read, write),
    gc: gcArea(read, write),
    lifecycle: lifecycleArea(read, write),
    retentions: retentionArea(read, write),
    immutableRules: immutableRuleArea(read, write),
    scanReports: scanReportArea(read, write),
    cveAllowlists: cveAllowlistArea(read, write),
    scanners: scannerArea(read, write),
    webhookPolicies: webhookArea(read, write),
    replicationPolicies: replicationPolicyArea(read, write),
    sessions: sessionArea(read, write),
    declarations: declarationArea(read, write),
    proxyCacheStats: proxyCacheStatsArea(read, write),
  };
}

/** SQLite's primary result code for "database or disk is full" (SQLITE_FULL). */
const SQLITE_FULL = 13;

/**
 * `error` as the store reports it: a write that found the disk full (SQLite rolled it back) is a
 * MetadataFullError, anything else itself.
 */
function reported(error: unknown): Error {
  const code = (error as { errcode?: unknown } | null | undefined)?.errcode;
  // Extended result codes keep the primary one in their low byte.
  if (typeof code === "number" && (code & 0xff) === SQLITE_FULL) {
    return new MetadataFullError("database or disk is full (SQLITE_FULL)", { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Works sharing one commit at most: bounds how long the first one waits for its commit. */
const MAX_GROUP_COMMIT = 64;

interface PendingWrite {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** One `transaction()` call; its areas work only while it is open. */
interface OpenTransaction {
  open: boolean;
}

class SqliteMetadataStore implements MetadataStore {
  readonly blobs: MetadataAreas["blobs"];
  readonly uploads: MetadataAreas["uploads"];
  readonly manifests: MetadataAreas["manifests"];
  readonly tags: MetadataAreas["tags"];
  readonly repositories: MetadataAreas["repositories"];
  readonly users: MetadataAreas["users"];
  readonly projects: MetadataAreas["projects"];
  readonly members: MetadataAreas["members"];
  readonly robots: MetadataAreas["robots"];
  readonly audit: MetadataAreas["audit"];
  readonly registries: MetadataAreas["registries"];
  readonly settings: MetadataAreas["settings"];
  readonly jobs: MetadataAreas["jobs"];
  readonly artifacts: MetadataAreas["artifacts"];
  readonly gc: MetadataAreas["gc"];
  readonly lifecycle: MetadataAreas["lifecycle"];
  readonly retentions: MetadataAreas["retentions"];
  readonly immutableRules: MetadataAreas["immutableRules"];
  readonly scanReports: MetadataAreas["scanReports"];
  readonly cveAllowlists: MetadataAreas["cveAllowlists"];
  readonly scanners: MetadataAreas["scanners"];
  readonly webhookPolicies: MetadataAreas["webhookPolicies"];
  readonly replicationPolicies: MetadataAreas["replicationPolicies"];
  readonly sessions: MetadataAreas["sessions"];
  readonly declarations: MetadataAreas["declarations"];
  readonly proxyCacheStats: MetadataAreas["proxyCacheStats"];

  private readonly reader: Db;
  /** Groups the reader's statements into short read transactions (read-snapshot.ts). */
  private readonly snapshots: ReadSnapshots;
  private readonly writer: Db;
  private readonly writeLock: SqliteWriteLock;
  /** Makes each commit durable before its writes are reported done. */
  private readonly walSync: WalSync;
  /** Writes waiting for the writer connection, and the loop running them (when it runs). */
  private readonly pendingWrites: PendingWrite[] = [];
  private draining: Promise<void> | undefined;
  /** The transaction whose work is running in this async context, to catch self-deadlocks. */
  private readonly currentTransaction = new AsyncLocalStorage<OpenTransaction>();
  private closing: Promise<void> | undefined;

  constructor(reader: Db, snapshots: ReadSnapshots, writer: Db, writeLock: SqliteWriteLock, walSync: WalSync) {
    this.reader = reader;
    this.walSync = walSync;
    this.snapshots = snapshots;
    this.writer = writer;
    this.writeLock = writeLock;
    const areas = bindAreas(
      async (query) => this.snapshots.run(() => query(this.reader)),
      (query) => this.writeTransaction(() => query(this.writer)),
    );
    this.blobs = areas.blobs;
    this.uploads = areas.uploads;
    this.manifests = areas.manifests;
    this.tags = areas.tags;
    this.repositories = areas.repositories;
    this.users = areas.users;
    this.projects = areas.projects;
    this.members = areas.members;
    this.robots = areas.robots;
    this.audit = areas.audit;
    this.registries = areas.registries;
    this.settings = areas.settings;
    this.jobs = areas.jobs;
    this.artifacts = areas.artifacts;
    this.gc = areas.gc;
    this.lifecycle = areas.lifecycle;
    this.retentions = areas.retentions;
    this.immutableRules = areas.immutableRules;
    this.scanReports = areas.scanReports;
    this.cveAllowlists = areas.cveAllowlists;
    this.scanners = areas.scanners;
    this.webhookPolicies = areas.webhookPolicies;
    this.replicationPolicies = areas.replicationPolicies;
    this.sessions = areas.sessions;
    this.declarations = areas.declarations;
    this.proxyCacheStats = areas.proxyCacheStats;
  }

  transaction<T>(work: (tx: MetadataAreas) => Promise<T>): Promise<T> {
    return this.writeTransaction(async () => {
      const transaction: OpenTransaction = { open: true };
      // Reads and writes alike go to the writer connection, so they see the transaction's writes.
      // After the end they would run outside any transaction, in the middle of someone else's.
      const run: Run = async (query) => {
        if (!transaction.open) throw new Error("the transaction has ended: its areas can no longer be used");
        return query(this.writer);
      };
      try {
        return await this.currentTransaction.run(transaction, () => work(bindAreas(run, run)));
      } finally {
        transaction.open = false;
      }
    });
  }

  /**
   * Queues `work` for the writer. Queued works run one after another, each inside a savepoint,
   * and those queued together share one BEGIN IMMEDIATE … COMMIT: a group commit. Every work's
   * writes still commit or roll back as a whole (its savepoint), but concurrent requests pay one
   * WAL fsync between them instead of one each.
   */
  private writeTransaction<T>(work: () => T | Promise<T>): Promise<T> {
    if (this.currentTransaction.getStore()?.open) {
      // It would wait for the very transaction it runs in.
      return Promise.reject(
        new Error("store write inside a transaction: use the transaction's areas (tx) instead of the store's"),
      );
    }
    if (this.closing) {
      // Queued now, it would wait for a writer that is gone: say so instead.
      return Promise.reject(new Error("the metadata store is closed"));
    }
    return new Promise<T>((resolve, reject) => {
      this.pendingWrites.push({
        work,
        resolve: resolve as (value: unknown) => void,
        reject: (error) => reject(reported(error)),
      });
      this.startDraining();
    });
  }

  private startDraining(): void {
    if (this.draining) return;
    this.draining = this.drainWrites().finally(() => {
      this.draining = undefined;
      // A write queued between the loop's last look and now must not wait for the next one.
      if (this.pendingWrites.length > 0) this.startDraining();
    });
  }

  /** Runs queued works in batches, one transaction per batch, until the queue is empty. */
  private async drainWrites(): Promise<void> {
    while (this.pendingWrites.length > 0) {
      let release: () => void;
      try {
        release = await this.writeLock.acquire();
      } catch (error) {
        // No turn (the other processes' writes are stuck): what waits now fails, and is retried.
        for (const write of this.pendingWrites.splice(0)) write.reject(error);
        return;
      }
      try {
        // Taken once the turn is here: the writes queued while it was awaited share this commit.
        await this.runBatch(this.pendingWrites.splice(0, MAX_GROUP_COMMIT));
      } finally {
        release();
      }
    }
  }

  /** One transaction: each work in its savepoint, one COMMIT for them all. */
  private async runBatch(batch: PendingWrite[]): Promise<void> {
    const db = this.writer.connection;
    const done: Array<{ write: PendingWrite; value: unknown }> = [];
    for (const [index, write] of batch.entries()) {
      if (!db.isTransaction) {
        try {
          db.exec("BEGIN IMMEDIATE");
        } catch (error) {
          // Locked beyond the busy timeout by a process outside the server: the works not run
          // yet fail (a client retries), rather than wait for ever in a queue nobody drains.
          for (const waiting of batch.slice(index)) waiting.reject(error);
          break;
        }
      }
      db.exec("SAVEPOINT work");
      try {
        const value = await write.work();
        db.exec("RELEASE work");
        done.push({ write, value });
      } catch (error) {
        write.reject(error);
        if (db.isTransaction) {
          db.exec("ROLLBACK TO work");
          db.exec("RELEASE work");
        } else {
          // SQLite rolled the whole transaction back by itself (it does after some errors): the
          // works done before in this batch are gone too. Report it; the next one starts afresh.
          for (const earlier of done.splice(0)) earlier.write.reject(error);
        }
      }
    }
    if (!db.isTransaction) return;
    try {
      db.exec("COMMIT");
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK");
      for (const { write } of done) write.reject(error);
      return;
    }
    // What runs after these writes must read them, not an older snapshot.
    this.snapshots.end();
    // Reported done once durable; the next batch need not wait for that (nor hold the turn).
    this.walSync.sync().then(
      () => {
        for (const { write, value } of done) write.resolve(value);
      },
      (error: unknown) => {
        for (const { write } of done) write.reject(error);
      },
    );
  }

  close(): Promise<void> {
    // Queued writes finish first; the reader closes first so the writer, closing last,
    // checkpoints the WAL into the database file.
    this.closing ??= (async () => {
      while (this.draining) await this.draining;
      await this.walSync.close();
      this.snapshots.close();
      this.reader.connection.close();
      this.writer.connection.close();
    })();
    return this.closing;
  }
}
