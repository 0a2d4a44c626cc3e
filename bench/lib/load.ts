// The external clients: wrk (HTTP/1.1, threads, keep-alive) for GETs under load, ApacheBench
// (`ab -k -i`) for HEADs, because wrk 4.1 waits for the body a HEAD response's Content-Length
// announces and so never completes a HEAD request, and curl piped into `openssl dgst` for large
// pulls, because receiving in Node.js costs the client more CPU than the servers spend sending
// (the client would set the pace, not the server). Each runs under a hard time limit.

import { spawn } from "node:child_process";

export interface LoadResult {
  tool: string;
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** Responses outside 2xx/3xx (wrk) or 2xx (ab). */
  non2xx: number;
  /** Connection, read, write and timeout errors, and ab's failed requests. */
  errors: number;
  p50Ms?: number;
  p99Ms?: number;
}

/** Runs a command to its end (killed after `limitMs`); rejects unless it exits 0. */
function runCapturing(command: string, args: string[], limitMs: number): Promise<{ out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ out, err });
      else reject(new Error(`${command} ended with ${signal ?? `exit code ${code}`}: ${(err || out).slice(0, 500)}`));
    });
  });
}

async function run(command: string, args: string[], limitMs: number): Promise<string> {
  return (await runCapturing(command, args, limitMs)).out;
}

function number(text: string, pattern: RegExp): number | undefined {
  const match = pattern.exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** wrk's durations ("812.00us", "1.20ms", "2.01s") in milliseconds. */
function wrkDurationMs(text: string, percentile: string): number | undefined {
  const match = new RegExp(`^\\s+${percentile}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(text);
  if (!match?.[1]) return undefined;
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[match[2] as "us" | "ms" | "s" | "m"];
  return Number(match[1]) * scale;
}

export function headerArgs(headers: Record<string, string>): string[] {
  return Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]);
}

export async function wrk(
  url: string,
  headers: Record<string, string>,
  options: { threads: number; connections: number; seconds: number },
): Promise<LoadResult> {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    "--latency",
    ...headerArgs(headers),
    url,
  ];
  const out = await run("wrk", args, options.seconds * 1000 + 30_000);
  const requests = number(out, /^\s*(\d+) requests in ([\d.]+)(?:us|ms|s|m)/m) ?? 0;
  const seconds = options.seconds;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = socket ? socket.slice(1, 5).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    tool: "wrk",
    requests,
    seconds,
    requestsPerSecond: number(out, /^Requests\/sec:\s+([\d.]+)/m) ?? 0,
    non2xx: number(out, /Non-2xx or 3xx responses:\s+(\d+)/) ?? 0,
    errors,
    ...optional("p50Ms", wrkDurationMs(out, "50")),
    ...optional("p99Ms", wrkDurationMs(out, "99")),
  };
}

export async function abHead(
  url: string,
  headers: Record<string, string>,
  options: { connections: number; seconds: number },
): Promise<LoadResult> {
  // -t implies -n 50000, so -n must come after it to lift that cap.
  const args = [
    "-k",
    "-i",
    "-q",
    "-c",
    String(options.connections),
    "-t",
    String(options.seconds),
    "-n",
    "100000000",
    ...headerArgs(headers),
    url,
  ];
  const out = await run("ab", args, options.seconds * 1000 + 30_000);
  return {
    tool: "ab",
    requests: number(out, /^Complete requests:\s+(\d+)/m) ?? 0,
    seconds: number(out, /^Time taken for tests:\s+([\d.]+)/m) ?? options.seconds,
    requestsPerSecond: number(out, /^Requests per second:\s+([\d.]+)/m) ?? 0,
    non2xx: number(out, /^Non-2xx responses:\s+(\d+)/m) ?? 0,
    errors: (number(out, /^Failed requests:\s+(\d+)/m) ?? 0) + (number(out, /^Write errors:\s+(\d+)/m) ?? 0),
    ...optional("p50Ms", number(out, /^\s+50%\s+(\d+)/m)),
    ...optional("p99Ms", number(out, /^\s+99%\s+(\d+)/m)),
  };
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

export async function toolVersion(command: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
    child.on("error", () => resolve("unknown"));
    child.on("close", () => resolve(out.split("\n").find((line) => line.trim() !== "") ?? "unknown"));
  });
}

/**
 * GETs a URL with curl, hashing the body with OpenSSL in a second process (so receiving and
 * hashing overlap) or, with `hash` false, dropping it: the HTTP status, the bytes received and
 * the body's sha256 digest ("none" when not hashed).
 */
export async function curlGet(
  url: string,
  headers: Record<string, string>,
  options: { hash: boolean; limitMs: number },
): Promise<{ status: number; bytes: number; digest: string }> {
  const limitMs = options.limitMs;
  const script = options.hash
    ? 'curl -sS -w "%{stderr}%{http_code} %{size_download}" "$@" | openssl dgst -sha256 -r'
    : 'curl -sS -o /dev/null -w "%{stderr}%{http_code} %{size_download}" "$@"';
  const { out, err } = await runCapturing(
    "bash",
    ["-o", "pipefail", "-c", script, "bench-pull", ...headerArgs(headers), url],
    limitMs,
  );
  const written = /(\d{3}) (\d+)\s*$/.exec(err);
  const hex = /^([0-9a-f]{64})\b/.exec(out.trim());
  return {
    status: Number(written?.[1] ?? 0),
    bytes: Number(written?.[2] ?? 0),
    digest: hex?.[1] ? `sha256:${hex[1]}` : "none",
  };
}
