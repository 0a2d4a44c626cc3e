// A throwaway PostgreSQL cluster for the replicas' column, as the tests' own
// (registry-server/test/metadata/postgres-cluster.ts, which this follows but cannot import: its
// helpers load the server into the process). The machine's shared server on 127.0.0.1:5432 is
// not used, because other people's tests run on it and would share its CPU and disk with the
// measurement. Debian's initdb and pg_ctl (the newest of /usr/lib/postgresql/*/bin), trust
// authentication, loopback only on a free port; as root, the commands run as the postgres user.
// Settings are the defaults (fsync on), as a deployment would have them.

import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./servers.ts";

const COMMAND_TIMEOUT_MS = 60_000;

export interface PostgresCluster {
  /** The `postgres` database as the superuser, over TCP. */
  url: string;
  /** The postmaster's pid: it and its backends are the database's processes. */
  pid: number;
  logFile: string;
  stop: () => Promise<void>;
}

function binDirectory(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => /^\d+$/.test(name) && existsSync(path.join(root, name, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] === undefined) {
    throw new Error(
      `no PostgreSQL server binaries under ${root} (Debian package postgresql; bench/run.sh installs it)`,
    );
  }
  return path.join(root, versions[0], "bin");
}

/**
 * A cluster in a directory of its own under the system's temporary directory (the postgres user
 * must reach it, and the run's directory is private to root), removed by stop().
 */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = binDirectory();
  const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-bench-postgres-"));
  const data = path.join(dir, "data");
  const sockets = path.join(dir, "sockets");
  const logFile = path.join(dir, "postgres.log");
  mkdirSync(sockets, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const id = (flag: string): number => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout);
    const [uid, gid] = [id("-u"), id("-g")];
    if (!Number.isInteger(uid) || !Number.isInteger(gid))
      throw new Error("running as root, and there is no postgres user");
    chownSync(dir, uid, gid);
    chownSync(sockets, uid, gid);
  }
  const run = (tool: string, args: string[]): void => {
    const command = path.join(bin, tool);
    const result = asRoot
      ? spawnSync("runuser", ["-u", "postgres", "--", command, ...args], {
          encoding: "utf8",
          timeout: COMMAND_TIMEOUT_MS,
        })
      : spawnSync(command, args, { encoding: "utf8", timeout: COMMAND_TIMEOUT_MS });
    if (result.status !== 0) {
      const log = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-2000) : "";
      throw new Error(`${tool} failed (${String(result.status)}): ${result.stdout}${result.stderr}${log}`);
    }
  };
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
  } catch (err) {
    remove();
    throw err;
  }
  const port = await freePort();
  // Three replicas of up to 10 connections each, the benchmark's own, and room to spare.
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${sockets} -c max_connections=60`;
  try {
    run("pg_ctl", ["-D", data, "-l", logFile, "-o", options, "-w", "-t", "30", "start"]);
  } catch (err) {
    remove();
    throw err;
  }
  const pid = Number(readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    pid,
    logFile,
    stop: async () => {
      try {
        run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"]);
      } catch {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"]);
      } finally {
        remove();
      }
    },
  };
}
