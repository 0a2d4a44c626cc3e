// The bandwidth limit: every byte passes, in order, and n bytes at r bytes per second take
// (n - burst) / r seconds at least and not much more. Measured on a clock that jumps (exact, no
// real time spent), then once on the real one with a generous margin.

import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import { bytesPerSecondOf, throttle } from "../../src/replication/throttle.ts";
import { JumpingClock } from "./fake-clock.ts";

/** `count` chunks of `size` bytes, each of one repeated letter. */
function chunks(count: number, size: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.alloc(size, 97 + (i % 26)));
}

describe("bandwidth limit", () => {
  it("reads Harbor's speed as KB/s of 1024 bytes, 0 and below unlimited", () => {
    expect(bytesPerSecondOf(100)).toBe(102_400);
    expect(bytesPerSecondOf(0)).toBeUndefined();
    expect(bytesPerSecondOf(-1)).toBeUndefined();
  });

  it("passes every byte in order, taking the time the rate allows", async () => {
    const clock = new JumpingClock();
    const rate = 10 * 1024;
    const input = chunks(40, 4096); // 160 KiB
    const output = await text(Readable.from(input).pipe(throttle(rate, clock)));
    expect(output).toBe(Buffer.concat(input).toString());
    const burst = rate / 4;
    const total = 40 * 4096;
    expect(clock.slept).toBeGreaterThanOrEqual(((total - burst) / rate) * 1000);
    expect(clock.slept).toBeLessThanOrEqual((total / rate) * 1000 + 1000);
    // Slices never exceed the burst: no pause asks for more than a quarter of a second and a bit.
    expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(260);
  });

  it("splits a chunk larger than the burst rather than holding it", async () => {
    const clock = new JumpingClock();
    const limited = throttle(1024, clock);
    const seen: number[] = [];
    limited.on("data", (piece: Buffer) => seen.push(piece.length));
    await new Promise<void>((resolve, reject) => {
      limited.on("end", resolve).on("error", reject);
      limited.end(Buffer.alloc(4096));
    });
    expect(seen.reduce((a, b) => a + b, 0)).toBe(4096);
    expect(Math.max(...seen)).toBe(256);
    expect(clock.slept).toBeGreaterThanOrEqual(3750);
  });

  it("holds on the real clock too", async () => {
    const started = performance.now();
    const rate = 8 * 1024;
    const output = await text(Readable.from(chunks(4, 4096)).pipe(throttle(rate)));
    const elapsed = performance.now() - started;
    expect(output.length).toBe(16_384);
    // (16 KiB - 2 KiB burst) at 8 KiB/s is 1.75 s; timers may fire a little early, never much.
    expect(elapsed).toBeGreaterThan(1_600);
    expect(elapsed).toBeLessThan(10_000);
  });

  it("stops waiting when the signal aborts", async () => {
    const controller = new AbortController();
    const limited = throttle(1024, undefined, controller.signal);
    const failed = new Promise<Error>((resolve) => limited.on("error", resolve));
    limited.resume();
    limited.write(Buffer.alloc(8192));
    setTimeout(() => controller.abort(new Error("stopped")), 50);
    expect((await failed).message).toBe("stopped");
  });
});
