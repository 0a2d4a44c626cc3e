// The bandwidth limit of a replication task (Harbor's `speed`, in KB/s of 1024 bytes, as its
// io throttler counts them): a token bucket in a Transform. Bytes pass in slices no larger than
// the bucket holds, each once the bucket has refilled enough for it; nothing is buffered beyond
// the chunk in hand, so a limited blob still streams.

import { Transform } from "node:stream";
import { SYSTEM_CLOCK, type ReplicationClock } from "./replication-clock.ts";

/** The largest burst, whatever the rate: the bucket refills at most this much between slices. */
const MAX_BURST_BYTES = 1024 * 1024;

/** Bytes per second for Harbor's `speed` (KB/s); undefined when it means "unlimited" (0 or less). */
export function bytesPerSecondOf(speedKbps: number): number | undefined {
  return Number.isFinite(speedKbps) && speedKbps > 0 ? speedKbps * 1024 : undefined;
}

/**
 * A stream passing bytes on at most `bytesPerSecond` on average. The bucket starts full (a quarter
 * of a second's worth, 1 MiB at most), so sending `n` bytes takes at least
 * (n − burst) / bytesPerSecond seconds and not much more.
 */
export function throttle(
  bytesPerSecond: number,
  clock: ReplicationClock = SYSTEM_CLOCK,
  signal?: AbortSignal,
): Transform {
  if (!(bytesPerSecond > 0)) throw new RangeError(`a bandwidth limit must be positive, not ${bytesPerSecond}`);
  const burst = Math.max(1, Math.min(Math.floor(bytesPerSecond / 4), MAX_BURST_BYTES));
  let tokens = burst;
  let refilledAt = clock.now();
  const refill = (): void => {
    const now = clock.now();
    tokens = Math.min(burst, tokens + ((now - refilledAt) / 1000) * bytesPerSecond);
    refilledAt = now;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const pass = async (): Promise<void> => {
        for (let offset = 0; offset < chunk.length;) {
          const slice = Math.min(chunk.length - offset, burst);
          refill();
          if (tokens < slice) {
            await clock.sleep(Math.ceil(((slice - tokens) / bytesPerSecond) * 1000), signal);
            refill();
            // A clock that moved less than asked (a coarse timer) leaves a deficit the next slice repays.
          }
          tokens -= slice;
          this.push(chunk.subarray(offset, offset + slice));
          offset += slice;
        }
      };
      pass().then(() => callback(), callback);
    },
  });
}
