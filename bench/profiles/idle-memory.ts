// Where an idle server's memory is: starts Airlock as the benchmark does (filesystem and SQLite,
// `workers` from AIRLOCK_WORKERS, 2 by default, the compile cache on), waits until each process
// has collected its start-up garbage (20 s, or WAIT_MS), then prints each process's resident set
// by mapping: the node binary's code and read-only data, anonymous memory (V8's heap, thread
// arenas), malloc's main heap. Run it twice after a source change: the first run fills the
// compile cache, without which every process also holds Node's TypeScript stripper.
//
//   node bench/profiles/idle-memory.ts

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { setTimeout } from "node:timers/promises";
import { treePids } from "../lib/process-tree.ts";
import { startAirlock } from "../lib/servers.ts";

/** Mappings shown per process, largest first. */
const SHOWN = 8;

/** Resident KiB of each mapping of a process, keyed by permissions and path ("[anon]" for none). */
function residentByMapping(pid: number): Map<string, number> {
  const resident = new Map<string, number>();
  let mapping = "";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) mapping = `${header[1]} ${header[2] || "[anon]"}`;
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) resident.set(mapping, (resident.get(mapping) ?? 0) + Number(rss[1]));
  }
  return resident;
}

const repoRoot = path.resolve(import.meta.dirname, "..", "..");
const work = mkdtempSync(path.join(tmpdir(), "airlock-idle-memory-"));
const workers = Number(process.env["AIRLOCK_WORKERS"] ?? 2);
const server = await startAirlock(repoRoot, work, { name: "airlock", label: "Airlock", workers });
try {
  await setTimeout(Number(process.env["WAIT_MS"] ?? 20_000));
  for (const pid of treePids(server.roots)) {
    const resident = residentByMapping(pid);
    const total = [...resident.values()].reduce((sum, kib) => sum + kib, 0);
    const role = pid === server.roots[0] ? "primary" : "worker";
    console.log(`${role} ${pid}: ${(total / 1024).toFixed(1)} MiB resident`);
    for (const [mapping, kib] of [...resident].sort((a, b) => b[1] - a[1]).slice(0, SHOWN)) {
      console.log(`  ${(kib / 1024).toFixed(1).padStart(6)} MiB  ${mapping}`);
    }
  }
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
