// The shared row layer's SQL kit: what the two metadata stores (sqlite/, postgres/) write once and
// run each on its own connection. A `Dialect` is the short list of what differs between them
// (placeholders, how times, JSON and booleans are stored, a few functions); `Conditions` builds a
// WHERE clause through it, so that a filter (Harbor's `q` on users, projects, robots, the audit
// log, artifacts…) is written once in rows/ and reads the same on both backends.
//
// The row files beside this one hold, per area, the row types (as either backend hands them
// back), the column lists, the row → record mappers and the condition builders. Statements that
// write, lock or depend on one backend's features stay in the backend's own area file.
//
// Conditions are assembled from the fields present, so each combination of filters is one
// prepared statement and the indexes stay usable, which `? IS NULL OR …` conditions would prevent.

import type { TextMatch, SortKey } from "../artifact-store.ts";
import type { Window } from "../identity-store.ts";

/** A parameter either backend binds as it is. */
export type Scalar = string | number | null;

/** A time as stored: milliseconds since the epoch (SQLite) or timestamptz, read as a Date (PostgreSQL). */
export type StoredTime = number | Date;
/** A boolean as stored: 0 or 1 (SQLite) or boolean (PostgreSQL). */
export type StoredBool = number | boolean;
/** A JSON value as stored: its text (SQLite) or the value pg parsed from json or jsonb (PostgreSQL). */
export type StoredJson<T> = string | T;

/** How a backend's rows read back: what the mappers need to turn a row into a record. */
export interface RowReader {
  date(value: StoredTime): Date;
  json<T>(value: StoredJson<T>): T;
  flag(value: StoredBool): boolean;
}

/**
 * What differs between the backends' SQL, as far as the shared layer writes SQL. `V` is the
 * backend's parameter type (node:sqlite's or pg's).
 */
export interface Dialect<V> extends RowReader {
  /** The placeholder of the parameter at `index`, counting from 1: `?` or `$n`. */
  param(index: number): string;
  /** A time as a parameter. */
  time(date: Date): V;
  /** A page's limit as a parameter: undefined is no limit. */
  limit(limit: number | undefined): V | Scalar;
  /** A non-empty list as one parameter. */
  list(values: readonly string[] | readonly number[]): V;
  /** SQL true when `column` is among the list bound at `placeholder` (`list`'s), of `kind`. */
  inList(column: string, placeholder: string, kind: "text" | "bigint"): string;
  /** SQL true when `haystack` contains `needle` (both SQL expressions), case-sensitively. */
  contains(haystack: string, needle: string): string;
  /** The text of the top-level `key` of the JSON object in `column`; NULL when absent. */
  jsonText(column: string, key: string): string;
  /** The first `/`-separated segment of `column` (a repository's project), when it has a `/`. */
  firstSegment(column: string): string;
  /** `expression` ordered by bytes whatever the database's collation. */
  bytewise(expression: string): string;
}

/** A statement and its parameters, in order. */
export interface Statement<V> {
  readonly sql: string;
  readonly params: ReadonlyArray<V | Scalar>;
}

/**
 * The names in ["p/", "p0"): '0' follows '/' in byte order, so this is "starts with p/" without
 * LIKE, whose '_' and '%' are wildcards, and it uses the name's index.
 */
export function projectRange(project: string): [string, string] {
  return [`${project}/`, `${project}0`];
}

/** An offset or limit of a listing window, as SQL wants it (a non-negative integer). */
export function windowNumber(value: number): number {
  return Math.max(0, Math.floor(value));
}

/** An INSERT … RETURNING that returned nothing: it cannot, short of a bug. */
export function required<R>(row: R | undefined, what: string): R {
  if (row === undefined) throw new Error(`${what} returned no row`);
  return row;
}

/** A LIKE pattern whose only wildcard is `%` (ESCAPE '\'), lower-cased. */
export function likePattern(pattern: string): string {
  return pattern.toLowerCase().replace(/[\\_]/g, (c) => `\\${c}`);
}

/** ORDER BY from the keys given (columns from `columns` only), ending with `id` for ties. */
export function orderBy<K extends string>(
  sort: readonly SortKey<K>[],
  columns: Readonly<Record<NoInfer<K> | "id", string>>,
): string {
  const keys = sort.map((s) => `${columns[s.key]} ${s.desc ? "DESC" : "ASC"}`);
  if (!sort.some((s) => s.key === "id")) keys.push(`${columns.id} ASC`);
  return keys.join(", ");
}

