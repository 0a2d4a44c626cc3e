// The login throttle (auth/login-throttle.ts) of a server whose port several worker processes
// serve. Each worker keeps its own tables, but a failed login recorded by one is recorded by
// every other one too (a cluster event), so that a guesser whose attempts the round-robin spreads
// over N workers meets the limits of one server, not N times them. Checks stay local (no message
// on the way of a login); an event arrives within a millisecond, while a failure is known only
// after a password hash of tens of milliseconds anyway, so attempts in flight at once pass the
// check about as they would in one process. A successful login is
// told only when it is news (none from that address for that account in the last 10 minutes):
// the exemption it earns lasts a day. Replicas of an installation keep counts of their own.

import type { LoginLimiter, LoginThrottle } from "../auth/login-throttle.ts";
import type { WorkerEvents } from "./cluster-events.ts";

const FAILURE = "login-failure";
const SUCCESS = "login-success";
/** A success already told more recently than this is not told again. */
const RETELL_SUCCESS_MS = 10 * 60_000;

interface Attempt {
  readonly address: string;
  readonly username: string;
}

function isAttempt(data: unknown): data is Attempt {
  const attempt = data as Partial<Attempt> | undefined;
  return typeof attempt?.address === "string" && typeof attempt.username === "string";
}

export class SharedLoginThrottle implements LoginLimiter {
  private readonly local: LoginThrottle;
  private readonly events: WorkerEvents;
  private readonly now: () => number;

  constructor(local: LoginThrottle, events: WorkerEvents, now: () => number = Date.now) {
    this.local = local;
    this.events = events;
    this.now = now;
    events.subscribe(FAILURE, (data) => {
      if (isAttempt(data)) local.recordFailure(data.address, data.username);
    });
    events.subscribe(SUCCESS, (data) => {
      if (isAttempt(data)) local.recordSuccess(data.address, data.username);
    });
  }

  retryAfterSeconds(address: string, username: string): number {
    return this.local.retryAfterSeconds(address, username);
  }

  recordFailure(address: string, username: string): void {
    this.local.recordFailure(address, username);
    void this.events.publish(FAILURE, { address, username } satisfies Attempt);
  }

  recordSuccess(address: string, username: string): void {
    const last = this.local.lastSuccessAt(address, username);
    this.local.recordSuccess(address, username);
    if (last === undefined || this.now() - last > RETELL_SUCCESS_MS) {
      void this.events.publish(SUCCESS, { address, username } satisfies Attempt);
    }
  }
}
