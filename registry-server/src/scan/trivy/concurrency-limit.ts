// A bound on the trivy processes running at once: each scan waits its turn, in order, or until
// its signal stops it.

/** At most `limit` tasks at a time; the others wait their turn in order, or until their signal. */
export class ConcurrencyLimit {
  private readonly limit: number;
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.enter(signal);
    try {
      return await task();
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  }

  private enter(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(new Error("stopped while waiting for its turn"));
    if (this.active < this.limit) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const turn = () => {
        signal?.removeEventListener("abort", onAbort);
        this.active += 1;
        resolve();
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(turn);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(new Error("stopped while waiting for its turn"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(turn);
    });
  }
}
