// What every phase module shares: the servers under test (subjects, one per table column), the
// run's sizes and limits, progress and quietness reporting, and a bounded worker pool.

import { spawnSync } from "node:child_process";
import type { Column, Values } from "./report.ts";
import { format } from "./report.ts";
import type { RunningServer } from "./servers.ts";

export interface Subject {
  key: Column;
  label: string;
  server: RunningServer;
}

/** The run's sizes (BENCH_QUICK shrinks them) and its time limits. */
export interface BenchConfig {
  blobMiB: number;
  chunkMiB: number;
  pushRepeats: number;
  pullRepeats: number;
  /** Runs of proxy cache misses: each needs fresh content, so as few as the pushes. */
  missRepeats: number;
  concurrentPulls: number;
  smallImages: number;
  smallConcurrency: number;
  loadSeconds: number;
  warmupSeconds: number;
  connections: number;
  tags: number;
  tagListRequests: number;
  /** How long the servers are left alone after the last load before their memory is read again. */
  settleSeconds: number;
  /** No phase loop runs longer than this, whatever its count says. */
  phaseLimitMs: number;
}

export interface PhaseContext {
  config: BenchConfig;
  progress: (message: string) => void;
  /** Called between phases (never under load): checks how much CPU other processes took. */
  phaseDone: (phase: string) => void;
}

/** Flushes dirty pages, so that one push's writeback does not land in the next one's time. */
export function flushDisks(): void {
  spawnSync("sync");
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** "Airlock 290, 303 MiB/s; Distribution 3 281, 287 MiB/s": every repetition, to judge the spread. */
export function describeSamples(subjects: Subject[], samples: Map<Column, number[]>, unit: string): string {
  return subjects
    .filter((subject) => (samples.get(subject.key)?.length ?? 0) > 0)
    .map((subject) => `${subject.label} ${(samples.get(subject.key) ?? []).map(format).join(", ")} ${unit}`)
    .join("; ");
}

/** Per-subject figures as a row's values. */
export function valuesOf(subjects: Subject[], figure: (subject: Subject) => number | undefined): Values {
  const values: Values = {};
  for (const subject of subjects) values[subject.key] = figure(subject);
  return values;
}

/** Runs `work` over the items with `concurrency` workers, stopping at the deadline. */
export async function pool<T>(
  items: T[],
  concurrency: number,
  limitMs: number,
  work: (item: T) => Promise<void>,
): Promise<{ done: number; failed: number; firstError?: string; seconds: number }> {
  const started = performance.now();
  const deadline = Date.now() + limitMs;
  let next = 0;
  let done = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && Date.now() < deadline) {
      const item = items[next++] as T;
      try {
        await work(item);
        done++;
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return {
    done,
    failed,
    ...(firstError !== undefined && { firstError }),
    seconds: (performance.now() - started) / 1000,
  };
}
