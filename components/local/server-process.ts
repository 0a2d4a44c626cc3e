// The registry server as a background process on this machine, managed as a resource:
//   create  writes its configuration (admin password hashed, TLS files 0600), starts it detached
//           and waits until /api/v2.0/health answers over HTTPS with the stack's CA;
//   read    reports whether the process still runs and whether its config file is still the one
//           written, so `pulumi refresh` shows a stopped or hand-edited server as drift;
//   diff    also notices a dead process, so `pulumi up` alone heals it;
//   update  restarts it with the new configuration;
//   delete  stops it (SIGTERM, then SIGKILL after a grace period) and keeps or removes its data.
//
// Dynamic provider rules apply (see components/README.md): everything the provider needs is in
// this file, required inside functions, or in an import-free module serialised with it (the
// configuration's renderer, the unknown test), because the provider is serialised into the state.

import * as pulumi from "@pulumi/pulumi";
import { serverConfigText } from "../server-config/render-server-config";
import { allocatorEnvironment } from "./server-allocator";
import type { MirrorSettings, ServerSettings, UpstreamSettings } from "../server-config/server-settings";
import { isUnknown } from "../unknowns";

export interface ServerProcessArgs {
  /** Node.js binary that runs the server (Node.js 24 or newer). */
  nodePath: pulumi.Input<string>;
  /** Absolute path of the server's entry point (server-entry.ts: src/main.ts or the package's dist/main.js). */
  serverEntry: pulumi.Input<string>;
  /** Directory for the process's configuration, TLS files, pid file and log. */
  stateDir: pulumi.Input<string>;
  /** Directory for the registry's content. */
  dataDir: pulumi.Input<string>;
  /** Address to listen on. */
  bindAddress: pulumi.Input<string>;
  /** Port to listen on. */
  port: pulumi.Input<number>;
  /** Host name the health check connects with; must be in the certificate. */
  healthCheckHost: pulumi.Input<string>;
  /** PEM of the server's certificate (and any intermediates). */
  tlsCertPem: pulumi.Input<string>;
  /** PEM of the certificate's private key; a secret. */
  tlsKeyPem: pulumi.Input<string>;
  /** CA that signed tlsCertPem: the health check trusts only it. */
  caCertPem: pulumi.Input<string>;
  /** Admin user name. */
  adminUsername: pulumi.Input<string>;
  /** Admin password; a secret. */
  adminPassword: pulumi.Input<string>;
  /** Server log level: fatal, error, warn, info, debug or trace. */
  logLevel: pulumi.Input<string>;
  /** Delete dataDir and stateDir when the resource is deleted. Default false: data is kept. */
  removeDataOnDelete?: pulumi.Input<boolean>;
  /** The server configuration's `upstream` section: egress proxy and timeouts towards upstreams. */
  upstream?: pulumi.Input<UpstreamSettings>;
  /** The server configuration's `mirror` section: transparent mirror routing. */
  mirror?: pulumi.Input<MirrorSettings>;
}

interface ProcessInputs {
  nodePath: string;
  serverEntry: string;
  stateDir: string;
  dataDir: string;
  bindAddress: string;
  port: number;
  healthCheckHost: string;
  tlsCertPem: string;
  tlsKeyPem: string;
  caCertPem: string;
  adminUsername: string;
  adminPassword: string;
  logLevel: string;
  removeDataOnDelete: boolean;
  upstream: UpstreamSettings;
  mirror: MirrorSettings;
}

interface ProcessOutputs extends ProcessInputs {
  pid: number;
  /** Whether the process was running when last created, updated or read. */
  running: boolean;
  /** SHA-256 of the configuration file as written. */
  configSha256: string;
  /** SHA-256 of the configuration file as last seen on disk ("" when missing). */
  observedConfigSha256: string;
}

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 40_000;
const POLL_MS = 200;
/**
 * V8 flags of the server process, as the server gives its workers (registry-server/src/cluster/
 * worker-pool.ts) and the container image its one process: 2 MiB semi-spaces. A one-worker server
 * serves from this process, whose young generation V8 would otherwise let grow to 128 MiB on a
 * large machine (a pull and manifest load peaked at 173-177 MiB without, 128-130 with). Flags of
 * a running process cannot change its heap's layout: they go on the command line.
 */
