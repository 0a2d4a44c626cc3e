// Memory of each server set-up over the whole run, read over every process of its tree (a
// primary and its workers; three replicas): resident memory when idle after start, per process
// and in total; the highest total sampled while the phases ran; and the total again once the load
// has stopped and the servers were left alone for a while, which shows whether memory goes back
// near idle or stays up (a leak, or a heap that never shrinks). Each total also as proportional
// set sizes (PSS), which count the pages processes share (the node binary's) once, not per process.

import { MemorySampler, treeMemory, type TreeMemory } from "./process-tree.ts";
import { format, ratio, times, type Column, type Row, type Values, type Verdict } from "./report.ts";
import type { Subject } from "./phase.ts";
import { atMostAbsolute, atMostAnchor, judged, TARGETS } from "./targets.ts";

const SAMPLE_INTERVAL_MS = 500;
const AIRLOCK_COLUMNS: Column[] = ["airlock", "airlock1", "replicas"];

export class MemoryWatch {
  private readonly idle = new Map<Column, TreeMemory>();
  private readonly settled = new Map<Column, TreeMemory>();
  private readonly sampler: MemorySampler<Column>;
  private readonly subjects: () => Subject[];

  constructor(subjects: () => Subject[]) {
    this.subjects = subjects;
    this.sampler = new MemorySampler(
      () => new Map(this.subjects().map((s) => [s.key, s.server.roots] as const)),
      SAMPLE_INTERVAL_MS,
    );
  }

  /** Reads each server's idle memory (call once they are all up, before any load) and starts sampling. */
  start(): void {
    for (const subject of this.subjects()) this.idle.set(subject.key, treeMemory(subject.server.roots));
    this.sampler.start();
  }

  /** Names the phase that starts now, so that the details can say which one the peaks came from. */
  phase(name: string): void {
    this.sampler.phase(name);
  }

  /** A subject that joins later (the replicas) has its idle figure read when it is up. */
  addIdle(subject: Subject): void {
    this.idle.set(subject.key, treeMemory(subject.server.roots));
  }

  /** Reads the memory once the load is over and the servers have been left alone. */
  readSettled(subject: Subject): void {
    this.settled.set(subject.key, treeMemory(subject.server.roots));
  }

  stop(): void {
    this.sampler.stop();
  }

  processCount(key: Column): number {
    return this.idle.get(key)?.processes.length ?? 0;
  }

  /**
   * The peak row's verdict, with its cause when the run has one: a tree whose processes together
   * hold more than the limit while idle could not meet it under any load.
   */
  private peakVerdict(peaks: Values, idle: number | undefined): Verdict {
    const verdict = atMostAnchor(TARGETS.peakMemory).judge(peaks);
    const limit = peaks.d3 === undefined ? undefined : peaks.d3 * TARGETS.peakMemory;
    if (verdict.met !== false || idle === undefined || limit === undefined || idle <= limit) return verdict;
    const processes = this.processCount("airlock");
    return {
      met: false,
      reason: `${verdict.reason}; its ${processes} processes held ${format(idle)} MiB together when idle, above the ${format(limit)} MiB limit before any load`,
    };
  }

  report(settleSeconds: number): { rows: Row[]; details: string[] } {
    const subjects = this.subjects();
    const values = (of: (key: Column) => number | undefined): Values => {
      const v: Values = {};
      for (const subject of subjects) v[subject.key] = of(subject.key);
      return v;
    };
    const largestIdle = (key: Column): number | undefined => {
      const processes = this.idle.get(key)?.processes ?? [];
      return processes.length === 0 ? undefined : Math.max(...processes.map((p) => p.rss));
    };
    const idleTotal = (key: Column): number | undefined => this.idle.get(key)?.rss;
    const settledTotal = (key: Column): number | undefined => this.settled.get(key)?.rss;
    const settledRatio = ratio(settledTotal("airlock"), idleTotal("airlock"));
    const settledVerdict =
      settledRatio === undefined
        ? { met: undefined, reason: "not measured" }
        : {
            met: settledRatio <= TARGETS.settledMemory,
            reason:
              `${times(settledRatio)} its idle figure` +
              (settledRatio <= TARGETS.settledMemory ? "" : `, needs ≤ ${TARGETS.settledMemory}×`),
          };
    const peaks = values((key) => this.sampler.peak(key));
    const peakVerdict = this.peakVerdict(peaks, idleTotal("airlock"));
    const rows: Row[] = [
      {
        title: "Resident memory when idle after start, largest process",
        unit: "MiB",
        better: "lower",
        values: values(largestIdle),
        goal: atMostAbsolute(TARGETS.idleMiB, "MiB", AIRLOCK_COLUMNS),
      },
      {
        title: "Resident memory when idle after start, whole process tree",
        unit: "MiB",
        better: "lower",
        values: values(idleTotal),
      },
      {
        title: `Peak resident memory over the run, whole process tree (sampled every ${SAMPLE_INTERVAL_MS / 1000} s)`,
        unit: "MiB",
        better: "lower",
        values: peaks,
        goal: judged(atMostAnchor(TARGETS.peakMemory).text, peakVerdict),
      },
      {
        title: `Resident memory after the load, whole process tree (${settleSeconds} s after the last request)`,
        unit: "MiB",
        better: "lower",
        values: values(settledTotal),
        goal: judged(`≤ ${TARGETS.settledMemory}× own idle`, settledVerdict),
      },
      // The targets are on resident sets; these rows count the pages the processes share once.
      {
        title: "Proportional memory (PSS) when idle after start, whole process tree",
        unit: "MiB",
        better: "lower",
        values: values((key) => this.idle.get(key)?.pss),
      },
      {
        title: `Peak proportional memory (PSS) over the run, whole process tree (sampled every ${SAMPLE_INTERVAL_MS / 1000} s)`,
        unit: "MiB",
        better: "lower",
        values: values((key) => this.sampler.pssPeak(key)),
      },
      {
        title: `Proportional memory (PSS) after the load, whole process tree (${settleSeconds} s after the last request)`,
        unit: "MiB",
        better: "lower",
        values: values((key) => this.settled.get(key)?.pss),
      },
    ];
    const details = subjects.map((subject) => {
      const idle = this.idle.get(subject.key);
      const settled = this.settled.get(subject.key)?.processes ?? [];
      const list = (idle?.processes ?? []).map((p) => format(p.rss)).join(", ");
      const after = settled.map((p) => format(p.rss)).join(", ");
      const kernelPeaks = settled.map((p) => format(p.peak)).join(", ");
      const byPhase = this.sampler
        .peaksByPhase(subject.key)
        .map(([phase, peak]) => `${phase} ${format(peak)}`)
        .join(", ");
      return (
        `${subject.label}: ${idle?.processes.length ?? 0} process(es), idle ${list} MiB each, ` +
        `after the load ${after || "n/a"}; the kernel's peak per process (VmHWM) ${kernelPeaks || "n/a"} MiB; ` +
        `the whole tree's peak by phase: ${byPhase || "n/a"} MiB.`
      );
    });
    return { rows, details };
  }
}
