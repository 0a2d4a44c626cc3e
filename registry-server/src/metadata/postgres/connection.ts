// The PostgreSQL plumbing every area of the PostgreSQL metadata store shares: the connection pool
// with the type conversions the store's records need, the small query helpers (`Db`) the areas
// are written against, how a query reaches a connection (`Run`), and the classification of
// PostgreSQL's errors. sqlite/statements.ts is its twin.

import { createHash } from "node:crypto";
import { Pool, types, type CustomTypesConfig, type PoolClient, type QueryResultRow } from "pg";
import { ConflictError, type Listing, type Window } from "../identity-store.ts";
import { listingStatements, type ListingQuery } from "../rows/sql.ts";
import { isNetworkErrorCode } from "../../network-errors.ts";

/** What a query parameter may be; arrays go to `= ANY($n::text[])` and the like. */
export type Param = string | number | boolean | Date | Buffer | null | readonly string[] | readonly number[];

export interface PoolOptions {
  /** postgres:// or postgresql:// URL; its password, if any, is used unless `password` is given. */
  readonly url: string;
  /** The password, when it comes from elsewhere than the URL (a secret file). */
  readonly password?: string;
  /** Connections at most: one writes (writes are serialised), the others read. */
  readonly maxConnections: number;
  /** Errors of idle connections (the server restarted, the network dropped them). */
  readonly onIdleError?: (error: Error) => void;
}

/**
 * 64-bit integers (ids, sizes, counts) as JavaScript numbers instead of pg's default strings: the
 * records hold numbers, and every value the store keeps is below 2^53. One out of range fails
 * loudly instead of losing precision.
 */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`integer ${text} is beyond JavaScript's safe range`);
  return value;
}

const INT8: number = types.builtins.INT8;

function typeParser(oid: number, format?: "text" | "binary"): unknown {
  return oid === INT8 && format !== "binary" ? parseInt8 : (types.getTypeParser(oid, format) as unknown);
}

const TYPES: CustomTypesConfig = { getTypeParser: typeParser as CustomTypesConfig["getTypeParser"] };

/** The URL with `password` put in, percent-encoded (pg decodes it back). */
export function urlWithPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.href;
}

/** The URL without its password, for messages and logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "*****";
    return parsed.href;
  } catch {
    return "(an invalid URL)";
  }
}

export function createPool(options: PoolOptions): Pool {
  const pool = new Pool({
    connectionString: options.password === undefined ? options.url : urlWithPassword(options.url, options.password),
    max: options.maxConnections,
    types: TYPES,
    application_name: "airlock-registry",
    // Bounded waits: a database that does not answer fails requests instead of piling them up.
    connectionTimeoutMillis: 10_000,
    // A replica that stalls inside a transaction (or dies without closing its socket) must not
    // hold row and predicate locks that block the other replicas for ever.
    idle_in_transaction_session_timeout: 60_000,
    keepAlive: true,
  });
  // Without a listener an idle client's error (PostgreSQL restarted) would crash the process; the
  // pool drops that client, and the next query opens a new connection.
  pool.on("error", (error) => options.onIdleError?.(error));
  return pool;
}

/** Something to run a query on: the pool (any connection) or one client (a transaction's). */
export interface Queryable {
  query<R extends QueryResultRow>(config: {
    name: string;
    text: string;
    values: unknown[];
  }): Promise<{ rows: R[]; rowCount: number | null }>;
}

/**
 * The query helpers the areas use. Statements are named (prepared once per connection and
 * reused): the hot reads are then one round trip with no parsing or planning.
 */
export class Db {
  private readonly target: Queryable;
  /** Told of every error a query raises (a transaction notes serialization failures). */
  private readonly onError: ((error: unknown) => void) | undefined;

  constructor(target: Queryable, onError?: (error: unknown) => void) {
    this.target = target;
    this.onError = onError;
  }

  async rows<R extends QueryResultRow>(sql: string, ...params: Param[]): Promise<R[]> {
    try {
      const result = await this.target.query<R>({ name: statementName(sql), text: sql, values: params });
      return result.rows;
    } catch (error) {
      this.onError?.(error);
      throw error;
    }
  }

  async row<R extends QueryResultRow>(sql: string, ...params: Param[]): Promise<R | undefined> {
    return (await this.rows<R>(sql, ...params))[0];
  }

  /** Runs a write; returns how many rows it changed. */
  async run(sql: string, ...params: Param[]): Promise<number> {
    try {
      const result = await this.target.query({ name: statementName(sql), text: sql, values: params });
      return result.rowCount ?? 0;
    } catch (error) {
      this.onError?.(error);
      throw error;
    }
  }

