// The PostgreSQL metadata store, for scale-out: several replicas share one database, its schema
// (schema.ts) versioned by a table of applied steps. Each area's statements are in a file of their
// own beside this one (blobs.ts … artifacts.ts), over the rows shared with the SQLite store
// (../rows/); sqlite/ holds the same files. This module decides where each statement runs.
//
// - Reads outside transactions go to any pooled connection, as single statements in autocommit
//   (READ COMMITTED): they see the last committed state, never an open transaction's writes.
// - Writes, alone or grouped by `transaction()`, run one at a time per store, each in its own
//   transaction on one pooled client, as the SQLite store's single writer does. The contract asks
//   for that order (a transaction's read-then-write is not interleaved with another's; a write
//   issued during a transaction lands after it), and this replica's requests get it for free.
// - Between replicas, nothing is serialised in-process, so every write transaction runs at
//   SERIALIZABLE isolation. PostgreSQL then guarantees that the outcome is that of some serial
//   order, which is exactly what the callers' read-then-write checks assume: the quota check
//   before a blob is linked (two replicas pushing into one project each read the usage, then both
//   link: one of them fails to serialize), the upload `appendPart` compare-and-set (the second
//   UPDATE of a session waits for the first and fails to serialize), a blob created by two
//   replicas at once (the second INSERT waits, fails to serialize, and on its next run finds the
//   first copy), an endpoint deleted while a project starts using it. A transaction that lost
//   such a race is rolled back and run again from the start, a few times with a short random
//   pause; hand-taken row locks would need every caller's pattern to be known in advance.
// - Inside a transaction, each write runs under a savepoint: a write that fails (a name taken)
//   leaves no partial change and does not end the transaction, as in SQLite.
// - A database that cannot be reached (restarting, failing over, refusing connections) fails
//   each read and write with MetadataUnavailableError, at once rather than after a wait: the
//   pool opens a new connection per attempt, so the store works again as soon as the database
//   answers. A connection cut under a transaction's client only fails that transaction (pg emits
//   the cut as an event the client must listen to, or the process dies).

import { AsyncLocalStorage } from "node:async_hooks";
import { DatabaseError, type Pool, type PoolClient } from "pg";
import { MetadataUnavailableError, type MetadataAreas, type MetadataStore } from "../metadata-store.ts";
import {
  createPool,
  Db,
  isConnectionFailure,
  isRetryable,
  unreachableReason,
  watchCheckedOut,
  type PoolOptions,
  type Run,
} from "./connection.ts";
import { migrate } from "./schema.ts";
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

export type PostgresStoreOptions = PoolOptions;

export interface PostgresStore extends MetadataStore {
  /**
   * Resolves when the database answers a statement within `timeoutMs`; rejects otherwise, with
   * MetadataUnavailableError when it cannot be reached (the health check's question).
   */
  ping(timeoutMs: number): Promise<void>;
}

