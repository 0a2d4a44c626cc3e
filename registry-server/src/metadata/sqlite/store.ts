// The SQLite metadata store (node:sqlite), for single-node deployments: one database file next to
// the blob storage, its schema (schema.ts) versioned by `PRAGMA user_version`.
//
// DatabaseSync is synchronous, and a transaction spans awaits (the caller's work between its
// statements). On one connection, statements from other requests would then run inside that open
// transaction. So the store holds two connections to the file:
// - the writer: every write, each in its own BEGIN IMMEDIATE transaction, and everything inside
//   `transaction()`. An async mutex (a promise chain) lets one write transaction at a time use it.
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
import {
  MetadataFullError,
  PUSH_TIME_RESOLUTION_MS,
  sameManifest,
  type ManifestRecord,
  type ManifestReferences,
  type MetadataAreas,
  type MetadataStore,
  type Page,
  type TagRecord,
} from "../metadata-store.ts";
import { IdentityQueries, bindIdentityAreas } from "./identity.ts";
import { RegistryQueries, bindRegistryArea } from "./registries.ts";
import { JobQueries, bindJobArea } from "./jobs.ts";
import { SettingsQueries, bindSettingsArea } from "./settings.ts";
import { ArtifactQueries, bindArtifactArea } from "./artifacts.ts";
import { ReadSnapshots } from "./read-snapshot.ts";
import { migrate } from "./schema.ts";
import { Db } from "./statements.ts";
import { blobArea } from "./blobs.ts";
import { ensureRepository, repositoryArea } from "./repositories.ts";
import { uploadArea } from "./uploads.ts";

/**
 * How long a connection waits for another process's lock before failing. Within this process the
 * mutex already serialises writers; this only matters when a second process (a backup, the CLI)
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
    // FULL: a push acknowledged to a client survives a power cut, not only a process crash. It
    // costs one WAL fsync per write transaction; pulls only read and do not pay it.
    writer.exec("PRAGMA synchronous = FULL");
    migrate(writer, file);
    // Opened after the writer made the file WAL (which is persistent), so it reads in WAL mode.
    reader = new DatabaseSync(file, { readOnly: true, timeout: BUSY_TIMEOUT_MS });
  } catch (error) {
    reader?.close();
    writer.close();
    throw error;
  }
  return new SqliteMetadataStore(new Queries(reader), new Queries(writer), options.writeLock ?? PROCESS_LOCAL);
}

interface ManifestRow {
  repository: string;
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  subject: string | null;
  annotations: string | null;
  created_at: number;
  config_media_type: string | null;
}

interface TagRow {
  repository: string;
  name: string;
  digest: string;
  updated_at: number;
}

const MANIFEST_COLUMNS =
  "repository, digest, media_type, size, artifact_type, subject, annotations, created_at, config_media_type";

/**
 * The store's queries on one connection, synchronous. Statements are prepared once per
 * connection and reused: the hot reads (tag, manifest, blob lookups) are one indexed query each.
 */
class Queries extends Db {
  /** The identity areas' queries, on the same connection. */
  readonly identity: IdentityQueries;
  /** The registries area's queries, on the same connection. */
  readonly registries: RegistryQueries;
  /** The settings area's queries, on the same connection. */
  readonly settings: SettingsQueries;
  /** The jobs area's queries, on the same connection. */
  readonly jobs: JobQueries;
  /** The artifacts area's queries, on the same connection. */
  readonly artifacts: ArtifactQueries;

  constructor(db: DatabaseSync) {
    super(db);
    this.registries = new RegistryQueries(db);
    this.settings = new SettingsQueries(db);
    this.jobs = new JobQueries(db);
    this.artifacts = new ArtifactQueries(db);
    this.identity = new IdentityQueries(db);
  }

  // Manifests

