// Starts the registries side by side on loopback, each with its own data directory under the run's
// temporary directory and its output in a log file there: Airlock (as many workers as CPUs, and
// again with one), CNCF Distribution 3 (built from its Go module by scripts/tools/go-tools.sh, the
// anchor) and Distribution 2.8 (Debian's docker-registry), and for the proxy-cache phases each
// Distribution again in pull-through-cache mode. Waits until each answers /v2/.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { homedir } from "node:os";
import * as path from "node:path";
import { allocatorEnvironment } from "./allocator.ts";
import { newAgent, send, type Target } from "./http.ts";

export const DISTRIBUTION_28_BINARY = "/usr/bin/docker-registry";

/** Distribution 3's binary, linked into .tools/bin by `scripts/tools/go-tools.sh distribution`. */
export function distribution3Binary(repoRoot: string): string {
  return path.join(repoRoot, ".tools", "bin", "distribution");
}

/** A server under test, or one the run needs (an upstream, a database, a balancer). */
export interface RunningServer {
  target: Target;
  /** The processes the run started for it; their descendants (workers) belong to it too. */
  roots: number[];
  logFiles: string[];
  /** Where the server keeps its data (the first replica's, for the replicas). */
  dataDir: string;
  stop: () => Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function logTail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "(no log)";
  }
}