export const SERVER_NODE_FLAGS = ["--max-semi-space-size=2"];

/* eslint-disable @typescript-eslint/no-require-imports -- the provider loads modules at run time */
function files(stateDir: string) {
  const path = require("node:path") as typeof import("node:path");
  return {
    config: path.join(stateDir, "config.yaml"),
    cert: path.join(stateDir, "tls", "server.crt"),
    key: path.join(stateDir, "tls", "server.key"),
    log: path.join(stateDir, "server.log"),
    pid: path.join(stateDir, "server.pid"),
  };
}

function sha256OfFile(file: string): string {
  const fs = require("node:fs") as typeof import("node:fs");
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  try {
    return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  } catch {
    return "";
  }
}

/** The command line of a process, or undefined when there is no such process. */
function commandLine(pid: number): string | undefined {
  const fs = require("node:fs") as typeof import("node:fs");
  const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    try {
      return execFileSync("ps", ["-o", "args=", "-p", String(pid)], { encoding: "utf8" }).trim() || undefined;
    } catch {
      return undefined;
    }
  }
}

/** True when `pid` is alive and is the server started with `configFile` (not a reused pid). */
function isServerProcess(pid: number, configFile: string): boolean {
  const line = commandLine(pid);
  return line !== undefined && line.includes(` serve --config ${configFile}`);
}

