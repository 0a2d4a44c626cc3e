// Scratch databases for the PostgreSQL tests, on the server developers and CI have on
// 127.0.0.1:5432 (trust authentication, user postgres; AIRLOCK_TEST_POSTGRES_URL names another).
// Each test file creates one database with a random name and drops it after, whatever happened;
// each test gets a fresh schema in it (creating a database takes a third of a second, a schema
// a few milliseconds), chosen through the URL's search_path.

import { randomBytes } from "node:crypto";
import { Client } from "pg";

export const POSTGRES_SERVER =
  process.env["AIRLOCK_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Rejects when `promise` takes longer than `ms`: a hang fails the test instead of the run. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
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

/**
 * Runs `work` on a connection of its own to `url`, closed before returning; the server cancels a
 * statement running longer than `statementTimeoutMs`.
 */
export async function withClient<T>(
  url: string,
  work: (client: Client) => Promise<T>,
  statementTimeoutMs = 30_000,
): Promise<T> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: 5_000,
    statement_timeout: statementTimeoutMs,
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await within(5_000, "closing an admin connection", client.end()).catch(() => undefined);
  }
}

export interface TestDatabase {
  readonly name: string;
  /** The database's URL (default search_path). */
  readonly url: string;
  /** Creates an empty schema; returns a URL whose connections use it. */
  freshSchema(): Promise<{ schema: string; url: string }>;
  /**
   * Drops the database, closing the connections left to it, within `timeoutMs`: the drop waits for
   * a checkpoint, whose length grows with every schema the file's tests made.
   */
  drop(timeoutMs?: number): Promise<void>;
}

function randomName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = randomName("airlock_test");
  await within(
    30_000,
    "creating the test database",
    withClient(POSTGRES_SERVER, (client) => client.query(`CREATE DATABASE ${name}`)),
  );
  const url = new URL(POSTGRES_SERVER);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.href,
    async freshSchema() {
      const schema = randomName("t");
      await withClient(url.href, (client) => client.query(`CREATE SCHEMA ${schema}`));
      const scoped = new URL(url.href);
      scoped.searchParams.set("options", `-c search_path=${schema}`);
      return { schema, url: scoped.href };
    },
    drop: (timeoutMs = 30_000) =>
      within(
        timeoutMs,
        "dropping the test database",
        withClient(
          POSTGRES_SERVER,
          (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
          timeoutMs,
        ),
      ).then(() => undefined),
  };
}