/** Opens a pool to the database and migrates its schema (waiting for another replica's migration). */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  if (!Number.isInteger(options.maxConnections) || options.maxConnections < 2) {
    // One connection writes; reads made meanwhile (even from inside a transaction) need another.
    throw new Error("the PostgreSQL metadata store needs at least 2 connections");
  }
  const pool = createPool(options);
  try {
    await migrate(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return new PostgresMetadataStore(pool);
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

/** Runs of a read whose connection keeps being cut before the failure is reported. */
const MAX_READ_ATTEMPTS = 4;

/** Runs of one transaction before its serialization failure is reported to the caller. */
const MAX_ATTEMPTS = 12;
/**
 * The pause before the next run: random up to a bound that doubles from 10 ms to 500 ms ("full
 * jitter"). Many writers on one row (a manifest pushed under many tags at once, from several
 * replicas) all lose to each other at first; spreading their retries over a second lets each get
 * through, where pauses capped at 100 ms left some out of attempts after a quarter of a second.
 */
function retryPauseMs(attempt: number): number {
  return Math.random() * Math.min(500, 5 * 2 ** attempt);
}

/** One run of a write transaction; its areas work only while it is open. */
interface OpenTransaction {
  open: boolean;
  /** A statement failed to serialize: whatever the work does next, this run must be retried. */
  lostRace: boolean;
}

type Attempt<T> = { readonly value: T } | { readonly retry: unknown };

const SAVEPOINT = "airlock_write";

class PostgresMetadataStore implements PostgresStore {
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

  private readonly pool: Pool;
  /** The last queued write; the next one starts when it settles. */
  private tail: Promise<unknown> = Promise.resolve();
  /** The transaction whose work is running in this async context, to catch self-deadlocks. */
  private readonly currentTransaction = new AsyncLocalStorage<OpenTransaction>();
  private closing: Promise<void> | undefined;

  constructor(pool: Pool) {
    this.pool = pool;
    const areas = bindAreas(
      (query) => this.read(query),
      (query) => reportFailure(this.queueWrite(() => this.withRetries((db) => query(db)))),
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
    const result = this.queueWrite(() =>
      this.withRetries((db, transaction) => {
        let writing: Promise<unknown> = Promise.resolve();
        const run: Run = async (query) => {
          if (!transaction.open) throw new Error("the transaction has ended: its areas can no longer be used");
          return query(db);
        };
        // One write at a time on the client, each under the one savepoint name.
        const write: Run = (query) => {
          const result = writing.then(() => run((client) => underSavepoint(client, query)));
          writing = result.catch(() => undefined);
          return result;
        };
        return this.currentTransaction.run(transaction, () => work(bindAreas(run, write)));
      }),
    );
    return reportFailure(result);
  }

  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new MetadataUnavailableError(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.read((db) => db.count("SELECT 1 AS n")), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Reads change nothing: one whose connection was cut (the database restarted or failed over,
   * and the pool had not yet heard of it) runs again on another connection, a few times.
   */
  private async read<T>(query: (db: Db) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await query(new Db(this.pool));
      } catch (error) {
        if (!isConnectionFailure(error) || attempt >= MAX_READ_ATTEMPTS) throw reported(error);
      }
    }
  }

  /** Queues `job` behind the writes already queued: one write transaction at a time. */
  private queueWrite<T>(job: () => Promise<T>): Promise<T> {
    if (this.currentTransaction.getStore()?.open) {
      // It would wait for the very transaction it runs in.
      return Promise.reject(
        new Error("store write inside a transaction: use the transaction's areas (tx) instead of the store's"),
      );
    }
    if (this.closing) return Promise.reject(new Error("the metadata store is closed"));
    const result = this.tail.then(job);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Runs `work` in a serializable transaction, again while it loses races with other replicas. */
  private async withRetries<T>(work: (db: Db, transaction: OpenTransaction) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(work);
      if ("value" in outcome) return outcome.value;
      if (attempt >= MAX_ATTEMPTS) throw outcome.retry;
      // A random pause, growing with the attempts, so that the same replicas do not collide again.
      await new Promise((resolve) => setTimeout(resolve, retryPauseMs(attempt)));
    }
  }

  private async attempt<T>(work: (db: Db, transaction: OpenTransaction) => Promise<T>): Promise<Attempt<T>> {
    const client = await this.pool.connect();
    const transaction: OpenTransaction = { open: true, lostRace: false };
    const db = new Db(client, (error) => {
      if (isRetryable(error)) transaction.lostRace = true;
    });
    let broken: Error | undefined;
    const unwatch = watchCheckedOut(client, (error) => {
      broken ??= error;
    });
    try {
      try {
        await client.query("BEGIN ISOLATION LEVEL SERIALIZABLE");
      } catch (error) {
        if (error instanceof DatabaseError && !isConnectionFailure(error)) throw error;
        // The connection's failure (it dropped while idle in the pool, the server restarted):
        // nothing ran, so another connection may run it all.
        broken = error instanceof Error ? error : new Error(String(error));
        return { retry: error };
      }
      let value: T;
      try {
        value = await work(db, transaction);
      } catch (error) {
        broken = await rollback(client);
        if (transaction.lostRace || isRetryable(error)) return { retry: error };
        throw error;
      } finally {
        transaction.open = false;
      }
      if (transaction.lostRace) {
        // The work swallowed a serialization failure: what it saw was not a serializable state.
        broken = await rollback(client);
        return { retry: new Error("the transaction failed to serialize") };
      }
      try {
        await client.query("COMMIT");
      } catch (error) {
        // Serialization failures are also detected at commit. Any other failure here leaves the
        // outcome unknown (the connection dropped): reported, never retried.
        if (isRetryable(error)) return { retry: error };
        broken = error instanceof Error ? error : new Error(String(error));
        throw reported(error, { outcomeUnknown: true });
      }
      return { value };
    } finally {
      unwatch();
      // A client whose state is unknown is closed rather than handed to the next query.
      client.release(broken);
    }
  }

  close(): Promise<void> {
    // Queued writes finish first.
    this.closing ??= (async () => {
      await this.tail;
      await this.pool.end();
    })();
    return this.closing;
  }
}

/**
 * `error` as the store reports it: a MetadataUnavailableError when the database failed rather
 * than the statement (the cause keeps pg's error for the logs), otherwise `error` itself.
 */
function reported(error: unknown, options: { outcomeUnknown?: boolean } = {}): unknown {
  if (error instanceof MetadataUnavailableError) return error;
  const reason = unreachableReason(error);
  return reason === undefined ? error : new MetadataUnavailableError(reason, { cause: error, ...options });
}

/** Rejects as `reported` says: the writes' and transactions' failures, wherever they arose. */
async function reportFailure<T>(result: Promise<T>): Promise<T> {
  try {
    return await result;
  } catch (error) {
    throw reported(error);
  }
}

/** Rolls back; returns the error when even that failed (the client is then unusable). */
async function rollback(client: PoolClient): Promise<Error | undefined> {
  try {
    await client.query("ROLLBACK");
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Runs one write of a transaction so that a failure undoes it alone and the transaction goes on. */
async function underSavepoint<T>(db: Db, query: (db: Db) => Promise<T>): Promise<T> {
  await db.run(`SAVEPOINT ${SAVEPOINT}`);
  try {
    const value = await query(db);
    await db.run(`RELEASE SAVEPOINT ${SAVEPOINT}`);
    return value;
  } catch (error) {
    try {
      await db.run(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
      await db.run(`RELEASE SAVEPOINT ${SAVEPOINT}`);
    } catch {
      // The connection is gone: the transaction fails at its end anyway; the write's error says why.
    }
    throw error;
  }
}