  /** The `name` column of every row. */
  async names(sql: string, ...params: Param[]): Promise<string[]> {
    return (await this.rows<{ name: string }>(sql, ...params)).map((row) => row.name);
  }

  /** `count(*) AS n` (or any single number `n`) of the first row; 0 without one. */
  async count(sql: string, ...params: Param[]): Promise<number> {
    return (await this.row<{ n: number }>(sql, ...params))?.n ?? 0;
  }
}

/** A stable name per statement text (a connection prepares each name once). */
function statementName(sql: string): string {
  return `airlock_${createHash("sha256").update(sql).digest("base64url").slice(0, 24)}`;
}

/** Runs a query through a connection chosen by the caller (the pool, or a transaction's client). */
export type Run = <T>(query: (db: Db) => Promise<T>) => Promise<T>;

/** One page of a listing and its total (rows/sql.ts builds both statements). */
export async function listing<R extends QueryResultRow, T>(
  db: Db,
  query: ListingQuery<Param>,
  window: Window,
  map: (row: R) => T,
): Promise<Listing<T>> {
  const { page, count } = listingStatements(query, window);
  const rows = await db.rows<R>(page.sql, ...page.params);
  return { items: rows.map(map), total: await db.count(count.sql, ...count.params) };
}

function sqlState(error: unknown): unknown {
  return error !== null && typeof error === "object" ? (error as { code?: unknown }).code : undefined;
}

/** A unique-constraint violation, of `constraint` when given. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (sqlState(error) !== "23505") return false;
  return constraint === undefined || (error as { constraint?: unknown }).constraint === constraint;
}

/** A violation of `constraint` as a ConflictError saying `message`; any other error as it is. */
export function conflict(error: unknown, constraint: string, message: string): unknown {
  return isUniqueViolation(error, constraint) ? new ConflictError(message, { cause: error }) : error;
}

/**
 * The transaction lost a race with another one (a replica's) and may succeed when run again:
 * serialization_failure or deadlock_detected.
 */
export function isRetryable(error: unknown): boolean {
  const state = sqlState(error);
  return state === "40001" || state === "40P01";
}

/**
 * Whether the connection failed rather than the statement: connection exceptions (class 08) and
 * the server shutting down or restarting (57P01–57P03, sent to connections idle in the pool when
 * a database restarts or fails over). Nothing ran, so another connection may run it all again.
 */
export function isConnectionFailure(error: unknown): boolean {
  const state = sqlState(error);
  return typeof state === "string" && (state.startsWith("08") || ["57P01", "57P02", "57P03"].includes(state));
}

/**
 * pg's own errors (they carry no code) for a connection that ended, never opened in time, or
 * cannot be used since it failed; and pg-pool's for no connection freed in time.
 */
const DRIVER_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error and is not queryable",
  "Query read timeout",
];

/**
 * SQLSTATEs of a database that is there but will not serve now: it is starting or shutting down
 * (57P03 cannot_connect_now), has no connection slot left (53300), or is a standby that takes no
 * writes (25006, the old primary seen during a failover before the address moved).
 */
const UNAVAILABLE_STATES = new Set(["57P03", "53300", "25006"]);

/**
 * Why the database could not serve `error`'s statement, when the database (not the statement)
 * failed: a short reason for health reports and logs, with the code and no host nor query.
 * Undefined for the statement's own failures (a constraint, a serialization failure, a bug).
 */
export function unreachableReason(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const state = sqlState(error);
  if (typeof state === "string" && UNAVAILABLE_STATES.has(state)) return `not serving (${state})`;
  if (isConnectionFailure(error)) return `connection lost (${String(state)})`;
  if (isNetworkErrorCode(state)) return `unreachable (${state})`;
  if (error instanceof AggregateError) {
    // Node tries every address of a name and reports them together (ECONNREFUSED on ::1 and 127.0.0.1).
    for (const inner of error.errors) {
      const reason = unreachableReason(inner);
      if (reason !== undefined) return reason;
    }
  }
  if (DRIVER_MESSAGES.some((message) => error.message.startsWith(message))) {
    return error.message.includes("timeout") ? "timed out" : "connection lost";
  }
  // pg-pool wraps a connection timeout's cause.
  return error.cause === undefined || error.cause === error ? undefined : unreachableReason(error.cause);
}

/**
 * Keeps a client taken out of the pool from crashing the process: pg emits `error` on a client
 * whose connection ends (the database restarted) even while a query holds it, and the pool
 * listens only to clients it holds idle. The statement in flight fails on its own; the listener
 * just records that the client is broken, so that it is closed rather than pooled again.
 * Call the returned function before releasing the client.
 */
export function watchCheckedOut(client: PoolClient, onError: (error: Error) => void): () => void {
  client.on("error", onError);
  return () => client.off("error", onError);
}
