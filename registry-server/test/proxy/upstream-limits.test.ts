// The per-project upstream limits and fetch coalescing, as units.

import { describe, expect, it } from "vitest";
import { SingleFlight } from "../../src/single-flight.ts";
import { Bandwidth, ConnectionLimit, parseLimit } from "../../src/proxy/upstream-limits.ts";

describe("parseLimit", () => {
  it("reads Harbor's metadata strings, -1 and nonsense meaning no limit", () => {
    expect(parseLimit("1024")).toBe(1024);
    expect(parseLimit("-1")).toBeUndefined();
    expect(parseLimit("0")).toBeUndefined();
    expect(parseLimit("fast")).toBeUndefined();
    expect(parseLimit(undefined)).toBeUndefined();
  });
});

describe("ConnectionLimit", () => {
  it("lets at most `limit` holders in at once, the others in the order they came", async () => {
    const limit = new ConnectionLimit(2);
    const order: number[] = [];
    let active = 0;
    let peak = 0;
    await Promise.all(
      [1, 2, 3, 4, 5].map(async (n) => {
        const release = await limit.acquire();
        order.push(n);
        active++;
        peak = Math.max(peak, active);
        await new Promise((resolve) => setTimeout(resolve, 5));
        active--;
        release();
        release(); // a second release is ignored
      }),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5]);
  });

  it("has no ceiling without a limit", async () => {
    const limit = new ConnectionLimit(undefined);
    const releases = await Promise.all(Array.from({ length: 50 }, () => limit.acquire()));
    expect(releases).toHaveLength(50);
  });
});

describe("Bandwidth", () => {
  it("passes everything at once when unlimited", async () => {
    const bandwidth = new Bandwidth(undefined);
    const started = performance.now();
    await bandwidth.take(1e9);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it("makes a transfer beyond the burst wait for tokens", async () => {
    const bandwidth = new Bandwidth(80); // 10,000 bytes per second, 10,000 of burst
    const started = performance.now();
    await bandwidth.take(10_000);
    await bandwidth.take(5_000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
  });
});

describe("SingleFlight", () => {
  it("shares one call among concurrent callers of a key, and forgets it once settled", async () => {
    const flights = new SingleFlight<number>();
    let calls = 0;
    const work = async (): Promise<number> => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return calls;
    };
    const runs = Array.from({ length: 5 }, () => flights.run("k", work));
    expect(runs.filter((r) => r.leader)).toHaveLength(1);
    expect(await Promise.all(runs.map((r) => r.promise))).toEqual([1, 1, 1, 1, 1]);
    expect(flights.size).toBe(0);
    expect(await flights.run("k", work).promise).toBe(2);
  });
});