  putManifest(record: ManifestRecord, content: Uint8Array, references: ManifestReferences): void {
    const recorded = this.getManifest(record.repository, record.digest);
    if (recorded && sameManifest(recorded, this.referencesOf(recorded), record, references)) {
      // Unchanged: only its push time moves, as on PostgreSQL (see PUSH_TIME_RESOLUTION_MS).
      if (record.createdAt.getTime() - recorded.createdAt.getTime() >= PUSH_TIME_RESOLUTION_MS) {
        this.run(
          "UPDATE manifests SET created_at = ? WHERE repository = ? AND digest = ?",
          record.createdAt.getTime(),
          record.repository,
          record.digest,
        );
      }
      return;
    }
    ensureRepository(this, record.repository, record.createdAt);
    this.run(
      "INSERT INTO manifest_contents (digest, content) VALUES (?, ?) ON CONFLICT DO NOTHING",
      record.digest,
      content,
    );
    // An upsert, not INSERT OR REPLACE: replacing deletes the row first, and the cascade would
    // take the manifest's tags with it.
    this.run(
      `INSERT INTO manifests (${MANIFEST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (repository, digest) DO UPDATE SET
           media_type = excluded.media_type, size = excluded.size, artifact_type = excluded.artifact_type,
           subject = excluded.subject, annotations = excluded.annotations, created_at = excluded.created_at,
           config_media_type = excluded.config_media_type`,
      record.repository,
      record.digest,
      record.mediaType,
      record.size,
      record.artifactType ?? null,
      record.subject ?? null,
      record.annotations ? JSON.stringify(record.annotations) : null,
      record.createdAt.getTime(),
      record.configMediaType ?? null,
    );
    this.run(
      "DELETE FROM manifest_blob_refs WHERE repository = ? AND manifest_digest = ?",
      record.repository,
      record.digest,
    );
    this.run(
      "DELETE FROM manifest_child_refs WHERE repository = ? AND manifest_digest = ?",
      record.repository,
      record.digest,
    );
    // One statement per kind whatever the number of references: the digests go in as a JSON array.
    this.run(
      `INSERT OR IGNORE INTO manifest_blob_refs (repository, manifest_digest, blob_digest)
         SELECT ?, ?, value FROM json_each(?)`,
      record.repository,
      record.digest,
      JSON.stringify(references.blobs),
    );
    this.run(
      `INSERT OR IGNORE INTO manifest_child_refs (repository, manifest_digest, child_digest)
         SELECT ?, ?, value FROM json_each(?)`,
      record.repository,
      record.digest,
      JSON.stringify(references.manifests),
    );
  }

  referencesOf(manifest: ManifestRecord): ManifestReferences {
    const digests = (sql: string): string[] =>
      this.rows<{ digest: string }>(sql, manifest.repository, manifest.digest).map((row) => row.digest);
    return {
      blobs: digests(
        "SELECT blob_digest AS digest FROM manifest_blob_refs WHERE repository = ? AND manifest_digest = ?",
      ),
      manifests: digests(
        "SELECT child_digest AS digest FROM manifest_child_refs WHERE repository = ? AND manifest_digest = ?",
      ),
    };
  }

  getManifest(repository: string, digest: string): ManifestRecord | undefined {
    const row = this.row<ManifestRow>(
      `SELECT ${MANIFEST_COLUMNS} FROM manifests WHERE repository = ? AND digest = ?`,
      repository,
      digest,
    );
    return row && toManifest(row);
  }

  manifestContent(repository: string, digest: string): Buffer | undefined {
    const row = this.row<{ content: Uint8Array }>(
      `SELECT c.content FROM manifests m JOIN manifest_contents c ON c.digest = m.digest
         WHERE m.repository = ? AND m.digest = ?`,
      repository,
      digest,
    );
    return row && Buffer.from(row.content.buffer, row.content.byteOffset, row.content.byteLength);
  }

