// Retries: what another try may cure is tried again after a doubling pause (a Retry-After
// honoured, every pause capped), a bounded number of times; anything else fails at once.

import { describe, expect, it } from "vitest";
import { withRetries } from "../../src/replication/retry-policy.ts";
import { UpstreamError } from "../../src/upstream/upstream-registry.ts";
import { JumpingClock } from "./fake-clock.ts";

const policy = { attempts: 4, baseMs: 1_000, maxMs: 10_000 };

describe("replication retries", () => {
  it("retries the failures another try may cure, pausing longer each time", async () => {
    const clock = new JumpingClock();
    const failures = [
      new UpstreamError("unreachable", "ECONNREFUSED"),
      new UpstreamError("server-error", "503", { status: 503 }),
      new UpstreamError("timeout", "timed out"),
    ];
    const lines: string[] = [];
    let calls = 0;
    const result = await withRetries(
      async () => {
        const failure = failures[calls++];
        if (failure) throw failure;
        return "done";
      },
      "GET x",
      { policy, clock, signal: new AbortController().signal, onRetry: (line) => lines.push(line) },
    );
    expect(result).toBe("done");
    expect(calls).toBe(4);
    expect(clock.sleeps).toEqual([1_000, 2_000, 4_000]);
    expect(lines[0]).toMatch(/GET x failed \(unreachable: ECONNREFUSED\); try 2 of 4 in 1\.0 s/);
  });

  it("honours Retry-After within the cap, and gives up after the last try", async () => {
    const clock = new JumpingClock();
    let calls = 0;
    const limited = new UpstreamError("rate-limited", "429", { status: 429, retryAfterSeconds: 7 });
    await expect(
      withRetries(
        async () => {
          calls++;
          throw calls === 1 ? limited : new UpstreamError("rate-limited", "429", { retryAfterSeconds: 3600 });
        },
        "GET y",
        { policy, clock, signal: new AbortController().signal },
      ),
    ).rejects.toMatchObject({ kind: "rate-limited" });
    expect(calls).toBe(4);
    expect(clock.sleeps).toEqual([7_000, 10_000, 10_000]);
  });

  it("fails at once on a refused credential, a broken answer or any other error", async () => {
    for (const error of [
      new UpstreamError("unauthorized", "401"),
      new UpstreamError("protocol", "bad"),
      new Error("x"),
    ]) {
      const clock = new JumpingClock();
      let calls = 0;
      await expect(
        withRetries(
          async () => {
            calls++;
            throw error;
          },
          "op",
          { policy, clock, signal: new AbortController().signal },
        ),
      ).rejects.toBe(error);
      expect(calls).toBe(1);
      expect(clock.sleeps).toEqual([]);
    }
  });

  it("does not try again once the signal aborted", async () => {
    const controller = new AbortController();
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls++;
          controller.abort(new Error("stopped"));
          throw new UpstreamError("unreachable", "reset");
        },
        "op",
        { policy, clock: new JumpingClock(), signal: controller.signal },
      ),
    ).rejects.toMatchObject({ kind: "unreachable" });
    expect(calls).toBe(1);
  });
});
