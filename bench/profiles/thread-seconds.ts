// CPU time of a server's threads by kind, from /proc: Node.js names its event loop "MainThread",
// V8's helpers "V8Worker", libuv's pool "libuv-worker", and so on. The profiling scripts print
// it per GiB or per image, since a CPU profile shows the event loop alone.

import { readdirSync, readFileSync } from "node:fs";
import { ticksPerSecond, treePids } from "../lib/process-tree.ts";

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