  deleteManifest(repository: string, digest: string): boolean {
    if (!this.getManifest(repository, digest)) return false;
    // The blobs only this manifest referenced leave the repository (and its quota usage); their
    // bytes stay for garbage collection. Then its tags and references go through ON DELETE CASCADE.
    this.run(
      `DELETE FROM repository_blobs WHERE repository = ? AND digest IN (
         SELECT r.blob_digest FROM manifest_blob_refs r
           WHERE r.repository = ? AND r.manifest_digest = ?
             AND NOT EXISTS (SELECT 1 FROM manifest_blob_refs o
               WHERE o.repository = r.repository AND o.blob_digest = r.blob_digest
                 AND o.manifest_digest <> r.manifest_digest))`,
      repository,
      repository,
      digest,
    );
    this.run("DELETE FROM manifests WHERE repository = ? AND digest = ?", repository, digest);
    this.run(
      "DELETE FROM manifest_contents WHERE digest = ? AND NOT EXISTS (SELECT 1 FROM manifests WHERE digest = ?)",
      digest,
      digest,
    );
    return true;
  }

  referrers(repository: string, subject: string, artifactType: string | undefined): ManifestRecord[] {
    const rows =
      artifactType === undefined
        ? this.rows<ManifestRow>(
            `SELECT ${MANIFEST_COLUMNS} FROM manifests WHERE repository = ? AND subject = ? ORDER BY digest`,
            repository,
            subject,
          )
        : this.rows<ManifestRow>(
            `SELECT ${MANIFEST_COLUMNS} FROM manifests
               WHERE repository = ? AND subject = ? AND artifact_type = ? ORDER BY digest`,
            repository,
            subject,
            artifactType,
          );
    return rows.map(toManifest);
  }

  existingManifests(repository: string, digests: readonly string[]): Map<string, number> {
    if (digests.length === 0) return new Map();
    const rows = this.rows<{ digest: string; size: number }>(
      "SELECT digest, size FROM manifests WHERE repository = ? AND digest IN (SELECT value FROM json_each(?))",
      repository,
      JSON.stringify(digests),
    );
    return new Map(rows.map((row) => [row.digest, row.size]));
  }

  parentManifests(repository: string, digest: string): string[] {
    return this.rows<{ digest: string }>(
      `SELECT manifest_digest AS digest FROM manifest_child_refs WHERE repository = ? AND child_digest = ?
         ORDER BY manifest_digest`,
      repository,
      digest,
    ).map((row) => row.digest);
  }

  listManifests(
    repository: string,
    window: { offset: number; limit: number },
  ): { items: ManifestRecord[]; total: number } {
    const rows = this.rows<ManifestRow>(
      `SELECT ${MANIFEST_COLUMNS} FROM manifests WHERE repository = ? ORDER BY created_at DESC, digest LIMIT ? OFFSET ?`,
      repository,
      window.limit,
      window.offset,
    );
    const total =
      this.row<{ n: number }>("SELECT count(*) AS n FROM manifests WHERE repository = ?", repository)?.n ?? 0;
    return { items: rows.map(toManifest), total };
  }

  // Tags

  getTag(repository: string, name: string): TagRecord | undefined {
    const row = this.row<TagRow>(
      "SELECT repository, name, digest, updated_at FROM tags WHERE repository = ? AND name = ?",
      repository,
      name,
    );
    return (
      row && { repository: row.repository, name: row.name, digest: row.digest, updatedAt: new Date(row.updated_at) }
    );
  }

