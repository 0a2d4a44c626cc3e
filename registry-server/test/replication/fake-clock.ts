// A clock for the replication tests whose sleeps return at once and move its time by what they
// were asked: backoff and bandwidth limits then cost no real time and their pauses can be read.

import type { ReplicationClock } from "../../src/replication/replication-clock.ts";

export class JumpingClock implements ReplicationClock {
  time = 1_700_000_000_000;
  /** Every pause asked for, in order. */
  readonly sleeps: number[] = [];

  now(): number {
    return this.time;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.time += ms;
  }

  get slept(): number {
    return this.sleeps.reduce((sum, ms) => sum + ms, 0);
  }
}
