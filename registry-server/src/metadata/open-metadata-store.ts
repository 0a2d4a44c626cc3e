// Picks and opens the metadata store the configuration asks for: PostgreSQL when
// `metadata.postgres` is set (replicas share it), otherwise SQLite under dataDir. The rest of the
// registry sees a MetadataStore, whichever it is.

import { readFile } from "node:fs/promises";
import * as path from "node:path";
import type { ServerConfig } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { MetadataStore } from "./metadata-store.ts";
import { redactedUrl } from "./postgres-connection.ts";
import { openPostgresStore } from "./postgres-store.ts";
import { openSqliteStore } from "./sqlite-store.ts";

export async function openMetadataStore(config: ServerConfig, log: Logger): Promise<MetadataStore> {
  const postgres = config.metadata?.postgres;
  if (!postgres) return openSqliteStore(path.join(config.dataDir, "metadata", "registry.db"));

  const password = postgres.passwordFile === undefined ? undefined : await readPassword(postgres.passwordFile);
  // Where, never with what password.
  const where = redactedUrl(postgres.url);
  let store: MetadataStore;
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
  return store;
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
