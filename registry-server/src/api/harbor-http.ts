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
/** Request bodies of the management API are small documents. */
const MAX_JSON_BYTES = 1024 * 1024;

export interface Paging {
  page: number;
  pageSize: number;
  offset: number;
  limit: number;
}

export function paging(url: URL): Paging {
  const number = (name: string, fallback: number, max: number): number => {
    const text = url.searchParams.get(name);
    if (text === null || text === "") return fallback;
    if (!/^\d+$/.test(text) || Number(text) < 1)
      throw new HarborError("BAD_REQUEST", `${name} must be a positive integer`);
    return Math.min(Number(text), max);
  };
  const page = number("page", 1, Number.MAX_SAFE_INTEGER);
  const pageSize = number("page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  return { page, pageSize, offset: (page - 1) * pageSize, limit: pageSize };
}

/** `X-Total-Count` and, when there are more pages around, RFC 5988 `Link` like Harbor's. */
export function setPageHeaders(res: ServerResponse, url: URL, paging: Paging, total: number): void {
  res.setHeader("X-Total-Count", String(total));
  const link = (page: number, rel: string): string => {
    const query = new URLSearchParams(url.searchParams);
    query.set("page", String(page));
    query.set("page_size", String(paging.pageSize));
    return `<${url.pathname}?${query.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (paging.page > 1) links.push(link(paging.page - 1, "prev"));
  if (paging.page * paging.pageSize < total) links.push(link(paging.page + 1, "next"));
  if (links.length > 0) res.setHeader("Link", links.join(" , "));
}

export interface QueryTerm {
  /** The value as written (for a range, the bracketed text). */
  readonly value: string;
  /** `key=~value`: a substring match. */
  readonly fuzzy: boolean;
  /** `key=[from~to]`, either bound may be empty: only for the keys the caller allows. */
  readonly range?: { readonly from?: string; readonly to?: string };
}

/**
 * Harbor's `q`: comma-separated `key=value` (exact), `key=~value` (substring) or, for the keys in
 * `ranges`, `key=[from~to]`. Other forms (lists, ranges elsewhere) are refused rather than
 * silently ignored.
 */
export function parseQuery(url: URL, options: { ranges?: readonly string[] } = {}): Map<string, QueryTerm> {
  const q = url.searchParams.get("q");
  const terms = new Map<string, QueryTerm>();
  if (q === null || q.trim() === "") return terms;
  for (const part of q.split(",")) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(~?)(.*?)\s*$/.exec(part);
    const key = match?.[1];
    if (!key) throw new HarborError("BAD_REQUEST", `invalid query term ${JSON.stringify(part)}`);
    const value = match[3] ?? "";
    const range = /^\[([^~\]]*)~([^~\]]*)\]$/.exec(value);
    if (range && match[2] === "" && options.ranges?.includes(key)) {
      const from = range[1]?.trim();
      const to = range[2]?.trim();
      terms.set(key, { value, fuzzy: false, range: { ...(from && { from }), ...(to && { to }) } });
      continue;
    }
    if (/^[[{(]/.test(value)) throw new HarborError("BAD_REQUEST", `unsupported query term ${JSON.stringify(part)}`);
    terms.set(key, { value, fuzzy: match[2] === "~" });
  }
  return terms;
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
  return !byName && /^\d+$/.test(value) ? { id: Number(value) } : { name: decodeURIComponent(value) };
}
