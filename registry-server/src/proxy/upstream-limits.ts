// The two limits a proxy-cache project puts on its upstream traffic, as Harbor names them in the
// project's metadata: `proxy_speed_kb` (bandwidth, kilobits per second, shared by every fetch of
// the project) and `max_upstream_conn` (concurrent upstream requests). -1 or absent: no limit.

import { Transform, type TransformCallback } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";

/** Parses a Harbor metadata value ("-1", "1024") into a positive limit, or undefined for none. */
export function parseLimit(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** A counting semaphore: at most `limit` holders at once, the others wait in order. */
export class ConnectionLimit {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  limit: number | undefined;

  constructor(limit: number | undefined) {
    this.limit = limit;
  }

  /** Waits for a slot; the returned function gives it back (call it exactly once). */
  async acquire(): Promise<() => void> {
    if (this.limit !== undefined && this.active >= this.limit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter: `active` stays the same.
      if (next) next();
      else this.active--;
    };
  }
}

/**
 * A token bucket in bytes per second, shared by every stream it throttles: two concurrent
 * fetches under a 1 MB/s limit get about 0.5 MB/s each. One second of burst.
 */
export class Bandwidth {
  bytesPerSecond: number | undefined;
  private tokens = 0;
  private refilledAt = performance.now();

  constructor(kilobitsPerSecond: number | undefined) {
    this.bytesPerSecond = kilobitsPerSecond === undefined ? undefined : (kilobitsPerSecond * 1000) / 8;
    this.tokens = this.bytesPerSecond ?? 0;
  }

  setKilobitsPerSecond(kilobitsPerSecond: number | undefined): void {
    this.bytesPerSecond = kilobitsPerSecond === undefined ? undefined : (kilobitsPerSecond * 1000) / 8;
  }

  /** Waits until `bytes` may pass. */
  async take(bytes: number): Promise<void> {
    for (;;) {
      const rate = this.bytesPerSecond;
      if (rate === undefined) return;
      const now = performance.now();
      this.tokens = Math.min(rate, this.tokens + ((now - this.refilledAt) / 1000) * rate);
      this.refilledAt = now;
      // A chunk larger than the bucket passes once the bucket is full, leaving a debt.
      if (this.tokens >= Math.min(bytes, rate)) {
        this.tokens -= bytes;
        return;
      }
      await sleep(Math.max(1, Math.ceil(((Math.min(bytes, rate) - this.tokens) / rate) * 1000)));
    }
  }

  /** A stream that passes bytes through at this bandwidth. */
  throttle(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) => {
        this.take(chunk.length).then(
          () => callback(null, chunk),
          (err: unknown) => callback(err as Error),
        );
      },
    });
  }
}
