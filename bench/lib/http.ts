// A small HTTP/1.1 client for the benchmark: keep-alive connections, bodies streamed from memory
// with backpressure, responses read whole (large pulls go through curl, see load.ts). Every
// request has a time limit, so no phase can hang.

import * as http from "node:http";

/** One registry under test, as the client sees it. */
export interface Target {
  /** Short label for progress lines and the report. */
  label: string;
  origin: string;
  /** Sent on every request (the Authorization header for ours, nothing for Distribution). */
  headers: Record<string, string>;
  agent: http.Agent;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** Sent in slices of `sliceBytes`, waiting for the socket to drain between them. */
  body?: Buffer;
  sliceBytes?: number;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const SLICE_BYTES = 1024 * 1024;

export function newAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });
}

async function writeBody(req: http.ClientRequest, body: Buffer, sliceBytes: number): Promise<void> {
  for (let offset = 0; offset < body.length; offset += sliceBytes) {
    const slice = body.subarray(offset, Math.min(offset + sliceBytes, body.length));
    if (!req.write(slice)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          req.off("error", onError);
          resolve();
        };
        const onError = (err: Error): void => {
          req.off("drain", onDrain);
          reject(err);
        };
        req.once("drain", onDrain);
        req.once("error", onError);
      });
    }
  }
  req.end();
}

function start(
  target: Target,
  method: string,
  path: string,
  options: RequestOptions,
  onResponse: (res: http.IncomingMessage) => void,
  reject: (err: Error) => void,
): void {
  const url = new URL(path, target.origin);
  const headers: Record<string, string> = { ...target.headers, ...options.headers };
  if (options.body) headers["Content-Length"] = String(options.body.length);
  else if (method === "POST" || method === "PUT" || method === "PATCH") headers["Content-Length"] = "0";
  const req = http.request(url, { method, headers, agent: target.agent }, onResponse);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${url.pathname}: no progress for ${timeoutMs} ms`)));
  req.on("error", reject);
  if (options.body) writeBody(req, options.body, options.sliceBytes ?? SLICE_BYTES).catch(reject);
  else req.end();
}

/** A request whose response body is read whole into memory. */
export function send(target: Target, method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    start(
      target,
      method,
      path,
      options,
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
      reject,
    );
  });
}

/** Throws unless the reply has the expected status; the message carries the start of the body. */
export function expectStatus(reply: Reply, expected: number, what: string): Reply {
  if (reply.status !== expected) {
    const body = reply.body.toString("utf8").slice(0, 300);
    throw new Error(`${what}: expected ${expected}, got ${reply.status} ${body}`);
  }
  return reply;
}

/** The Location header as a path and query on the target (Distribution answers absolute URLs). */
export function location(target: Target, reply: Reply, what: string): string {
  const header = reply.headers.location;
  if (!header) throw new Error(`${what}: no Location header`);
  const url = new URL(header, target.origin);
  return `${url.pathname}${url.search}`;
}

/** Appends a query parameter to a path that may already have a query. */
export function withQuery(path: string, key: string, value: string): string {
  return `${path}${path.includes("?") ? "&" : "?"}${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
}
