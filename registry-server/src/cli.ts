// The airlock-registry command line (main.ts runs it): `serve` runs the registry until SIGTERM or SIGINT, then
// stops accepting connections and lets in-flight requests finish; `hash-password` turns a
// password on stdin into the hash the configuration file stores. With `workers` above 1, `serve`
// is the primary of a pool of worker processes (cluster/worker-pool.ts), and each worker, forked
// from this same file, runs the registry (cluster/worker-process.ts).

import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { hashPassword } from "./auth/password-hash.ts";
import {
  ConfigError,
  overridesFromEnvironment,
  parseFileConfig,
  readConfigFile,
  resolveConfig,
  type ConfigOverrides,
  type ServerConfig,
} from "./config.ts";
import { CommandError } from "./cli/command-error.ts";
import { createLogger, type Logger } from "./logger.ts";
// The rest loads with the command that needs it: a registry process never loads the commands'
// clients (undici), the primary of a worker pool never loads the registry itself.

const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
  .version;

const USAGE = `usage: airlock-registry <command> [flags]

commands:
  serve           run the registry
  hash-password   read a password on stdin, print its hash for auth.admin.passwordHash
  preheat         pull images into a proxy-cache project of a running registry (preheat --help)
  export          write images from any registry into an air-gap bundle (export --help)
  import          import a bundle or docker save archive into a project (import --help)
  version         print the version

serve flags (each overrides the configuration file; environment variables in brackets):
  --config FILE               YAML configuration file
  --addr HOST:PORT            listen address [AIRLOCK_ADDR] (default 127.0.0.1:5443)
  --data-dir DIR              content directory [AIRLOCK_DATA_DIR]
  --tls-cert FILE             TLS certificate, PEM [AIRLOCK_TLS_CERT]
  --tls-key FILE              TLS private key, PEM [AIRLOCK_TLS_KEY]
  --admin-password-file FILE  file holding the admin password [AIRLOCK_ADMIN_PASSWORD]
  --log-level LEVEL           fatal, error, warn, info, debug or trace [AIRLOCK_LOG_LEVEL]
  --trusted-proxies CIDRS     reverse proxies whose X-Forwarded-For is believed, comma-separated
                              [AIRLOCK_TRUSTED_PROXIES] (default none)
  --workers N                 processes serving the port; 1: this process alone
                              [AIRLOCK_WORKERS] (default: the machine's CPU count)
`;

class UsageError extends Error {}

