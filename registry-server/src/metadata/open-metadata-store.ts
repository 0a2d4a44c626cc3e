// Picks and opens the metadata store the configuration asks for: PostgreSQL when
// `metadata.postgres` is set (replicas share it), otherwise SQLite under dataDir. The rest of the
// registry sees a MetadataStore, whichever it is, and with PostgreSQL the "database" component of
// /api/v2.0/health (a file beside the data has no health of its own to report).

import { readFile } from "node:fs/promises";
import * as path from "node:path";
import type { ServerConfig } from "../config.ts";
import type { HealthCheck } from "../health-check.ts";
import type { Logger } from "../logger.ts";
import { MetadataUnavailableError, type MetadataStore } from "./metadata-store.ts";
import type { PostgresStore } from "./postgres/store.ts";
import { openSqliteStore, type SqliteWriteLock } from "./sqlite/store.ts";

export interface OpenedMetadata {
  readonly store: MetadataStore;
  /** The "database" component of /api/v2.0/health, when the store has one. */
  readonly healthCheck?: HealthCheck;
}

/** How long the health check waits for the database's answer. */
const DATABASE_CHECK_TIMEOUT_MS = 5_000;

export interface MetadataStoreOptions {
  /** With SQLite, the turns this process takes with the others writing the same file. */
  sqliteWriteLock?: SqliteWriteLock;
}

export async function openMetadataStore(
  config: ServerConfig,
  log: Logger,
  options: MetadataStoreOptions = {},
): Promise<OpenedMetadata> {
  const postgres = config.metadata?.postgres;
  if (!postgres) {
    const file = path.join(config.dataDir, "metadata", "registry.db");
    return { store: await openSqliteStore(file, { writeLock: options.sqliteWriteLock }) };
  }

  // Loaded here, not at start: pg is memory a SQLite registry never uses.
  const [{ redactedUrl }, { openPostgresStore }] = await Promise.all([
    import("./postgres/connection.ts"),
    import("./postgres/store.ts"),
  ]);
  const password = postgres.passwordFile === undefined ? undefined : await readPassword(postgres.passwordFile);
  // Where, never with what password.
  const where = redactedUrl(postgres.url);
  let store: PostgresStore;
  try {
    store = await openPostgresStore({
      url: postgres.url,
      ...(password !== undefined && { password }),
      maxConnections: postgres.maxConnections,
      onIdleError: (error) =>
        log.warn({ err: { message: error.message } }, "metadata database: an idle connection failed (reopened on use)"),
    });
  } catch (error) {
    // pg's messages name the host at most; the URL is given redacted.
    throw new Error(`cannot open the metadata database ${where}: ${(error as Error).message}`, { cause: error });
  }
  log.info({ database: where, maxConnections: postgres.maxConnections }, "metadata store: PostgreSQL");
  return { store, healthCheck: databaseHealthCheck(store) };
}

function databaseHealthCheck(store: PostgresStore): HealthCheck {
  return async () => {
    try {
      await store.ping(DATABASE_CHECK_TIMEOUT_MS);
      return { name: "database", status: "healthy" };
    } catch (error) {
      // How it is unavailable ("unreachable (ECONNREFUSED)"); pg's message could name the host.
      const reason = error instanceof MetadataUnavailableError ? error.reason : "error";
      return { name: "database", status: "unhealthy", error: reason };
    }
  };
}

async function readPassword(file: string): Promise<string> {
  try {
    // One trailing newline is the file's, not the password's.
    return (await readFile(file, "utf8")).replace(/\r?\n$/, "");
  } catch (error) {
    throw new Error(`cannot read metadata.postgres.passwordFile ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
