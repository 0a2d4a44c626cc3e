// The parameters of a garbage collection run as Harbor's clients send them (`/system/gc/schedule`
// bodies' `parameters`), read as Harbor's GC job reads them (src/jobservice/job/impl/gc): only a
// JSON `false` turns `delete_untagged` off, only a JSON `true` turns `dry_run` on, `workers` is
// clamped to 1–5, and `time_window` (hours) is the server's setting unless the run carries one.

export interface GcParameters {
  readonly deleteUntagged: boolean;
  readonly dryRun: boolean;
  /** Blobs swept at a time. */
  readonly workers: number;
  /** The grace period: what was claimed or pushed within it is left alone. */
  readonly timeWindowMs: number;
}

export const GC_MAX_WORKERS = 5;
/** Harbor's default time window. */
export const DEFAULT_GC_TIME_WINDOW_HOURS = 2;
const HOUR_MS = 3_600_000;

export function gcParameters(
  raw: Readonly<Record<string, unknown>>,
  defaults: { timeWindowMs: number } = { timeWindowMs: DEFAULT_GC_TIME_WINDOW_HOURS * HOUR_MS },
): GcParameters {
  const workers = Number(raw["workers"]);
  const hours = raw["time_window"];
  return {
    deleteUntagged: raw["delete_untagged"] !== false,
    dryRun: raw["dry_run"] === true,
    workers: Number.isInteger(workers) ? Math.min(Math.max(workers, 1), GC_MAX_WORKERS) : 1,
    timeWindowMs:
      typeof hours === "number" && Number.isFinite(hours) && hours >= 0 ? hours * HOUR_MS : defaults.timeWindowMs,
  };
}
