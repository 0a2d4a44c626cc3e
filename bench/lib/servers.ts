// Starts the registries side by side on loopback (each with its own data directory under the
// run's temporary directory, its output in a log file there): Airlock, Distribution, and for the
// proxy-cache phases Distribution again in pull-through-cache mode in front of the first one.
// Waits until each answers /v2/, and reads their CPU time and memory from /proc.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { openSync, closeSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { newAgent, send, type Target } from "./http.ts";

export const DISTRIBUTION_BINARY = "/usr/bin/docker-registry";

export interface RunningServer {
  target: Target;
  pid: number;
  logFile: string;
  /** Where the server keeps its data. */
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

function logTail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "(no log)";
  }
}

function launch(command: string, args: string[], logFile: string, cwd: string): ChildProcess {
  const fd = openSync(logFile, "a");
  try {
    return spawn(command, args, { cwd, stdio: ["ignore", fd, fd], env: { ...process.env } });
  } finally {
    closeSync(fd);
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
}

/** Polls GET /v2/ until it answers 200; fails early if the process exits. */
async function waitReady(target: Target, child: ChildProcess, logFile: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
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

/** Our registry: `node registry-server/src/main.ts serve`, basic auth as admin on every request. */
export async function startAirlock(repoRoot: string, workDir: string, nodeArgs: string[] = []): Promise<RunningServer> {
  const dir = path.join(workDir, "airlock");
  const dataDir = path.join(dir, "data");
  mkdirSync(dir, { recursive: true });
  const password = randomBytes(18).toString("base64url");
  const passwordFile = path.join(workDir, "airlock-admin-password");
  writeFileSync(passwordFile, password, { mode: 0o600 });
  const port = await freePort();
  const logFile = path.join(workDir, "airlock.log");
  const child = launch(
    process.execPath,
    [
      ...nodeArgs,
      path.join(repoRoot, "registry-server", "src", "main.ts"),
      "serve",
      "--addr",
      `127.0.0.1:${port}`,
      "--data-dir",
      dataDir,
      "--admin-password-file",
      passwordFile,
      "--log-level",
      "warn",
    ],
    logFile,
    repoRoot,
  );
  const target: Target = {
    label: "Airlock",
    origin: `http://127.0.0.1:${port}`,
    headers: { Authorization: `Basic ${Buffer.from(`admin:${password}`).toString("base64")}` },
    agent: newAgent(),
  };
  const stop = stopper(child);
  try {
    await waitReady(target, child, logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  return { target, pid: child.pid ?? 0, logFile, dataDir, stop };
}

export interface DistributionOptions {
  /** Directory and log file name under the work directory, and the label ("distribution"). */
  name?: string;
  label?: string;
  /** Runs as a pull-through cache of this registry (`proxy.remoteurl`), which must be up. */
  proxyRemoteUrl?: string;
  readyTimeoutMs?: number;
}

/** CNCF Distribution from Debian's docker-registry package, with a configuration of our own. */
export async function startDistribution(workDir: string, options: DistributionOptions = {}): Promise<RunningServer> {
  const name = options.name ?? "distribution";
  const dir = path.join(workDir, name);
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
      // Distribution 2.8 pings the remote's /v2/ while starting, and exits if it cannot.
      ...(options.proxyRemoteUrl !== undefined ? ["proxy:", `  remoteurl: ${options.proxyRemoteUrl}`] : []),
      "",
    ].join("\n"),
  );
  const logFile = path.join(workDir, `${name}.log`);
  const child = launch(DISTRIBUTION_BINARY, ["serve", config], logFile, dir);
  const target: Target = {
    label: options.label ?? "Distribution",
    origin: `http://127.0.0.1:${port}`,
    headers: {},
    agent: newAgent(),
  };
  const stop = stopper(child);
  try {
    await waitReady(target, child, logFile, options.readyTimeoutMs);
  } catch (err) {
    await stop();
    throw err;
  }
  return { target, pid: child.pid ?? 0, logFile, dataDir, stop };
}

export function distributionVersion(): string {
  const result = spawnSync(DISTRIBUTION_BINARY, ["--version"], { encoding: "utf8" });
  return (result.stdout || result.stderr || "unknown").trim();
}

let clockTicks: number | undefined;

export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout;
    clockTicks = Number(out.trim()) || 100;
  }
  return clockTicks;
}

/** User plus system CPU seconds the process has used so far (all its threads). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14, 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/** VmRSS and VmHWM (the kernel's record of the peak resident set), in MiB. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rss: field("VmRSS") / 1024, peak: field("VmHWM") / 1024 };
}
