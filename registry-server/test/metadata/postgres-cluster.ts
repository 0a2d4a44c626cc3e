// A throwaway PostgreSQL cluster for the tests that restart or stop the database, which the
// machine's shared server on 127.0.0.1:5432 must never be: Debian's initdb and pg_ctl (the newest
// of /usr/lib/postgresql/*/bin, or AIRLOCK_TEST_POSTGRES_BIN), a data directory under the system's
// temporary directory, trust authentication, loopback only on a free port, its socket in its own
// directory. initdb refuses to run as root, so as root the commands run as the `postgres` user.

import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { tempDir } from "../helpers.ts";
import { runProcess } from "../processes.ts";
import { freePort } from "../upstream/distribution-server.ts";

const COMMAND_TIMEOUT_MS = 60_000;
/** pg_ctl's own wait for a start or a stop (-t). */
const PG_CTL_WAIT_SECONDS = "30";

export interface ThrowawayCluster {
  readonly port: number;
  /** The `postgres` database as the superuser, over TCP on 127.0.0.1. */
  readonly url: string;
  /** pg_ctl restart -m fast: sessions are terminated, the server comes back on the same port. */
  restart(): Promise<void>;
  /** pg_ctl stop -m fast. */
  stop(): Promise<void>;
  /** pg_ctl start, waiting until it accepts connections. */
  start(): Promise<void>;
  /** Stops it whatever its state (immediate mode) and removes its directory. */
  remove(): Promise<void>;
  /** The server's log, for failure reports. */
  log(): string;
}

function binDirectory(): string {
  const given = process.env["AIRLOCK_TEST_POSTGRES_BIN"];
  if (given !== undefined) return given;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => /^\d+$/.test(name) && existsSync(path.join(root, name, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined)
    throw new Error(`no PostgreSQL server binaries under ${root} (set AIRLOCK_TEST_POSTGRES_BIN)`);
  return path.join(root, newest, "bin");
}

/** The uid and gid of the `postgres` user, to run as when this process is root. */
function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string): number => {
    const result = spawnSync("id", [flag, "postgres"], { encoding: "utf8", timeout: 5_000 });
    const value = Number(result.stdout.trim());
    if (result.status !== 0 || !Number.isInteger(value))
      throw new Error("running as root, and there is no postgres user");
    return value;
  };
  return { uid: id("-u"), gid: id("-g") };
}

export async function startThrowawayCluster(): Promise<ThrowawayCluster> {
  const bin = binDirectory();
  const work = tempDir("pg-cluster");
  const data = path.join(work.dir, "data");
  const sockets = path.join(work.dir, "sockets");
  const logFile = path.join(work.dir, "postgres.log");
  mkdirSync(sockets);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { uid, gid } = postgresUser();
    chownSync(work.dir, uid, gid);
    chownSync(sockets, uid, gid);
  }
  const run = async (tool: string, args: string[]): Promise<void> => {
    const command = path.join(bin, tool);
    const result = asRoot
      ? await runProcess("runuser", ["-u", "postgres", "--", command, ...args], { timeoutMs: COMMAND_TIMEOUT_MS })
      : await runProcess(command, args, { timeoutMs: COMMAND_TIMEOUT_MS });
    if (result.status !== 0) {
      throw new Error(`${tool} ${args.join(" ")} failed (${String(result.status)}):\n${result.stdout}${result.stderr}`);
    }
  };
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");

  try {
    await run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
  } catch (error) {
    work.remove();
    throw error;
  }
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${sockets}`;
  const start = (): Promise<void> =>
    run("pg_ctl", ["-D", data, "-l", logFile, "-o", options, "-w", "-t", PG_CTL_WAIT_SECONDS, "start"]);
  try {
    await start();
  } catch (error) {
    work.remove();
    throw new Error(`${(error as Error).message}\n${log()}`, { cause: error });
  }
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: () =>
      run("pg_ctl", [
        "-D",
        data,
        "-l",
        logFile,
        "-o",
        options,
        "-m",
        "fast",
        "-w",
        "-t",
        PG_CTL_WAIT_SECONDS,
        "restart",
      ]),
    stop: () => run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", PG_CTL_WAIT_SECONDS, "stop"]),
    start,
    remove: async () => {
      await run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", PG_CTL_WAIT_SECONDS, "stop"]).catch(
        () => undefined,
      );
      work.remove();
    },
    log,
  };
}