function logTail(logFile: string, lines = 20): string {
  const fs = require("node:fs") as typeof import("node:fs");
  try {
    return fs.readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function healthStatus(inputs: ProcessInputs): Promise<number | undefined> {
  const https = require("node:https") as typeof import("node:https");
  const connectHost = ["0.0.0.0", "::"].includes(inputs.bindAddress) ? "127.0.0.1" : inputs.bindAddress;
  return new Promise((resolve) => {
    const req = https.get(
      {
        host: connectHost,
        port: inputs.port,
        path: "/api/v2.0/health",
        servername: inputs.healthCheckHost,
        ca: inputs.caCertPem,
        timeout: 2_000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode);
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}

async function waitUntilHealthy(inputs: ProcessInputs, pid: number): Promise<void> {
  const paths = files(inputs.stateDir);
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last: number | undefined;
  while (Date.now() < deadline) {
    if (!isServerProcess(pid, paths.config)) {
      throw new Error(`the registry server exited during start-up; last lines of ${paths.log}:\n${logTail(paths.log)}`);
    }
    last = await healthStatus(inputs);
    if (last === 200) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(
    `the registry server did not become healthy within ${START_TIMEOUT_MS / 1000}s ` +
      `(last health status: ${last ?? "no answer"}); last lines of ${paths.log}:\n${logTail(paths.log)}`,
  );
}

/** The first line of the configuration file. */
export const LOCAL_CONFIG_HEADER = "Written by Pulumi (airlock local target); edits show as drift.";

/**
 * What the server on this machine is told: the state directory's TLS files, the admin password's
 * hash (the file is 0600), filesystem storage and SQLite under dataDir; as many workers as the
 * server sees CPUs (the machine is its own).
 */
export function localServerSettings(
  inputs: Pick<
    ProcessInputs,
    "stateDir" | "dataDir" | "bindAddress" | "port" | "adminUsername" | "logLevel" | "upstream" | "mirror"
  >,
  passwordHash: string,
): ServerSettings {
  const paths = files(inputs.stateDir);
  return {
    listen: { host: inputs.bindAddress, port: inputs.port },
    tls: { certFile: paths.cert, keyFile: paths.key },
    dataDir: inputs.dataDir,
    admin: { username: inputs.adminUsername, passwordHash },
    logLevel: inputs.logLevel,
    upstream: inputs.upstream,
    mirror: inputs.mirror,
    storage: { type: "filesystem" },
    metadata: { type: "sqlite" },
  };
}

/** Hashes the admin password with the server's own `hash-password` command. */
function hashPassword(inputs: ProcessInputs): string {
  const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
  return execFileSync(inputs.nodePath, [inputs.serverEntry, "hash-password"], {
    input: inputs.adminPassword,
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "" },
  }).trim();
}

async function startServer(inputs: ProcessInputs): Promise<ProcessOutputs> {
  const fs = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  const { spawn } = require("node:child_process") as typeof import("node:child_process");
  const { stringify } = require("yaml") as typeof import("yaml");
  const paths = files(inputs.stateDir);

  fs.mkdirSync(path.dirname(paths.cert), { recursive: true, mode: 0o700 });
  fs.mkdirSync(inputs.dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(paths.cert, inputs.tlsCertPem, { mode: 0o644 });
  fs.writeFileSync(paths.key, inputs.tlsKeyPem, { mode: 0o600 });
  fs.chmodSync(paths.key, 0o600);
  const configText = serverConfigText(
    localServerSettings(inputs, hashPassword(inputs)),
    LOCAL_CONFIG_HEADER,
    stringify,
  );
  fs.writeFileSync(paths.config, configText, { mode: 0o600 });
  fs.chmodSync(paths.config, 0o600);

  const log = fs.openSync(paths.log, "a", 0o600);
  const home = process.env["HOME"] ?? "/";
  const child = spawn(inputs.nodePath, [...SERVER_NODE_FLAGS, inputs.serverEntry, "serve", "--config", paths.config], {
    cwd: inputs.stateDir,
    detached: true,
    stdio: ["ignore", log, log],
    // A clean environment: the engine's (passphrases, cloud credentials) stays out of the server.
    // The compile cache named from the start (where main.ts would put it) spares the first process
    // Node's TypeScript stripper, ~15 MiB for its lifetime (registry-server/src/main.ts). jemalloc
    // when the machine has it (server-allocator.ts).
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: home,
      LANG: "C.UTF-8",
      NODE_COMPILE_CACHE: path.join(home, ".cache", "airlock-registry", "node-compile-cache"),
      ...allocatorEnvironment((file) => fs.existsSync(file)),
    },
  });
  fs.closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${inputs.nodePath}`);
  child.unref();
  fs.writeFileSync(paths.pid, `${pid}\n`);
  try {
    await waitUntilHealthy(inputs, pid);
  } catch (err) {
    await stopServer(pid, paths.config);
    throw err;
  }
  const configSha256 = sha256OfFile(paths.config);
  return { ...inputs, pid, running: true, configSha256, observedConfigSha256: configSha256 };
}

/** SIGTERM (the server finishes in-flight requests), then SIGKILL if it is still there. */
async function stopServer(pid: number, configFile: string): Promise<void> {
  if (!isServerProcess(pid, configFile)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!isServerProcess(pid, configFile)) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  process.kill(pid, "SIGKILL");
}

function removeState(outputs: ProcessOutputs): void {
  const fs = require("node:fs") as typeof import("node:fs");
  const paths = files(outputs.stateDir);
  fs.rmSync(paths.pid, { force: true });
  if (outputs.removeDataOnDelete) {
    fs.rmSync(outputs.dataDir, { recursive: true, force: true });
    fs.rmSync(outputs.stateDir, { recursive: true, force: true });
  }
}
/* eslint-enable @typescript-eslint/no-require-imports */

const INPUT_KEYS: (keyof ProcessInputs)[] = [
  "nodePath",
  "serverEntry",
  "stateDir",
  "dataDir",
  "bindAddress",
  "port",
  "healthCheckHost",
  "tlsCertPem",
  "tlsKeyPem",
  "caCertPem",
  "adminUsername",
  "adminPassword",
  "logLevel",
  "removeDataOnDelete",
  "upstream",
  "mirror",
];

/** Inputs that differ; settings added in later releases count as their default in older state. */
function changedKeys(olds: ProcessInputs, news: ProcessInputs): (keyof ProcessInputs)[] {
  const before: ProcessInputs = { ...olds, upstream: olds.upstream ?? {}, mirror: olds.mirror ?? {} };
  return INPUT_KEYS.filter((key) => JSON.stringify(before[key]) !== JSON.stringify(news[key]));
}

export const serverProcessProvider: pulumi.dynamic.ResourceProvider<ProcessInputs, ProcessOutputs> = {
  async check(_olds, news) {
    // In a preview the TLS material, the generated password and paths computed from other
    // resources may be unknown (see ../unknowns.ts): those are passed on unchecked.
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const inputs = {
      ...news,
      removeDataOnDelete: news.removeDataOnDelete ?? false,
      upstream: news.upstream ?? {},
      mirror: news.mirror ?? {},
    };
    const port = inputs.port;
    if (!isUnknown(port) && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      failures.push({ property: "port", reason: `expected a port from 1 to 65535, got ${JSON.stringify(port)}` });
    }
    for (const key of ["nodePath", "serverEntry", "stateDir", "dataDir"] as const) {
      if (isUnknown(inputs[key])) continue;
      if (typeof inputs[key] !== "string" || !inputs[key].startsWith("/")) {
        failures.push({ property: key, reason: `expected an absolute path, got ${JSON.stringify(inputs[key])}` });
      }
    }
    const password = inputs.adminPassword;
    if (!isUnknown(password) && (typeof password !== "string" || password.length < 8)) {
      failures.push({ property: "adminPassword", reason: "expected at least 8 characters" });
    }
    return { inputs, failures };
  },

  async diff(_id, olds, news) {
    const changed = changedKeys(olds, news);
    const configFile = files(olds.stateDir).config;
    const stopped = !olds.running || !isServerProcess(olds.pid, configFile);
    const configEdited = olds.observedConfigSha256 !== olds.configSha256;
    return {
      changes: changed.length > 0 || stopped || configEdited,
      replaces: changed.filter((key) => key === "stateDir"),
      // The replacement would listen on the same port: stop the old one first.
      deleteBeforeReplace: true,
    };
  },

  async create(inputs) {
    const outs = await startServer(inputs);
    return { id: `${inputs.stateDir}`, outs };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const configFile = files(props.stateDir).config;
    const running = isServerProcess(props.pid, configFile);
    return {
      id,
      props: { ...props, running, pid: running ? props.pid : 0, observedConfigSha256: sha256OfFile(configFile) },
    };
  },

  async update(_id, olds, news) {
    const configFile = files(olds.stateDir).config;
    const intact = isServerProcess(olds.pid, configFile) && sha256OfFile(configFile) === olds.configSha256;
    const restart = changedKeys(olds, news).some((key) => key !== "removeDataOnDelete");
    // What to do with the data on delete is not the process's business: no restart for it.
    if (intact && !restart) return { outs: { ...olds, removeDataOnDelete: news.removeDataOnDelete } };
    await stopServer(olds.pid, configFile);
    return { outs: await startServer(news) };
  },

  async delete(_id, props) {
    await stopServer(props.pid, files(props.stateDir).config);
    removeState(props);
  },
};

/** The registry server running in the background on this machine. */
export class ServerProcess extends pulumi.dynamic.Resource {
  declare readonly pid: pulumi.Output<number>;
  declare readonly running: pulumi.Output<boolean>;
  declare readonly configSha256: pulumi.Output<string>;

  constructor(name: string, args: ServerProcessArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      serverProcessProvider,
      name,
      { ...args, pid: undefined, running: undefined, configSha256: undefined, observedConfigSha256: undefined },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["adminPassword", "tlsKeyPem"] }),
      "local",
      "ServerProcess",
    );
  }
}
