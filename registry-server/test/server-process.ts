// The registry as operators run it, for the fault tests: `node src/main.ts serve` in a process of
// its own, configured from a file, its JSON log captured. A crash shows as an exit the test can
// see (an in-process server would take the test runner down with it).

import { spawn } from "node:child_process";
import * as path from "node:path";
import { ADMIN, tempDir, writeFile } from "./helpers.ts";

const MAIN = path.resolve(import.meta.dirname, "../src/main.ts");
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
/** The log kept for failure reports: its last characters, so that a long run cannot fill memory. */
const MAX_KEPT_OUTPUT = 4 * 1024 * 1024;

export interface ServerProcess {
  readonly url: string;
  /** The process's id (with several workers, the primary's). */
  readonly pid: number;
  /** Whether the process is still running. */
  alive(): boolean;
  /** How it ended, once it has: an exit code or a signal. */
  exit(): string | undefined;
  /** The last few MiB of its output (JSON log lines). */
  output(): string;
  /** SIGTERM, then SIGKILL if it lingers; removes its directory. Resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts the server with `configLines` (YAML, without `http` and `dataDir`, which this sets) and
 * the admin password of test/helpers.ts; resolves once it logs "listening". `dataDir` puts the
 * data directory somewhere of the test's choosing (a small filesystem); it is left in place.
 */
export async function startServerProcess(
  configLines: readonly string[],
  options: { dataDir?: string } = {},
): Promise<ServerProcess> {
  const work = tempDir("server-process");
  const passwordFile = writeFile(work.dir, "admin-password", `${ADMIN.password}\n`);
  const configFile = writeFile(
    work.dir,
    "config.yaml",
    [
      'http:\n  addr: "127.0.0.1:0"',
      `dataDir: ${JSON.stringify(options.dataDir ?? "data")}`,
      "log: { level: info }",
      ...configLines,
      "",
    ].join("\n"),
  );
  const child = spawn(
    process.execPath,
    [MAIN, "serve", "--config", configFile, "--admin-password-file", passwordFile],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env["PATH"] ?? "" },
    },
  );
  let output = "";
  const keep = (chunk: Buffer): void => {
    output += chunk.toString("utf8");
    if (output.length > MAX_KEPT_OUTPUT) output = output.slice(-MAX_KEPT_OUTPUT / 2);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let ended: string | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => {
      ended = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
      resolve(code);
    }),
  );
  const stop = async (): Promise<number | null> => {
    if (ended === undefined) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited.finally(() => clearTimeout(timer));
    }
    work.remove();
    return exited;
  };
  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`did not start within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      const onData = (): void => {
        const match = /"msg":"listening"[^\n]*"url":"([^"]+)"|"url":"([^"]+)"[^\n]*"msg":"listening"/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1] ?? match[2] ?? "");
        }
      };
      child.stdout.on("data", onData);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`exited early (${ended ?? "?"})`));
      });
    });
  } catch (error) {
    await stop();
    throw new Error(`the server process ${(error as Error).message}:\n${output.slice(-4000)}`, { cause: error });
  }
  return {
    url,
    pid: child.pid ?? 0,
    alive: () => ended === undefined,
    exit: () => ended,
    output: () => output,
    stop,
  };
}
