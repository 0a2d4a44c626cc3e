// The idle collector: one full collection the first time the event loop is quiet after start-up
// or after a busy spell, none while busy, none again while it stays quiet. The loop's utilisation
// is scripted; the collection is V8's own in the last test.

import { constants, PerformanceObserver, type EventLoopUtilization, type PerformanceEntry } from "node:perf_hooks";
import { setTimeout } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { IdleCollector } from "../src/idle-collector.ts";
import { createLogger } from "../src/logger.ts";

const MAJOR = constants.NODE_PERFORMANCE_GC_MAJOR;

/** Utilisation readings: each check reads the share of its interval the loop was busy. */
function scripted(shares: number[]): (previous?: EventLoopUtilization) => EventLoopUtilization {
  let reading = 0;
  return (previous) => {
    if (!previous) return { idle: 0, active: 0, utilization: 0 };
    const utilization = shares[reading++];
    if (utilization === undefined) throw new Error("more checks than scripted readings");
    return { idle: 1 - utilization, active: utilization, utilization };
  };
}

describe("idle collector", () => {
  const log = createLogger("fatal");
  const collectors: IdleCollector[] = [];
  afterEach(() => {
    for (const collector of collectors.splice(0)) collector.close();
  });

  function collector(shares: number[]): { collector: IdleCollector; collections: number[] } {
    const collections: number[] = [];
    let check = 0;
    const made = new IdleCollector({
      log,
      collect: () => collections.push(check),
      utilisation: scripted(shares),
      checkIntervalMs: 3_600_000,
    });
    collectors.push(made);
    const original = made.check.bind(made);
    made.check = () => {
      check++;
      original();
    };
    return { collector: made, collections };
  }

  it("collects once when quiet after start-up and after each busy spell, never while busy, 30 s apart", () => {
    // Check 1 is quiet: start-up's collection. 2-3 busy, 4 between, 5-6 quiet: too soon after
    // the last (6 checks apart at least), so at 7; 8-9 quiet: nothing owed. 10 busy, 11-15
    // quiet: at 13. 16 busy, 17 between, 18-24 quiet: at 19.
    const shares = [
      [0.001, 0.4, 0.9, 0.03],
      Array<number>(5).fill(0.002),
      [0.3],
      Array<number>(5).fill(0),
      [0.2, 0.02],
      Array<number>(7).fill(0.005),
    ].flat();
    const { collector: made, collections } = collector(shares);
    for (let i = 0; i < shares.length; i++) made.check();
    expect(collections).toEqual([1, 7, 13, 19]);
  });

  it("waits while the loop is neither busy nor quiet", () => {
    const { collector: made, collections } = collector([0.3, 0.02, 0.04, 0.02]);
    for (let i = 0; i < 4; i++) made.check();
    expect(collections).toEqual([]);
  });

  it("runs V8's full collection, without exposing gc to the process", async () => {
    const made = new IdleCollector({ log, utilisation: scripted([0]), checkIntervalMs: 3_600_000 });
    collectors.push(made);
    const hadGc = "gc" in globalThis;
    const majors: PerformanceEntry[] = [];
    const observer = new PerformanceObserver((list) => {
      majors.push(
        ...list
          .getEntries()
          .filter((entry) => (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === MAJOR),
      );
    });
    observer.observe({ entryTypes: ["gc"] });
    try {
      made.check();
      // Observers hear of collections asynchronously: wait for it, 2 s at most.
      for (let i = 0; i < 40 && majors.length === 0; i++) await setTimeout(50);
    } finally {
      observer.disconnect();
    }
    expect(majors.length).toBeGreaterThan(0);
    expect("gc" in globalThis).toBe(hadGc);
  });
});
