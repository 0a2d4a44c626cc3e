// CPU time and memory of a server as a whole: the process the benchmark started and every process
// below it. Airlock with several workers is a primary and its worker processes, and the three
// replicas of the shared set-up are three such trees, so reading /proc for the started pid alone
// would miss most of the work. Children are found through /proc/<pid>/task/<tid>/children
// (Linux 4.2+); a process that exits between two reads is skipped, not an error.

import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let clockTicks: number | undefined;

/** The kernel's clock ticks per second, in which /proc/<pid>/stat counts CPU time. */
export function ticksPerSecond(): number {
  clockTicks ??= Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
  return clockTicks;
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** The pids of `roots` and of all their descendants, each once. */
export function treePids(roots: readonly number[]): number[] {
  const seen = new Set<number>();
  const queue = roots.filter((pid) => pid > 0);
  // Bounded: a pid enters the queue once, and a machine has far fewer than 100,000 processes.
  for (let i = 0; i < queue.length && i < 100_000; i++) {
    const pid = queue[i] as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // exited
    }
    for (const tid of tasks) {
      for (const child of readOrEmpty(`/proc/${pid}/task/${tid}/children`).trim().split(/\s+/)) {
        if (child !== "") queue.push(Number(child));
      }
    }
  }
  return [...seen];
}

/** Fields of /proc/<pid>/stat from field 3 on (the command name may hold spaces). */
function statFields(pid: number | "self"): string[] | undefined {
  const stat = readOrEmpty(`/proc/${pid}/stat`);
  return stat === "" ? undefined : stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/**
 * User plus system CPU seconds of one process (all its threads), plus those of its children it
 * has waited for: a worker that exited and was reaped by its primary still counts.
 */
export function processCpuSeconds(pid: number | "self"): number {
  const fields = statFields(pid);
  if (!fields) return 0;
  // utime, stime, cutime, cstime are fields 14 to 17; fields[0] is field 3.
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / ticksPerSecond();
}

/** CPU seconds used so far by the trees under `roots`. */
export function treeCpuSeconds(roots: readonly number[]): number {
  return treePids(roots).reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
}

function statusKiB(status: string, name: string): number {
  return Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
}

export interface TreeMemory {
  /** Sum of the resident sets of every process of the trees, MiB. */
  rss: number;
  /**
   * Sum of their proportional set sizes, MiB: each page shared by n processes counts 1/n in each.
   * A tree of Node.js processes shares the pages of the node binary (~55 MiB resident in each),
   * which a sum of resident sets counts once per process; this sum is what the tree costs.
   */
  pss: number;
  /** Resident set of each process, MiB (in tree order: roots first). */
  processes: { pid: number; rss: number; pss: number; peak: number }[];
}

/** The resident memory of the trees under `roots` now, and each process's own peak (VmHWM). */
export function treeMemory(roots: readonly number[]): TreeMemory {
  const processes: TreeMemory["processes"] = [];
  for (const pid of treePids(roots)) {
    const status = readOrEmpty(`/proc/${pid}/status`);
    if (status === "") continue;
    const pss = statusKiB(readOrEmpty(`/proc/${pid}/smaps_rollup`), "Pss") / 1024;
    processes.push({ pid, rss: statusKiB(status, "VmRSS") / 1024, pss, peak: statusKiB(status, "VmHWM") / 1024 });
  }
  const sum = (of: (p: TreeMemory["processes"][number]) => number) => processes.reduce((total, p) => total + of(p), 0);
  return { rss: sum((p) => p.rss), pss: sum((p) => p.pss), processes };
}

/**
 * Samples the memory of several trees on a timer, keeping each one's highest total. The kernel
 * keeps a peak per process (VmHWM), but the peaks of a primary and its workers need not fall at
 * the same moment, so their sum would overstate the tree's peak: sampling the sum is honest.
 */
export class MemorySampler<K extends string> {
  private readonly peaks = new Map<K, number>();
  private readonly pssPeaks = new Map<K, number>();
  /** The highest total per phase, in the order the phases ran. */
  private readonly phasePeaks = new Map<K, Map<string, number>>();
  private currentPhase: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly trees: () => ReadonlyMap<K, readonly number[]>;
  private readonly intervalMs: number;

  constructor(trees: () => ReadonlyMap<K, readonly number[]>, intervalMs: number) {
    this.trees = trees;
    this.intervalMs = intervalMs;
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  /** The highest total resident set seen for `key` so far, MiB. */
  peak(key: K): number | undefined {
    return this.peaks.get(key);
  }

  /** Names the phase the samples from now on belong to (its peak is kept apart too). */
  phase(name: string): void {
    this.sample();
    this.currentPhase = name;
  }

  /** The highest total resident set of `key` in each phase, MiB, in the order the phases ran. */
  peaksByPhase(key: K): [phase: string, peak: number][] {
    return [...(this.phasePeaks.get(key) ?? [])];
  }

  /** The highest total proportional set size seen for `key` so far, MiB. */
  pssPeak(key: K): number | undefined {
    return this.pssPeaks.get(key);
  }

  private sample(): void {
    for (const [key, roots] of this.trees()) {
      const { rss, pss } = treeMemory(roots);
      if (rss > (this.peaks.get(key) ?? 0)) this.peaks.set(key, rss);
      if (pss > (this.pssPeaks.get(key) ?? 0)) this.pssPeaks.set(key, pss);
      if (this.currentPhase === undefined) continue;
      const phases = this.phasePeaks.get(key) ?? new Map<string, number>();
      this.phasePeaks.set(key, phases);
      if (rss > (phases.get(this.currentPhase) ?? 0)) phases.set(this.currentPhase, rss);
    }
  }
}
