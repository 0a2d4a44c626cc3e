// What reads leave behind, written off the request's path: the pull time of each manifest pulled
// (what retention's `latestPulledN` and `nDaysSinceLastPull` and proxy-cache expiry read) and the
// claims that reads make on blobs (gc/README.md, claim 4: a blob read is claimed again once this
// process has not claimed it for a while, so that a client that saw it exist can still push a
// manifest naming it). Both are batched and flushed every few seconds in one transaction: a pull
// costs a map update, not a database write. A pull time may lag by one flush interval, and a
// process that dies loses at most that: retention then sees an older pull (and keeps less by
// `latestPulledN`, as a lagging clock would); a lost claim at worst makes a later manifest push
// naming the blob fail cleanly with MANIFEST_BLOB_UNKNOWN, never a referenced blob go.

import type { Logger } from "../logger.ts";
import type { LifecycleMetadata } from "../metadata/lifecycle-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";

export interface AccessRecorderOptions {
  /** How often what was recorded is written. */
  readonly flushIntervalMs: number;
  /** A blob read is claimed again once this process has not claimed it for this long. */
  readonly claimEveryMs: number;
  /** Entries held at most, each kind; beyond, a flush is started at once. */
  readonly maxPending: number;
}

/** What the pull routes tell the recorder. */
export type ReadRecorder = Pick<AccessRecorder, "pulled" | "read">;

export type AccessStore = Pick<MetadataStore, "blobs"> & {
  readonly lifecycle: Pick<LifecycleMetadata, "recordPulls">;
};

export class AccessRecorder {
  private readonly store: AccessStore;
  private readonly options: AccessRecorderOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  /** `<repository> <digest>` → the latest pull time. */
  private pulls = new Map<string, number>();
  private claims = new Set<string>();
  /** Digest → when this process last claimed it, oldest first. */
  private readonly claimed = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(store: AccessStore, options: AccessRecorderOptions, log: Logger, now: () => number = Date.now) {
    this.store = store;
    this.options = options;
    this.log = log;
    this.now = now;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.options.flushIntervalMs).unref();
  }

  /** Writes what is pending, then stops. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** A manifest was pulled (by tag or by digest). */
  pulled(repository: string, digest: string): void {
    this.pulls.set(`${repository} ${digest}`, this.now());
    if (this.pulls.size >= this.options.maxPending) void this.flush();
  }

  /** A blob was read (HEAD or GET). */
  read(digest: string): void {
    const last = this.claimed.get(digest);
    const now = this.now();
    if (last !== undefined && now - last < this.options.claimEveryMs) return;
    this.claimed.delete(digest);
    this.claimed.set(digest, now);
    if (this.claimed.size > this.options.maxPending) this.forgetOldestClaims();
    this.claims.add(digest);
    if (this.claims.size >= this.options.maxPending) void this.flush();
  }

  /** Writes what was recorded so far; one write at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.pulls.size === 0 && this.claims.size === 0) return;
    const pulls = this.pulls;
    const claims = this.claims;
    this.pulls = new Map();
    this.claims = new Set();
    const at = new Date(this.now());
    try {
      if (claims.size > 0) await this.store.blobs.touch([...claims], at);
      if (pulls.size > 0) {
        await this.store.lifecycle.recordPulls(
          [...pulls].map(([key, time]) => {
            const space = key.indexOf(" ");
            return { repository: key.slice(0, space), digest: key.slice(space + 1), at: new Date(time) };
          }),
        );
      }
    } catch (err) {
      // Lost (see the header for what that costs); the next flush carries on.
      this.log.warn({ err, pulls: pulls.size, claims: claims.size }, "could not record pull times and blob claims");
    }
  }

  private forgetOldestClaims(): void {
    let excess = this.claimed.size - Math.floor(this.options.maxPending / 2);
    for (const digest of this.claimed.keys()) {
      if (excess-- <= 0) break;
      this.claimed.delete(digest);
    }
  }
}
