// Slows down password guessing: after too many failed logins from one source within a window,
// further attempts from that source are refused (without checking the password) until the
// window has passed. Successful logins do not clear failures, so interleaving a known good
// password does not help a guesser.

export interface LoginThrottleOptions {
  /** Failures allowed per source within the window. */
  maxFailures: number;
  windowMs: number;
  now?: () => number;
}

/** Sources remembered at most; beyond, the oldest entries are dropped. */
const MAX_SOURCES = 10_000;

export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly options: Required<LoginThrottleOptions>;

  constructor(options: LoginThrottleOptions) {
    this.options = { now: Date.now, ...options };
  }

  /** Seconds until `source` may try again, or 0 when it may try now. */
  retryAfterSeconds(source: string): number {
    const recent = this.recent(source);
    if (recent.length < this.options.maxFailures) return 0;
    const oldest = recent[0] ?? this.options.now();
    return Math.max(1, Math.ceil((oldest + this.options.windowMs - this.options.now()) / 1000));
  }

  recordFailure(source: string): void {
    const recent = this.recent(source);
    recent.push(this.options.now());
    this.failures.delete(source);
    this.failures.set(source, recent);
    if (this.failures.size > MAX_SOURCES) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  private recent(source: string): number[] {
    const since = this.options.now() - this.options.windowMs;
    return (this.failures.get(source) ?? []).filter((at) => at > since);
  }
}
