// Small pieces shared by the /v2 routes: names from the path, request bodies with limits, the
// Content-Range of chunk uploads, and pagination parameters.

import type { IncomingMessage } from "node:http";
import { RegistryError } from "../http/errors.ts";
import { handOverChunks } from "../storage/handed-over-chunks.ts";
import { isValidRepositoryName } from "../content/names.ts";
import type { ChunkHeaders } from "../content/upload-service.ts";

/** The repository name captured from the raw path, validated (no "..", no "%2F"). */
export function repositoryName(params: Readonly<Record<string, string>>): string {
  const name = params["name"] ?? "";
  if (!isValidRepositoryName(name)) {
    throw new RegistryError("NAME_INVALID", `invalid repository name ${JSON.stringify(name.slice(0, 300))}`);
  }
  return name;
}

/** Content-Length as a number, or undefined when absent (chunked transfer). */
export function contentLength(req: IncomingMessage): number | undefined {
  const header = req.headers["content-length"];
  if (header === undefined) return undefined;
  const value = Number(header);
  if (!/^\d+$/.test(header) || !Number.isSafeInteger(value))
    throw new RegistryError("SIZE_INVALID", "invalid Content-Length");
  return value;
}

/**
 * The request's body for the storage to read. A storage that stops reading early (the disk filled
 * up in the middle of a layer, a digest refused) leaves the request as it is, rather than
 * destroying it as a stream's iterator would: the error handling (http/app.ts) then answers and
 * reads the rest away, so that a client still sending gets the answer, not a reset connection.
 * A request that fails or ends early (its client went away) still fails the reading. The body's
 * chunks are handed over: nothing else reads them, so the storage frees each once stored.
 */
export function requestBody(req: IncomingMessage): AsyncIterable<unknown> {
  return handOverChunks(req.iterator({ destroyOnReturn: false }));
}

/** Whether the request carries a body at all. */
export function hasBody(req: IncomingMessage): boolean {
  const length = contentLength(req);
  return length === undefined ? req.headers["transfer-encoding"] !== undefined : length > 0;
}

const CONTENT_RANGE = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/;

/** Content-Range and Content-Length of a chunk; a malformed range is not satisfiable (416). */
export function chunkHeaders(req: IncomingMessage): ChunkHeaders {
  const length = contentLength(req);
  const header = req.headers["content-range"];
  if (header === undefined) return length === undefined ? {} : { length };
  const match = CONTENT_RANGE.exec(header.trim());
  const start = Number(match?.[1]);
  const end = Number(match?.[2]);
  if (!match || end < start) {
    throw new RegistryError("BLOB_UPLOAD_INVALID", `invalid Content-Range ${JSON.stringify(header)}`, { status: 416 });
  }
  return { range: { start, end }, ...(length !== undefined && { length }) };
}

/** Reads a whole body into memory, refusing more than `maxBytes` with 413. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = contentLength(req);
  const tooLarge = () => new RegistryError("MANIFEST_INVALID", `body larger than ${maxBytes} bytes`, { status: 413 });
  if (declared !== undefined && declared > maxBytes) {
    req.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  if (declared !== undefined && body.length !== declared) {
    throw new RegistryError("SIZE_INVALID", `received ${body.length} bytes but the declared length is ${declared}`);
  }
  return body;
}

/** The most entries one page of tags or repositories returns, whatever `n` asks. */
export const MAX_PAGE_SIZE = 10_000;

/** `n` and `last` of the tags list and catalog. */
export function pageParameters(url: URL): { limit?: number; after?: string } {
  const n = url.searchParams.get("n");
  const last = url.searchParams.get("last");
  let limit: number | undefined;
  if (n !== null) {
    if (!/^\d+$/.test(n)) throw new RegistryError("UNSUPPORTED", `invalid n ${JSON.stringify(n)}`, { status: 400 });
    limit = Math.min(Number(n), MAX_PAGE_SIZE);
  }
  return { ...(limit !== undefined && { limit }), ...(last !== null && last !== "" && { after: last }) };
}

/** `Link: <…?n=N&last=L>; rel="next"` for a page that may continue. */
export function nextLink(path: string, limit: number, last: string): string {
  const query = new URLSearchParams({ n: String(limit), last });
  return `<${path}?${query.toString()}>; rel="next"`;
}