function parseServeFlags(args: string[]): { configFile?: string; overrides: ConfigOverrides } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string" },
        addr: { type: "string" },
        "data-dir": { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "admin-password-file": { type: "string" },
        "log-level": { type: "string" },
        "trusted-proxies": { type: "string" },
        workers: { type: "string" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const flags = parsed.values;
  const overrides: ConfigOverrides = {};
  if (flags.addr !== undefined) overrides.addr = flags.addr;
  if (flags["data-dir"] !== undefined) overrides.dataDir = flags["data-dir"];
  if (flags["tls-cert"] !== undefined) overrides.tlsCert = flags["tls-cert"];
  if (flags["tls-key"] !== undefined) overrides.tlsKey = flags["tls-key"];
  if (flags["log-level"] !== undefined) overrides.logLevel = flags["log-level"];
  if (flags["trusted-proxies"] !== undefined) overrides.trustedProxies = flags["trusted-proxies"];
  if (flags.workers !== undefined) overrides.workers = flags.workers;
  if (flags["admin-password-file"] !== undefined) {
    try {
      overrides.adminPassword = readFileSync(flags["admin-password-file"], "utf8").replace(/\r?\n$/, "");
    } catch (err) {
      throw new ConfigError(`cannot read --admin-password-file: ${(err as Error).message}`);
    }
  }
  return { ...(flags.config !== undefined && { configFile: flags.config }), overrides };
}

async function serve(args: string[]): Promise<void> {
  // A worker takes its configuration from the primary, which parsed it (and read its files) once.
  if (cluster.isWorker) {
    const [{ serveAsWorker }, { startRegistry }] = await Promise.all([
      import("./cluster/worker-process.ts"),
      import("./registry.ts"),
    ]);
    return serveAsWorker(startRegistry);
  }
  const { configFile, overrides } = parseServeFlags(args);
  const file = configFile ? readConfigFile(configFile) : parseFileConfig({}, "defaults");
  const config = resolveConfig(
    file,
    { ...overridesFromEnvironment(process.env), ...overrides },
    configFile ? path.dirname(path.resolve(configFile)) : process.cwd(),
  );
  const log = createLogger(config.logLevel);
  if ((config.workers ?? 1) > 1) return serveWithWorkers(config, log);
  const [{ startRegistry }, { IdleCollector }] = await Promise.all([
    import("./registry.ts"),
    import("./idle-collector.ts"),
  ]);
  const server = await startRegistry(config, log).catch((err: NodeJS.ErrnoException) => {
    log.fatal({ err: { code: err.code, message: err.message } }, "could not start");
    process.exit(1);
  });
  log.info({ version: VERSION, pid: process.pid, dataDir: config.dataDir }, "airlock registry started");
  // A process-wide concern: the process's entry points own it, not the registry (tests start
  // many registries in one process).
  const idleCollector = new IdleCollector({ log });

  let signalled = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    idleCollector.close();
    log.info({ signal }, "shutting down: finishing in-flight requests");
    void server.stop().then(() => {
      log.info("shutdown complete");
      log.flush();
      process.exit(0);
    });
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

/** The primary: creates what the workers share, starts them, stops them on SIGTERM or SIGINT. */
async function serveWithWorkers(config: ServerConfig, baseLog: Logger): Promise<void> {
  // Worker 0 is the primary; the workers log under 1 to N.
  const log = baseLog.child({ worker: 0 });
  const workers = config.workers ?? 1;
  let pool: import("./cluster/worker-pool.ts").WorkerPool | undefined;
  let idleCollector: import("./idle-collector.ts").IdleCollector | undefined;
  let signalled = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, "shutting down: finishing in-flight requests");
    idleCollector?.close();
    void (pool?.stop() ?? Promise.resolve()).then(() => {
      log.info("shutdown complete");
      log.flush();
      process.exit(0);
    });
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  try {
    const [{ prepareSharedState }, { WorkerPool }, { IdleCollector }] = await Promise.all([
      import("./cluster/shared-state.ts"),
      import("./cluster/worker-pool.ts"),
      import("./idle-collector.ts"),
    ]);
    const shared = await prepareSharedState(config, log);
    if (signalled) return;
    pool = new WorkerPool({ count: workers, config: shared, log });
    const url = await pool.start();
    // For the primary's start-up garbage: it serves no request, so this collects once.
    idleCollector = new IdleCollector({ log });
    log.info({ url, tls: Boolean(config.tls), workers }, "listening");
    log.info({ version: VERSION, pid: process.pid, dataDir: config.dataDir, workers }, "airlock registry started");
  } catch (error) {
    if (signalled) return;
    const err = error as NodeJS.ErrnoException;
    log.fatal({ err: { code: err.code, message: err.message } }, "could not start");
    await pool?.stop();
    log.flush();
    process.exit(1);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serve(rest);
    case "hash-password": {
      const password = await readStdin();
      if (password.length === 0) throw new UsageError("hash-password: no password on stdin");
      process.stdout.write(`${await hashPassword(password)}\n`);
      return;
    }
    case "preheat": {
      const { preheatCommand } = await import("./cli/preheat-command.ts");
      const status = await preheatCommand(rest, process.stdout);
      process.exitCode = status;
      return;
    }
    case "export":
    case "import": {
      const output = { progress: process.stderr, result: process.stdout };
      process.exitCode =
        command === "export"
          ? await (await import("./cli/export-command.ts")).exportCommand(rest, output, VERSION)
          : await (await import("./cli/import-command.ts")).importCommand(rest, output);
      return;
    }
    case "version":
      process.stdout.write(`${VERSION}\n`);
      return;
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return;
    default:
      throw new UsageError(command ? `unknown command "${command}"` : "no command given");
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`airlock-registry: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (err instanceof ConfigError || err instanceof CommandError) {
    process.stderr.write(`airlock-registry: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`airlock-registry: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
