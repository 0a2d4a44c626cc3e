// The built-in scanner's scans in memory, by scan id: queued, running, then done with their
// reports or failed with a message. A report is handed out once and then dropped; a scan whose
// reports nobody reads is dropped after `ttlMs`. At most `maxJobs` scans are held: a new one
// pushes out the oldest finished one, and is refused when all of them are still queued or running.

import { randomUUID } from "node:crypto";

export type ScanJobState = "queued" | "running" | "done" | "failed";

interface Job {
  state: ScanJobState;
  /** Report MIME type → report. */
  readonly reports: Map<string, unknown>;
  error?: string;
  /** When it finished (for expiry and eviction). */
  finishedAt?: number;
}

export class TooManyScansError extends Error {
  override name = "TooManyScansError";
}

export type JobLookup =
  | { readonly state: "unknown" }
  | { readonly state: "queued" | "running" }
  | { readonly state: "failed"; readonly message: string }
  | { readonly state: "done"; readonly report: unknown }
  /** Done, but without a report of that MIME type (not asked for, or already handed out). */
  | { readonly state: "no-report" };

export class ScanJobs {
  private readonly jobs = new Map<string, Job>();
  private readonly maxJobs: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: { maxJobs: number; ttlMs: number; now?: () => number }) {
    this.maxJobs = options.maxJobs;
    this.ttlMs = options.ttlMs;
    this.now = options.now ?? Date.now;
  }

  /** A new queued scan's id; throws TooManyScansError when no room can be made. */
  create(): string {
    this.expire();
    if (this.jobs.size >= this.maxJobs) {
      const oldest = [...this.jobs.entries()]
        .filter(([, job]) => job.finishedAt !== undefined)
        .sort(([, a], [, b]) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0))[0];
      if (!oldest) throw new TooManyScansError(`${this.maxJobs} scans are queued or running: try again later`);
      this.jobs.delete(oldest[0]);
    }
    const id = randomUUID();
    this.jobs.set(id, { state: "queued", reports: new Map() });
    return id;
  }

  running(id: string): void {
    const job = this.jobs.get(id);
    if (job) job.state = "running";
  }

  done(id: string, reports: ReadonlyMap<string, unknown>): void {
    const job = this.jobs.get(id);
    if (!job) return;
    job.state = "done";
    for (const [mime, report] of reports) job.reports.set(mime, report);
    job.finishedAt = this.now();
  }

  failed(id: string, message: string): void {
    const job = this.jobs.get(id);
    if (!job) return;
    job.state = "failed";
    job.error = message;
    job.finishedAt = this.now();
  }

  /** The scan's state for a report MIME type; a ready report is handed out and dropped. */
  take(id: string, mimeType: string): JobLookup {
    this.expire();
    const job = this.jobs.get(id);
    if (!job) return { state: "unknown" };
    switch (job.state) {
      case "queued":
      case "running":
        return { state: job.state };
      case "failed":
        return { state: "failed", message: job.error ?? "the scan failed" };
      case "done": {
        if (!job.reports.has(mimeType)) return { state: "no-report" };
        const report = job.reports.get(mimeType);
        job.reports.delete(mimeType);
        if (job.reports.size === 0) this.jobs.delete(id);
        return { state: "done", report };
      }
    }
  }

  /** Scans held now (tests and metrics). */
  get size(): number {
    return this.jobs.size;
  }

  private expire(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [id, job] of this.jobs) {
      if (job.finishedAt !== undefined && job.finishedAt < cutoff) this.jobs.delete(id);
    }
  }
}
