// The PostgreSQL side of the shared row layer (rows/sql.ts says what a dialect is): times are
// timestamptz (pg reads them as Dates), JSON is jsonb or json (pg parses both), booleans are
// boolean, lists go in as arrays, and an expression over text not declared COLLATE "C" needs the
// collation said to order by bytes. sqlite/dialect.ts is its twin.

import type { Dialect } from "../rows/sql.ts";
import type { Param } from "./connection.ts";

export const POSTGRES: Dialect<Param> = {
  param: (index) => `$${index}`,
  time: (date) => date,
  // LIMIT NULL is "no limit".
  limit: (limit) => (limit === undefined ? null : Math.max(0, Math.floor(limit))),
  list: (values) => values,
  inList: (column, placeholder, kind) => `${column} = ANY(${placeholder}::${kind}[])`,
  contains: (haystack, needle) => `strpos(${haystack}, ${needle}) > 0`,
  jsonText: (column, key) => `${column} ->> '${key}'`,
  firstSegment: (column) => `split_part(${column}, '/', 1)`,
  bytewise: (expression) => `${expression} COLLATE "C"`,

  date: (value) => (value instanceof Date ? value : new Date(value)),
  json: <T>(value: unknown) => value as T,
  flag: (value) => value === true,
};
