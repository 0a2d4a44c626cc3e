// Request and response conventions of Harbor's /api/v2.0, shared by its route modules:
// pagination (`page`, `page_size`, `X-Total-Count`, `Link`), the `q` query language for the
// fields our resources use, JSON bodies validated with zod (400 with Harbor's error JSON), and
// the 201-with-Location-and-empty-body answer of most creations.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { HarborError } from "../http/errors.ts";

export const API_PREFIX = "/api/v2.0";
const DEFAULT_PAGE_SIZE = 10;
const MAX_PAGE_SIZE = 100;
/**
 * What `page_size=0` (or negative) returns: everything, as Harbor reads it (its clients resolve a
 * name to an id that way), but never more than this many items in one answer, so that one request
 * cannot make the server build an unbounded reply. `X-Total-Count` still tells the whole count.
 */
export const UNPAGED_LIMIT = 100_000;
/** Request bodies of the management API are small documents. */
const MAX_JSON_BYTES = 1024 * 1024;

export interface Paging {
  page: number;
  /** As asked (after the default and the maximum); 0 when the caller asked for no paging. */
  pageSize: number;
  offset: number;
  limit: number;
}

/**
 * `page` and `page_size` as Harbor's handlers read them: absent means page 1 of 10; a page size
 * of 0 or less means no paging (every item, from the first); a page of 0 or less means the first
 * page; a page size over 100 is read as 100. Only text that is not an integer is refused.
 */
export function paging(url: URL): Paging {
  const integer = (name: string, fallback: number): number => {
    const text = url.searchParams.get(name);
    if (text === null || text.trim() === "") return fallback;
    if (!/^\s*[-+]?\d+\s*$/.test(text)) throw new HarborError("BAD_REQUEST", `${name} must be an integer`);
    return Number(text);
  };
  const pageSize = integer("page_size", DEFAULT_PAGE_SIZE);
  if (pageSize <= 0) return { page: 1, pageSize: 0, offset: 0, limit: UNPAGED_LIMIT };
  const size = Math.min(pageSize, MAX_PAGE_SIZE);
  const page = Math.min(Math.max(integer("page", 1), 1), Math.floor(Number.MAX_SAFE_INTEGER / size));
  return { page, pageSize: size, offset: (page - 1) * size, limit: size };
}

