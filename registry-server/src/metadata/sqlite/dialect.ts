// The SQLite side of the shared row layer (rows/sql.ts says what a dialect is): times are integers
// (ms since the epoch), JSON is text, booleans are 0 or 1, lists go in as one JSON array read by
// json_each, and BINARY collation already orders by bytes. postgres/dialect.ts is its twin.

import type { SQLInputValue } from "node:sqlite";
import type { Dialect } from "../rows/sql.ts";

export const SQLITE: Dialect<SQLInputValue> = {
  param: () => "?",
  time: (date) => date.getTime(),
  // LIMIT -1 is "no limit".
  limit: (limit) => (limit === undefined ? -1 : Math.max(0, Math.floor(limit))),
  list: (values) => JSON.stringify(values),
  inList: (column, placeholder) => `${column} IN (SELECT value FROM json_each(${placeholder}))`,
  contains: (haystack, needle) => `instr(${haystack}, ${needle}) > 0`,
  jsonText: (column, key) => `json_extract(${column}, '$."${key}"')`,
  firstSegment: (column) => `substr(${column}, 1, instr(${column}, '/') - 1)`,
  bytewise: (expression) => expression,

  date: (value) => new Date(value),
  json: <T>(value: unknown) => JSON.parse(value as string) as T,
  flag: (value) => value === 1,
};