export function launch(
  command: string,
  args: string[],
  logFile: string,
  cwd: string,
  env: Record<string, string> = {},
): ChildProcess {
  const fd = openSync(logFile, "a");
  try {
    return spawn(command, args, { cwd, stdio: ["ignore", fd, fd], env: { ...process.env, ...env } });
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM, then SIGKILL after 10 s; Airlock's primary stops its workers on SIGTERM. */
export function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
}

export function exited(child: ChildProcess): () => boolean {
  return () => child.exitCode !== null || child.signalCode !== null;
}

/** Polls GET /v2/ until it answers 200; fails early once `ended` says the process exited. */
export async function waitReady(
  target: Target,
  ended: () => boolean,
  logFile: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (ended()) {
      throw new Error(`${target.label} exited during start-up:\n${logTail(logFile)}`);
    }
    try {
      const reply = await send(target, "GET", "/v2/", { timeoutMs: 2_000 });
      if (reply.status === 200) return;
      last = `status ${reply.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${target.label} not ready after ${timeoutMs} ms (${last}):\n${logTail(logFile)}`);
}

export interface AirlockOptions {
  /** Directory and log file name under the work directory. */
  name: string;
  label: string;
  /** The `workers` setting (AIRLOCK_WORKERS); the server's default, the CPU count, when absent. */
  workers?: number;
  /** Further YAML lines of the configuration file (metadata, storage). */
  configLines?: string[];
  /** The admin password; a fresh one when absent (replicas share one). */
  password?: string;
  readyTimeoutMs?: number;
}

/** Our registry: `node registry-server/src/main.ts serve --config …`, basic auth as admin. */
export async function startAirlock(repoRoot: string, workDir: string, options: AirlockOptions): Promise<RunningServer> {
  const dir = path.join(workDir, options.name);
  const dataDir = path.join(dir, "data");
  mkdirSync(dir, { recursive: true });
  const password = options.password ?? randomBytes(18).toString("base64url");
  const passwordFile = path.join(dir, "admin-password");
  writeFileSync(passwordFile, password, { mode: 0o600 });
  const port = await freePort();
  const configFile = path.join(dir, "config.yaml");
  writeFileSync(
    configFile,
    [
      "http:",
      `  addr: "127.0.0.1:${port}"`,
      `dataDir: ${JSON.stringify(dataDir)}`,
      "log:",
      "  level: warn",
      ...(options.configLines ?? []),
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const logFile = path.join(workDir, `${options.name}.log`);
  const child = launch(
    process.execPath,
    [
      // As the image and the local target start it (components/local/server-process.ts).
      "--max-semi-space-size=2",
      path.join(repoRoot, "registry-server", "src", "main.ts"),
      "serve",
      "--config",
      configFile,
      "--admin-password-file",
      passwordFile,
    ],
    logFile,
    repoRoot,
    // Through the environment: a server without the setting ignores it (and runs one process,
    // which the report then says) instead of refusing the configuration file.
    {
      ...(options.workers !== undefined && { AIRLOCK_WORKERS: String(options.workers) }),
      // As the local target starts it (components/local/server-process.ts): the compile cache
      // from the first module on, so no process keeps Node's TypeScript stripper.
      NODE_COMPILE_CACHE: path.join(homedir(), ".cache", "airlock-registry", "node-compile-cache"),
      // jemalloc where the machine has it, as the local target and the image (allocator.ts).
      ...allocatorEnvironment(),
    },
  );
  const target: Target = {
    label: options.label,
    origin: `http://127.0.0.1:${port}`,
    headers: { Authorization: `Basic ${Buffer.from(`admin:${password}`).toString("base64")}` },
    agent: newAgent(),
  };
  const stop = stopper(child);
  try {
    await waitReady(target, exited(child), logFile, options.readyTimeoutMs);
  } catch (err) {
    await stop();
    throw err;
  }
  return { target, roots: [child.pid ?? 0], logFiles: [logFile], dataDir, stop };
}

export type DistributionRelease = "3" | "2.8";

export interface DistributionOptions {
  release: DistributionRelease;
  /** Directory and log file name under the work directory. */
  name: string;
  label: string;
  /** Runs as a pull-through cache of this registry (`proxy.remoteurl`), which must be up. */
  proxyRemoteUrl?: string;
  readyTimeoutMs?: number;
}

/**
 * CNCF Distribution with the same configuration for both releases: filesystem storage, deletes
 * enabled, the in-memory blob descriptor cache, no authentication, access log off, level warn.
 */
export async function startDistribution(
  repoRoot: string,
  workDir: string,
  options: DistributionOptions,
): Promise<RunningServer> {
  const dir = path.join(workDir, options.name);
  const dataDir = path.join(dir, "data");
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const config = path.join(dir, "config.yml");
  writeFileSync(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${dataDir}`,
      "  delete:",
      "    enabled: true",
      "  cache:",
      "    blobdescriptor: inmemory",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      `  secret: ${randomBytes(16).toString("hex")}`,
      // Distribution pings the remote's /v2/ while starting, and exits if it cannot.
      ...(options.proxyRemoteUrl !== undefined ? ["proxy:", `  remoteurl: ${options.proxyRemoteUrl}`] : []),
      "",
    ].join("\n"),
  );
  const logFile = path.join(workDir, `${options.name}.log`);
  const binary = options.release === "3" ? distribution3Binary(repoRoot) : DISTRIBUTION_28_BINARY;
  // Distribution 3 traces every request with OpenTelemetry and cannot be told not to; with no
  // exporter named it also tries to send the spans to localhost:4318. "none" is what its
  // documentation advises when no collector runs (the spans are still made, see the Notes).
  const env: Record<string, string> = options.release === "3" ? { OTEL_TRACES_EXPORTER: "none" } : {};
  const child = launch(binary, ["serve", config], logFile, dir, env);
  const target: Target = { label: options.label, origin: `http://127.0.0.1:${port}`, headers: {}, agent: newAgent() };
  const stop = stopper(child);
  try {
    await waitReady(target, exited(child), logFile, options.readyTimeoutMs);
  } catch (err) {
    await stop();
    throw err;
  }
  return { target, roots: [child.pid ?? 0], logFiles: [logFile], dataDir, stop };
}

/** The version line a Distribution binary prints. */
export function distributionVersion(repoRoot: string, release: DistributionRelease): string {
  const binary = release === "3" ? distribution3Binary(repoRoot) : DISTRIBUTION_28_BINARY;
  const result = spawnSync(binary, ["--version"], { encoding: "utf8" });
  return (result.stdout || result.stderr || "unknown").trim();
}
