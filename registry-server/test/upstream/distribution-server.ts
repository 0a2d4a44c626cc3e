// CNCF Distribution 2.8 (Debian's docker-registry package) as an upstream for the tests: its own
// data directory, htpasswd basic auth (bcrypt hashes from apache2-utils' htpasswd), optional
// TLS, on a free loopback port; ready once `GET /v2/` answers.

import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { tempDir } from "../helpers.ts";

export const DISTRIBUTION_BINARY = "/usr/bin/docker-registry";

export interface DistributionServer {
  url: string;
  port: number;
  stop: () => Promise<void>;
  /** Stops the process but keeps the data, for restarts. */
  kill: () => Promise<void>;
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

export async function startDistribution(options: {
  users: Record<string, string>;
  tls?: { certFile: string; keyFile: string };
}): Promise<DistributionServer> {
  const work = tempDir("distribution");
  const htpasswd = path.join(work.dir, "htpasswd");
  writeFileSync(htpasswd, "");
  for (const [user, password] of Object.entries(options.users)) {
    // -B: bcrypt, the only scheme Distribution accepts; -i reads the password from stdin.
    execFileSync("htpasswd", ["-B", "-i", htpasswd, user], { input: password, stdio: ["pipe", "ignore", "ignore"] });
  }
  const port = await freePort();
  mkdirSync(path.join(work.dir, "data"));
  const config = path.join(work.dir, "config.yml");
  const lines = [
    "version: 0.1",
    "log: { level: warn, accesslog: { disabled: true } }",
    `storage: { filesystem: { rootdirectory: ${path.join(work.dir, "data")} }, delete: { enabled: true } }`,
    "auth: { htpasswd: { realm: distribution, path: " + htpasswd + " } }",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString("hex")}`,
  ];
  if (options.tls) lines.push(`  tls: { certificate: ${options.tls.certFile}, key: ${options.tls.keyFile} }`);
  writeFileSync(config, `${lines.join("\n")}\n`);
  const logFile = path.join(work.dir, "distribution.log");
  const fd = openSync(logFile, "a");
  const child = spawn(DISTRIBUTION_BINARY, ["serve", config], { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const url = `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;
  // Ready when the port accepts connections (TLS or not, /v2/ answers 401 without credentials).
  const deadline = Date.now() + 15_000;
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) break;
    if (await accepts(port)) {
      return { url, port, kill, stop: async () => (await kill(), work.remove()) };
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await kill();
  const log = readFileSync(logFile, "utf8");
  work.remove();
  throw new Error(`docker-registry did not start:\n${log}`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}
