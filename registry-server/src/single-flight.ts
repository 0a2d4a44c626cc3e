// Coalesces concurrent work on the same key: while a call for a key is in flight, later callers
// for that key get the same promise instead of starting the work again: sixteen clients pulling
// one uncached manifest cause one upstream request, and callers needing the same upstream token
// one token request.

export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  /** Runs `work` unless a call for `key` is in flight, in which case its result is shared. */
  run(key: string, work: () => Promise<T>): { promise: Promise<T>; leader: boolean } {
    const existing = this.inFlight.get(key);
    if (existing) return { promise: existing, leader: false };
    const promise = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return { promise, leader: true };
  }

  /** How many keys are in flight (for tests and metrics). */
  get size(): number {
    return this.inFlight.size;
  }
}
