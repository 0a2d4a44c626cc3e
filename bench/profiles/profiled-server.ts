// What the profiling scripts share: one registry process started under `node --cpu-prof`, and
// the CPU time of its threads by kind, from /proc (Node.js names its event loop "MainThread",
// V8's helpers "V8Worker", libuv's pool "libuv-worker"), which they print per GiB or per image
// since a CPU profile shows the event loop alone.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ticksPerSecond, treePids } from "../lib/process-tree.ts";
import { startAirlock, type RunningServer } from "../lib/servers.ts";

export interface ProfiledServer {
  readonly server: RunningServer;
  /** Stops the server (which writes its profile into the output directory) and removes its data. */
  stop(): Promise<void>;
}

/**
 * Starts one Airlock process (`workers: 1`, filesystem and SQLite, basic authentication as
 * admin) profiled into the directory the script was given as its argument.
 */
export async function startProfiledServer(script: string): Promise<ProfiledServer> {
  const given = process.argv[2];
  if (!given) throw new Error(`usage: node bench/profiles/${script} OUTPUT_DIR`);
  const outputDir = path.resolve(given);
  mkdirSync(outputDir, { recursive: true });
  const repoRoot = path.resolve(import.meta.dirname, "..", "..");
  const work = mkdtempSync(path.join(tmpdir(), "airlock-profile-"));
  // The server inherits this process's environment: profiled, while this process is not.
  process.env["NODE_OPTIONS"] = `--cpu-prof --cpu-prof-dir=${outputDir}`;
  let server: RunningServer;
  try {
    server = await startAirlock(repoRoot, work, { name: "airlock", label: "Airlock", workers: 1 });
  } finally {
    delete process.env["NODE_OPTIONS"];
  }
  return {
    server,
    stop: async () => {
      await server.stop();
      rmSync(work, { recursive: true, force: true });
      console.log(`profile written to ${outputDir}`);
    },
  };
}

/** CPU seconds (user + system) so far of every thread of the trees under `roots`, by thread name. */
export function threadSeconds(roots: readonly number[]): Map<string, number> {
  const seconds = new Map<string, number>();
  const ticks = ticksPerSecond();
  for (const pid of treePids(roots)) {
    let threads: string[];
    try {
      threads = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // gone since it was listed
    }
    for (const tid of threads) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      } catch {
        continue;
      }
      // The name is between the first "(" and the last ")": it may itself hold spaces or ")".
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/\d+$/, "");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime and stime, fields 14 and 15 of stat(5), counted from the state (field 3).
      const used = Number(fields[11]) + Number(fields[12]);
      seconds.set(name, (seconds.get(name) ?? 0) + used / ticks);
    }
  }
  return seconds;
}