/**
 * SQL true when `column` is among `values`, binding them through `p`; FALSE for an empty list
 * (whose element type no database could tell).
 */
export function among<V>(
  d: Dialect<V>,
  column: string,
  values: readonly string[] | readonly number[],
  p: (value: V | Scalar) => string,
): string {
  if (values.length === 0) return "FALSE";
  return d.inList(column, p(d.list(values)), typeof values[0] === "number" ? "bigint" : "text");
}

/** SQL true when `column` matches `match` (equal, or fuzzy: containing it whatever the ASCII case). */
export function textMatch<V>(
  d: Dialect<V>,
  column: string,
  match: TextMatch,
  p: (value: V | Scalar) => string,
): string {
  return match.fuzzy ? d.contains(`lower(${column})`, `lower(${p(match.value)})`) : `${column} = ${p(match.value)}`;
}

/** WHERE conditions with their parameters, placeholders numbered in order. */
export class Conditions<V> {
  readonly dialect: Dialect<V>;
  readonly params: Array<V | Scalar> = [];
  private readonly sql: string[] = [];

  constructor(dialect: Dialect<V>) {
    this.dialect = dialect;
  }

  /** Binds `value` after the parameters so far; returns its placeholder (for a LIMIT after the WHERE). */
  bind(value: V | Scalar): string {
    this.params.push(value);
    return this.dialect.param(this.params.length);
  }

  /** Adds a condition: SQL, or `build(p)`, where `p(value)` binds a parameter and returns its placeholder. */
  add(condition: string | ((p: (value: V | Scalar) => string) => string)): this {
    this.sql.push(typeof condition === "string" ? condition : condition((value) => this.bind(value)));
    return this;
  }

  equals(column: string, value: V | Scalar): this {
    return this.add((p) => `${column} = ${p(value)}`);
  }

  /** `column` contains `value`, case-sensitively (no wildcards). */
  contains(column: string, value: string): this {
    return this.add((p) => this.dialect.contains(column, p(value)));
  }

  /** `column` matching `match`: equal, or (fuzzy) containing it whatever the ASCII case. */
  text(column: string, match: TextMatch | undefined): this {
    return match ? this.add((p) => textMatch(this.dialect, column, match, p)) : this;
  }

  /** `column` among `values` (or, negated, not among them); an empty list matches nothing. */
  among(column: string, values: readonly string[] | readonly number[] | undefined, negate = false): this {
    if (!values) return this;
    return this.add((p) => {
      const test = among(this.dialect, column, values, p);
      return negate ? `NOT (${test})` : test;
    });
  }

  /** `column` names a repository of `project` (`<project>/…`). */
  inProject(column: string, project: string): this {
    const [from, to] = projectRange(project);
    return this.add((p) => `${column} > ${p(from)} AND ${column} < ${p(to)}`);
  }

  toString(): string {
    return this.sql.length === 0 ? "" : `WHERE ${this.sql.join(" AND ")}`;
  }
}

/** A listing: one page of rows under `where` in `order`, and the count under the same `where`. */
export interface ListingQuery<V> {
  readonly columns: string;
  readonly from: string;
  readonly where: Conditions<V>;
  readonly order: string;
  /** Counted from this instead of `from` (a join the count can do without). */
  readonly countFrom?: string;
}

/** A listing's two statements. The conditions are left as they are (they may serve again). */
export function listingStatements<V>(
  query: ListingQuery<V>,
  window: Window,
): { page: Statement<V>; count: Statement<V> } {
  const { columns, from, where, order } = query;
  const next = where.params.length;
  const param = (n: number): string => where.dialect.param(next + n);
  return {
    page: {
      sql: `SELECT ${columns} FROM ${from} ${where.toString()} ORDER BY ${order} LIMIT ${param(1)} OFFSET ${param(2)}`,
      params: [...where.params, windowNumber(window.limit), windowNumber(window.offset)],
    },
    count: { sql: `SELECT count(*) AS n FROM ${query.countFrom ?? from} ${where.toString()}`, params: where.params },
  };
}
