// How busy the rest of the machine was: the CPU time every process used (from /proc/stat) less the
// time of this run's own processes (this one, the children it waited for such as wrk and ab, and
// the servers' whole process trees). A benchmark on a 2-CPU machine is only worth reading when
// this stays small.

import { readFileSync } from "node:fs";
import { processCpuSeconds, ticksPerSecond, treeCpuSeconds } from "./process-tree.ts";

export interface CpuSnapshot {
  machine: number;
  ours: number;
  at: number;
}

/**
 * Busy CPU seconds of the whole machine since boot: user, nice, system, irq, softirq and steal
 * (time the hypervisor gave to others). Softirq time, mostly loopback traffic here, is also
 * charged to the process it interrupted, so it belongs in both totals.
 */
function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / ticksPerSecond();
}

/** This process's CPU seconds, plus those of the children it has waited for. */
export function ownCpuSeconds(): number {
  return processCpuSeconds("self");
}

/** `serverRoots`: the processes the run started; their descendants count too. */
export function cpuSnapshot(serverRoots: readonly number[]): CpuSnapshot {
  return { machine: machineBusySeconds(), ours: ownCpuSeconds() + treeCpuSeconds(serverRoots), at: performance.now() };
}

/** CPU seconds used by other processes (and the kernel's own threads) between two snapshots. */
export function othersBetween(before: CpuSnapshot, after: CpuSnapshot): { seconds: number; share: number } {
  const seconds = Math.max(0, after.machine - before.machine - (after.ours - before.ours));
  const wall = (after.at - before.at) / 1000;
  const cpus = Math.max(1, Number(readFileSync("/proc/cpuinfo", "utf8").match(/^processor\s*:/gm)?.length ?? 1));
  return { seconds, share: wall > 0 ? seconds / (wall * cpus) : 0 };
}

/**
 * Waits, at most `limitMs`, until other processes leave the CPUs nearly idle (under `threshold`
 * of all CPUs over a 3 s window); returns the last share seen, so a busy start can be reported.
 */
export async function waitForQuiet(
  limitMs: number,
  threshold: number,
  report: (text: string) => void,
): Promise<number> {
  const deadline = Date.now() + limitMs;
  let announced = false;
  for (;;) {
    const before = cpuSnapshot([]);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const share = othersBetween(before, cpuSnapshot([])).share;
    if (share < threshold || Date.now() >= deadline) {
      if (share >= threshold)
        report(`the machine is still busy (${Math.round(share * 100)}% of the CPUs): starting anyway`);
      return share;
    }
    if (!announced) {
      report(
        `other processes use ${Math.round(share * 100)}% of the CPUs: waiting up to ${Math.round(limitMs / 1000)} s ` +
          "for a quiet machine",
      );
      announced = true;
    }
  }
}
