// The SQLite plumbing every area of the SQLite metadata store shares: one connection's prepared
// statements behind the small query helpers (`Db`) the areas are written against, how a query
// reaches a connection (`Run`), and the classification of SQLite's errors. postgres/connection.ts
// is its twin.

import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import { ConflictError, type Listing, type Window } from "../identity-store.ts";
import { listingStatements, type ListingQuery } from "../rows/sql.ts";
import type { RowCache } from "./row-cache.ts";

/**
 * The query helpers the areas use, synchronous. Statements are prepared once per connection and
 * reused: the hot reads (tag, manifest, blob lookups) are then one indexed query each.
 */
export class Db {
  readonly connection: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  /** The reader's cache of hot rows (row-cache.ts); the writer has none. */
  private readonly cache: RowCache | undefined;
  /** Run before each statement: the reader's opens a read snapshot when none is (read-snapshot.ts). */
  private readonly beforeStatement: (() => void) | undefined;

  constructor(connection: DatabaseSync, cache?: RowCache, beforeStatement?: () => void) {
    this.connection = connection;
    this.cache = cache;
    this.beforeStatement = beforeStatement;
  }

  private statement(sql: string): StatementSync {
    this.beforeStatement?.();
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.connection.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  row<R>(sql: string, ...params: SQLInputValue[]): R | undefined {
    return this.statement(sql).get(...params) as R | undefined;
  }

  /**
   * `row`, for the hot lookups of one small row by name or digest: on the reader, served from
   * its cache while nothing was committed anywhere since the row was read. The row is frozen:
   * other requests share it.
   */
  cachedRow<R>(sql: string, ...params: SQLInputValue[]): R | undefined {
    const query = (): R | undefined => this.row<R>(sql, ...params);
    return this.cache ? this.cache.row(sql, params, query) : query();
  }

  rows<R>(sql: string, ...params: SQLInputValue[]): R[] {
    return this.statement(sql).all(...params) as R[];
  }

  /** Runs a write; returns how many rows it changed. */
  run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.statement(sql).run(...params).changes);
  }

  /** The `name` column of every row. */
  names(sql: string, ...params: SQLInputValue[]): string[] {
    return this.rows<{ name: string }>(sql, ...params).map((row) => row.name);
  }

  /** `count(*) AS n` (or any single number `n`) of the first row; 0 without one. */
  count(sql: string, ...params: SQLInputValue[]): number {
    return this.row<{ n: number }>(sql, ...params)?.n ?? 0;
  }
}

/** Runs a synchronous query on a connection chosen by the caller (the reader, or the writer). */
export type Run = <T>(query: (db: Db) => T) => Promise<T>;

/** One page of a listing and its total (rows/sql.ts builds both statements). */
export function listing<R, T>(
  db: Db,
  query: ListingQuery<SQLInputValue>,
  window: Window,
  map: (row: R) => T,
): Listing<T> {
  const { page, count } = listingStatements(query, window);
  return { items: db.rows<R>(page.sql, ...page.params).map(map), total: db.count(count.sql, ...count.params) };
}

/**
 * A unique-constraint violation, on `column` ("table.column") when given: SQLite's message names
 * the columns of the constraint violated.
 */
export function isUniqueViolation(error: unknown, column?: string): error is Error {
  if (!(error instanceof Error)) return false;
  // 2067 is SQLITE_CONSTRAINT_UNIQUE, the extended result code node:sqlite puts in `errcode`.
  const unique =
    (error as { errcode?: unknown }).errcode === 2067 || error.message.includes("UNIQUE constraint failed");
  return unique && (column === undefined || error.message.includes(column));
}

/** A unique-constraint violation (on `column` when given) as a ConflictError saying `message`; any other error as it is. */
export function conflict(error: unknown, column: string | undefined, message: string): unknown {
  return isUniqueViolation(error, column) ? new ConflictError(message, { cause: error }) : error;
}
