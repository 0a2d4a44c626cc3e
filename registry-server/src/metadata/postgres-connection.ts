// The PostgreSQL plumbing every area of the PostgreSQL metadata store shares: the connection pool
// with the type conversions the store's records need, the small query helpers (`Db`) the areas
// are written against, and the classification of PostgreSQL's errors.

import { createHash } from "node:crypto";
import { Pool, types, type CustomTypesConfig, type QueryResultRow } from "pg";

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

function sqlState(error: unknown): unknown {
  return error !== null && typeof error === "object" ? (error as { code?: unknown }).code : undefined;
}

/** A unique-constraint violation, of `constraint` when given. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (sqlState(error) !== "23505") return false;
  return constraint === undefined || (error as { constraint?: unknown }).constraint === constraint;
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

/** LIMIT $n takes NULL as "no limit". */
export function sqlLimit(limit: number | undefined): number | null {
  return limit === undefined ? null : Math.max(0, Math.floor(limit));
}

/** An offset or limit of a listing window, as SQL wants it (a non-negative integer). */
export function windowNumber(value: number): number {
  return Math.max(0, Math.floor(value));
}

/** WHERE conditions with their parameters, numbered in order ($1, $2…). */
export class Conditions {
  private readonly sql: string[] = [];
  readonly params: Param[] = [];

  /** Adds `build(p)`, where `p(value)` adds a parameter and returns its placeholder. */
  add(build: (p: (value: Param) => string) => string): this {
    this.sql.push(
      build((value) => {
        this.params.push(value);
        return `$${this.params.length}`;
      }),
    );
    return this;
  }

  toString(): string {
    return this.sql.length === 0 ? "" : `WHERE ${this.sql.join(" AND ")}`;
  }
}

/** One page of `table` under `where` (ordered by `order`), and the count under the same `where`. */
export async function listing<R extends QueryResultRow, T>(
  db: Db,
  query: { table: string; columns: string; where: Conditions; order: string },
  window: { offset: number; limit: number },
  map: (row: R) => T,
): Promise<{ items: T[]; total: number }> {
  const { table, columns, where, order } = query;
  const next = where.params.length;
  const rows = await db.rows<R>(
    `SELECT ${columns} FROM ${table} ${where.toString()} ORDER BY ${order} LIMIT $${next + 1} OFFSET $${next + 2}`,
    ...where.params,
    windowNumber(window.limit),
    windowNumber(window.offset),
  );
  const total = await db.count(`SELECT count(*) AS n FROM ${table} ${where.toString()}`, ...where.params);
  return { items: rows.map(map), total };
}
