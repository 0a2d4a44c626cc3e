// Shared by the tests of several processes serving one registry (workers, replicas): requests on
// connections of their own (round-robin balances connections, not requests), each with a request
// id the test chose, and the server logs read back to learn which process answered it.

import { readFileSync } from "node:fs";
import * as http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { ADMIN } from "../helpers.ts";

export const BASIC = `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64")}`;

export interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** The X-Request-Id sent, which the server logs with the request. */
  readonly requestId: string;
}

let counter = 0;

/** A request id unique in this test run, easy to find in a log. */
export function newRequestId(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${counter}-${Date.now()}`;
}

/**
 * One request on a new connection, closed after it. The admin's basic credentials unless
 * `headers` has an Authorization (an empty one sends none).
 */
export function freshRequest(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer | string; label?: string; timeoutMs?: number } = {},
): Promise<Answer> {
  const requestId = newRequestId(options.label ?? "req");
  const headers: Record<string, string> = { Authorization: BASIC, ...options.headers, "X-Request-Id": requestId };
  if (headers["Authorization"] === "") delete headers["Authorization"];
  const body = typeof options.body === "string" ? Buffer.from(options.body) : options.body;
  if (body !== undefined) headers["Content-Length"] = String(body.length);
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(
      new URL(path, base),
      { method, headers, agent: false, timeout: options.timeoutMs ?? 20_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), requestId }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer in time`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** The log entries (JSON lines) of `output`, skipping what is not JSON. */
export function logEntries(output: string): Array<Record<string, unknown>> {
  const entries: Array<Record<string, unknown>> = [];
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      entries.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A line cut by the kept-output limit.
    }
  }
  return entries;
}

/** The `worker` label of the access log line of request `requestId`, if `output` has it. */
export function workerOf(output: string, requestId: string): number | undefined {
  const entry = logEntries(output).find((each) => each["msg"] === "request" && each["requestId"] === requestId);
  return typeof entry?.["worker"] === "number" ? entry["worker"] : undefined;
}

/** The processes `pid` started (its children), from /proc. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes; says whether it held. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; round < Math.ceil(timeoutMs / 50) + 1; round++) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return false;
}

/** The sum of a metric's samples in Prometheus text whose labels include every one of `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const given = match[2] ?? "";
    if (Object.entries(labels).every(([key, value]) => given.includes(`${key}="${value}"`))) sum += Number(match[3]);
  }
  return sum;
}