/** `X-Total-Count` and, when there are more pages around, RFC 5988 `Link` like Harbor's. */
export function setPageHeaders(res: ServerResponse, url: URL, paging: Paging, total: number): void {
  res.setHeader("X-Total-Count", String(total));
  // Harbor sends no links for an unpaged answer.
  if (paging.pageSize === 0) return;
  const link = (page: number, rel: string): string => {
    const query = new URLSearchParams(url.searchParams);
    query.set("page", String(page));
    query.set("page_size", String(paging.pageSize));
    return `<${url.pathname}?${query.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (paging.page > 1 && (paging.page - 1) * paging.pageSize < total) links.push(link(paging.page - 1, "prev"));
  if (paging.page * paging.pageSize < total) links.push(link(paging.page + 1, "next"));
  if (links.length > 0) res.setHeader("Link", links.join(" , "));
}

export interface QueryTerm {
  /** The value as written (for a range or a list, the bracketed text). */
  readonly value: string;
  /** `key=~value`: a substring match. */
  readonly fuzzy: boolean;
  /** `key=[from~to]`, either bound may be empty: only for the keys the caller allows. */
  readonly range?: { readonly from?: string; readonly to?: string };
  /** `key={a b}` (any of them) or `key=(a b)` (all of them), values without their quotes. */
  readonly list?: { readonly op: "or" | "and"; readonly values: readonly string[] };
}

/**
 * Go's url.QueryUnescape: `+` is a space and `%XX` a byte; text that is not a valid escape is
 * left as it was, as Harbor's query builder does when its second unescaping fails.
 */
export function queryUnescape(text: string): string {
  if (!/[%+]/.test(text)) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

/** A path segment unescaped (`%3A` is `:`); one that is not a valid escape is left as it was. */
export function pathSegment(text: string | undefined): string {
  if (text === undefined) return "";
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Harbor's `q`: comma-separated `key=value` (exact), `key=~value` (substring), `key=[from~to]`
 * (a range, for the keys in `ranges`), `key={a b}` and `key=(a b)` (lists). As Harbor's query
 * builder, the value is unescaped once more (clients that encode `q` twice are served), and each
 * route reads the keys it knows and ignores the others. A term without `=` or with an empty key
 * is refused, as Harbor refuses it.
 */
export function parseQuery(url: URL, options: { ranges?: readonly string[] } = {}): Map<string, QueryTerm> {
  const raw = url.searchParams.get("q");
  const terms = new Map<string, QueryTerm>();
  if (raw === null || raw.trim() === "") return terms;
  const q = queryUnescape(raw);
  for (const part of q.split(",")) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(~?)(.*?)\s*$/.exec(part);
    const key = match?.[1];
    if (!key) {
      throw new HarborError(
        "BAD_REQUEST",
        `invalid query term ${JSON.stringify(part)}: the query string must contain "=" and the key cannot be empty`,
      );
    }
    const value = match[3] ?? "";
    const fuzzy = match[2] === "~";
    const range = /^\[([^~\]]*)~([^~\]]*)\]$/.exec(value);
    if (range && !fuzzy && options.ranges?.includes(key)) {
      const from = unquote(range[1] ?? "");
      const to = unquote(range[2] ?? "");
      terms.set(key, { value, fuzzy: false, range: { ...(from && { from }), ...(to && { to }) } });
      continue;
    }
    if (!fuzzy && value.startsWith("[") && !range) {
      throw new HarborError("BAD_REQUEST", `invalid query string value: ${value}: a range is [min~max]`);
    }
    const list = /^([{(])(.*)([})])$/.exec(value);
    if (!fuzzy && /^[{(]/.test(value) && !(list && (list[1] === "{") === (list[3] === "}"))) {
      throw new HarborError("BAD_REQUEST", `invalid query string value: ${value}: a list is {a b} or (a b)`);
    }
    if (list && !fuzzy) {
      const values = (list[2] ?? "").split(" ").map(unquote).filter(Boolean);
      terms.set(key, { value, fuzzy: false, list: { op: list[1] === "{" ? "or" : "and", values } });
      continue;
    }
    // Harbor's escape for a value that starts with a pattern character: `\[literal`.
    terms.set(key, { value: value.startsWith("\\") ? value.slice(1) : value, fuzzy });
  }
  return terms;
}

/** A list value without its surrounding quotes, as Harbor's parser reads `"a"` and `'a'`. */
function unquote(text: string): string {
  return text.trim().replace(/^["']+|["']+$/g, "");
}

/**
 * Whether a value satisfies a term, as Harbor's database query would: exact, fuzzy (substring,
 * ignoring case), or-list (any value), and-list and ranges (never, for a single text value).
 */
export function termMatches(term: QueryTerm, value: string): boolean {
  if (term.range) return false;
  if (term.list) return term.list.op === "or" ? term.list.values.includes(value) : false;
  return term.fuzzy ? value.toLowerCase().includes(term.value.toLowerCase()) : value === term.value;
}

/**
 * The values an exact or list term accepts: `key=a` gives ["a"], `key={a b}` gives ["a", "b"];
 * undefined when the term is absent, fuzzy, a range, or an and-list (which routes cannot match
 * on one field).
 */
export function anyOf(term: QueryTerm | undefined): readonly string[] | undefined {
  if (!term || term.fuzzy || term.range) return undefined;
  if (term.list) return term.list.op === "or" ? term.list.values : undefined;
  return [term.value];
}

/** A time in a `q` range, as Harbor's clients write it ("2024-01-31 23:59:59", UTC) or RFC 3339. */
export function queryTime(text: string, key: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text) ? `${text.replace(" ", "T")}Z` : text;
  const date = new Date(iso);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(date.getTime())) {
    throw new HarborError(
      "BAD_REQUEST",
      `invalid time ${JSON.stringify(text)} in ${key}: expected "YYYY-MM-DD hh:mm:ss"`,
    );
  }
  return date;
}

/** Reads and validates a JSON body; a bad one is a 400 naming the field at fault. */
export async function readJson<T extends z.ZodType>(req: IncomingMessage, schema: T): Promise<z.infer<T>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BYTES) throw new HarborError("BAD_REQUEST", "request body too large");
    chunks.push(chunk as Buffer);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
  } catch {
    throw new HarborError("BAD_REQUEST", "request body is not valid JSON");
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join(".") : "body";
    throw new HarborError("BAD_REQUEST", `invalid ${where}: ${issue?.message ?? "invalid value"}`);
  }
  return result.data;
}

/** Harbor answers most creations with 201, an empty body and the new resource's URL. */
export function created(res: ServerResponse, location: string): void {
  res.statusCode = 201;
  res.setHeader("Location", location);
  res.setHeader("Content-Length", "0");
  res.end();
}

export function ok(res: ServerResponse): void {
  res.statusCode = 200;
  res.setHeader("Content-Length", "0");
  res.end();
}

/** Harbor's time format in JSON: RFC 3339 with milliseconds. */
export function time(date: Date): string {
  return date.toISOString();
}

/** `{project_name_or_id}`: a number is an id unless `X-Is-Resource-Name: true` says it is a name. */
export function nameOrId(req: IncomingMessage, value: string): { id: number } | { name: string } {
  const byName = String(req.headers["x-is-resource-name"] ?? "").toLowerCase() === "true";
  return !byName && /^\d+$/.test(value) ? { id: Number(value) } : { name: pathSegment(value) };
}