  putTag(repository: string, name: string, digest: string, at: Date): void {
    this.run(
      `INSERT INTO tags (repository, name, digest, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (repository, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
      repository,
      name,
      digest,
      at.getTime(),
    );
  }

  deleteTag(repository: string, name: string): boolean {
    return this.run("DELETE FROM tags WHERE repository = ? AND name = ?", repository, name) > 0;
  }

  listTags(repository: string, page: Page): string[] {
    // Tag names are never empty, so "> ''" is "from the start". BINARY collation: byte order.
    return this.names(
      "SELECT name FROM tags WHERE repository = ? AND name > ? ORDER BY name LIMIT ?",
      repository,
      page.after ?? "",
      sqlLimit(page),
    );
  }

  tagsForDigest(repository: string, digest: string): string[] {
    return this.names("SELECT name FROM tags WHERE repository = ? AND digest = ? ORDER BY name", repository, digest);
  }
}

/** LIMIT -1 is "no limit" in SQLite. */
function sqlLimit(page: Page): number {
  return page.limit === undefined ? -1 : Math.max(0, Math.floor(page.limit));
}

function toManifest(row: ManifestRow): ManifestRecord {
  return {
    repository: row.repository,
    digest: row.digest,
    mediaType: row.media_type,
    size: row.size,
    ...(row.artifact_type !== null && { artifactType: row.artifact_type }),
    ...(row.subject !== null && { subject: row.subject }),
    ...(row.annotations !== null && { annotations: JSON.parse(row.annotations) as Record<string, string> }),
    ...(row.config_media_type !== null && { configMediaType: row.config_media_type }),
    createdAt: new Date(row.created_at),
  };
}

/** Runs a synchronous query on a connection chosen by the caller (reader or writer). */
type Run = <T>(query: (queries: Queries) => T) => Promise<T>;

/** The areas, with reads going through `read` and writes through `write`. */
function bindAreas(read: Run, write: Run): MetadataAreas {
  return {
    blobs: blobArea(read, write),
    uploads: uploadArea(read, write),
    manifests: {
      put: (record, content, references) => write((q) => q.putManifest(record, content, references)),
      get: (repository, digest) => read((q) => q.getManifest(repository, digest)),
      content: (repository, digest) => read((q) => q.manifestContent(repository, digest)),
      delete: (repository, digest) => write((q) => q.deleteManifest(repository, digest)),
      referrers: (repository, subject, artifactType) => read((q) => q.referrers(repository, subject, artifactType)),
      existing: (repository, digests) => read((q) => q.existingManifests(repository, digests)),
      parents: (repository, digest) => read((q) => q.parentManifests(repository, digest)),
      list: (repository, window) => read((q) => q.listManifests(repository, window)),
    },
    tags: {
      get: (repository, name) => read((q) => q.getTag(repository, name)),
      put: (repository, name, digest, at) => write((q) => q.putTag(repository, name, digest, at)),
      delete: (repository, name) => write((q) => q.deleteTag(repository, name)),
      list: (repository, page) => read((q) => q.listTags(repository, page)),
      forDigest: (repository, digest) => read((q) => q.tagsForDigest(repository, digest)),
    },
    repositories: repositoryArea(read, write),
    ...bindIdentityAreas(
      (query) => read((q) => query(q.identity)),
      (query) => write((q) => query(q.identity)),
    ),
    registries: bindRegistryArea(
      (query) => read((q) => query(q.registries)),
      (query) => write((q) => query(q.registries)),
    ),
    settings: bindSettingsArea(
      (query) => read((q) => query(q.settings)),
      (query) => write((q) => query(q.settings)),
    ),
    jobs: bindJobArea(
      (query) => read((q) => query(q.jobs)),
      (query) => write((q) => query(q.jobs)),
    ),
    artifacts: bindArtifactArea(
      (query) => read((q) => query(q.artifacts)),
      (query) => write((q) => query(q.artifacts)),
    ),
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

  private readonly reader: Queries;
  /** Groups the reader's statements into short read transactions (sqlite-read-snapshot.ts). */
  private readonly snapshots: ReadSnapshots;
  private readonly writer: Queries;
  private readonly writeLock: SqliteWriteLock;
  /** Writes waiting for the writer connection, and the loop running them (when it runs). */
  private readonly pendingWrites: PendingWrite[] = [];
  private draining: Promise<void> | undefined;
  /** The transaction whose work is running in this async context, to catch self-deadlocks. */
  private readonly currentTransaction = new AsyncLocalStorage<OpenTransaction>();
  private closing: Promise<void> | undefined;

  constructor(reader: Queries, writer: Queries, writeLock: SqliteWriteLock) {
    this.reader = reader;
    this.snapshots = new ReadSnapshots(reader.connection);
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
    for (const { write, value } of done) write.resolve(value);
  }

  close(): Promise<void> {
    // Queued writes finish first; the reader closes first so the writer, closing last,
    // checkpoints the WAL into the database file.
    this.closing ??= (async () => {
      while (this.draining) await this.draining;
      this.snapshots.end();
      this.reader.connection.close();
      this.writer.connection.close();
    })();
    return this.closing;
  }
}
