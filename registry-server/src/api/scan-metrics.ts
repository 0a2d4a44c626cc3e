// Scanning as Prometheus metrics (beyond Harbor's exporter, which has no such collector): scan
// reports by status (failures are status="Error"), vulnerabilities by severity per project, and
// the age of each enabled scanner's vulnerability database. The alerts of the DMZ guide read them
// (components/registry's PrometheusRule).
//
// Like harbor-metrics.ts, the reports and vulnerabilities come from the metadata database, so every
// worker and replica reports the same figures (aggregated across workers with "max"), computed
// when scraped in two grouped queries and kept for CACHE_MS. The database age is what this process
// knows: the built-in scanner's database as this worker loaded it (a worker that has not taken a
// newer one yet scans with the older one, so "max" across workers is the age that matters), and an
// adapter's `vulnerability-database-updated-at` from its metadata, which the scanner registry
// caches (a scrape asks an adapter at most twice a minute, within a short timeout).

import { Gauge, type Registry } from "../http/prometheus.ts";
import type { Logger } from "../logger.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ScannerRegistrationRecord } from "../metadata/scanner-store.ts";
import { DATABASE_UPDATED_AT } from "../scan/scan-job.ts";
import { DEFAULT_REPORT_MIMES } from "../scan/scan-service.ts";
import type { ScannerAdapterMetadata } from "../scan/scanner-adapter.ts";
import { CACHE_MS } from "./harbor-metrics.ts";

/** The per-project family, restricted like Harbor's project metrics (RESTRICTED_METRICS). */
export const PROJECT_VULNERABILITIES = "airlock_project_vulnerabilities";

/** Registrations looked at for database ages: far above any real number of scanners. */
const MAX_SCANNERS = 100;
/** How long one adapter may take to answer its metadata during a scrape. */
const METADATA_TIMEOUT_MS = 5_000;

export interface ScanMetricsSources {
  readonly store: Pick<MetadataStore, "scanReports" | "scanners">;
  /** A registration's metadata (ScannerRegistry.metadataOf: cached). */
  readonly metadataOf: (
    registration: ScannerRegistrationRecord,
    signal: AbortSignal,
  ) => Promise<ScannerAdapterMetadata>;
  /** Built-in scanners by registration URL: when their database was updated, if they have one. */
  readonly builtinDatabases: ReadonlyMap<string, () => Date | undefined>;
  readonly log: Logger;
  readonly now?: () => number;
}

interface Snapshot {
  readonly statuses: Readonly<Record<string, number>> | undefined;
  readonly severities: Readonly<Record<string, Readonly<Record<string, number>>>> | undefined;
  /** Scanner name → database update time. */
  readonly databases: ReadonlyMap<string, Date>;
}

/** Harbor's report statuses: each is reported, 0 when no report has it. */
const STATUSES = ["Pending", "Running", "Success", "Error", "Stopped"] as const;

export class ScanMetrics {
  readonly #sources: ScanMetricsSources;
  readonly #now: () => number;
  #cached: { at: number; snapshot: Promise<Snapshot> } | undefined;

  constructor(registry: Registry, sources: ScanMetricsSources) {
    this.#sources = sources;
    this.#now = sources.now ?? Date.now;
    const snapshot = (): Promise<Snapshot> => this.snapshot();
    const now = (): number => this.#now();

    new Gauge({
      name: "airlock_scan_reports",
      help: "Scan reports (one per artifact digest, scanner and report type) by status; failures are Error",
      labelNames: ["status"] as const,
      aggregator: "max",
      registers: [registry],
      async collect() {
        const { statuses } = await snapshot();
        this.reset();
        if (!statuses) return;
        for (const status of new Set([...STATUSES, ...Object.keys(statuses)])) {
          this.set({ status }, statuses[status] ?? 0);
        }
      },
    });
    new Gauge({
      name: PROJECT_VULNERABILITIES,
      help: "Vulnerabilities by severity in the latest successful scans of the artifacts a project holds",
      labelNames: ["project_name", "severity"] as const,
      aggregator: "max",
      registers: [registry],
      async collect() {
        const { severities } = await snapshot();
        this.reset();
        for (const [project, counts] of Object.entries(severities ?? {})) {
          for (const [severity, count] of Object.entries(counts)) this.set({ project_name: project, severity }, count);
        }
      },
    });
    new Gauge({
      name: "airlock_vulnerability_database_age_seconds",
      help: "Seconds since the scanner's vulnerability database was updated",
      labelNames: ["scanner"] as const,
      aggregator: "max",
      registers: [registry],
      async collect() {
        const { databases } = await snapshot();
        this.reset();
        for (const [scanner, updatedAt] of databases) {
          this.set({ scanner }, Math.max(0, (now() - updatedAt.getTime()) / 1_000));
        }
      },
    });
  }

  /** The figures, computed at most once per CACHE_MS; callers during a computation share it. */
  snapshot(): Promise<Snapshot> {
    const at = this.#now();
    if (this.#cached && at - this.#cached.at < CACHE_MS) return this.#cached.snapshot;
    const snapshot = this.#compute();
    this.#cached = { at, snapshot };
    return snapshot;
  }

  async #compute(): Promise<Snapshot> {
    const { store, log } = this.#sources;
    const leftOut = (what: string) => (err: unknown) => {
      log.warn({ err: { message: (err as Error).message } }, `${what} left out of this scrape`);
      return undefined;
    };
    const [statuses, severities, databases] = await Promise.all([
      store.scanReports.countByStatus().catch(leftOut("scan report metrics")),
      store.scanReports.severityByProject(DEFAULT_REPORT_MIMES).catch(leftOut("vulnerability metrics")),
      this.#databases().catch((err: unknown) => leftOut("database ages")(err) ?? new Map<string, Date>()),
    ]);
    return { statuses, severities, databases };
  }

  async #databases(): Promise<Map<string, Date>> {
    const { store, builtinDatabases, metadataOf } = this.#sources;
    const listed = await store.scanners.list({}, { offset: 0, limit: MAX_SCANNERS });
    const found = new Map<string, Date>();
    await Promise.all(
      listed.items
        .filter((registration) => !registration.disabled)
        .map(async (registration) => {
          const builtin = builtinDatabases.get(registration.url);
          let updatedAt: Date | undefined;
          if (builtin) {
            updatedAt = builtin();
          } else {
            const metadata = await metadataOf(registration, AbortSignal.timeout(METADATA_TIMEOUT_MS)).catch(
              () => undefined,
            );
            const text = metadata?.properties?.[DATABASE_UPDATED_AT];
            const time = text === undefined ? Number.NaN : Date.parse(text);
            updatedAt = Number.isNaN(time) ? undefined : new Date(time);
          }
          if (updatedAt) found.set(registration.name, updatedAt);
        }),
    );
    return found;
  }
}
