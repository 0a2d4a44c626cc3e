// The built-in scanner: Trivy run by the server itself, behind the same seam as an adapter reached
// over HTTP (scanner-adapter.ts). A scan runs `trivy image` on the artifact, pulled from this
// registry with the request's short-lived token, against the vulnerability database this registry
// serves to itself (database-cache.ts): no adapter service, and nothing fetched from the internet.
//
// Trivy is kept off the network beyond the registry by its own flags (no database, Java database
// or version check downloads, offline scan, no telemetry) and, should a version of it try anyway,
// by its environment: every HTTP(S) connection except to the registry goes to a proxy address
// that answers nothing, so no name is even resolved.

import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import * as path from "node:path";
import { promisify } from "node:util";
import type { ComponentHealth } from "../../health-check.ts";
import type { Logger } from "../../logger.ts";
import {
  SBOM_REPORT_MIME,
  VULNERABILITY_REPORT_MIME,
  CYCLONEDX_JSON,
  SPDX_JSON,
  type ReportParameters,
  type ReportResult,
  type ScanRequest,
  type ScannerAdapter,
  type ScannerAdapterMetadata,
  type ScannerIdentity,
} from "../scanner-adapter.ts";
import { ConcurrencyLimit } from "./concurrency-limit.ts";
import type { DatabaseInfo, DatabaseLease, TrivyDatabaseCache } from "./database-cache.ts";
import { parseTrivyReport, toSbomReport, toVulnerabilityReport } from "./harbor-report.ts";
import { ScanJobs } from "./scan-jobs.ts";
import { parseScanTarget, reportKey, SBOM_FORMATS, type ScanTarget } from "./scan-target.ts";
import { runTrivy } from "./trivy-process.ts";

const execFileAsync = promisify(execFile);

const PROPERTY_SCANNER_TYPE = "harbor.scanner-adapter/scanner-type";
const PROPERTY_DB_UPDATED_AT = "harbor.scanner-adapter/vulnerability-database-updated-at";
const PROPERTY_DB_NEXT_UPDATE_AT = "harbor.scanner-adapter/vulnerability-database-next-update-at";

/** What a registry's manifest-based artifacts Trivy scans are (harbor-scanner-trivy's). */
const CONSUMES = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];

/** Where trivy's HTTP(S) proxy points by default: the discard port of the loopback, closed. */
export const DEFAULT_EGRESS_TRAP = "http://127.0.0.1:9";
/** How long a caller is told to wait before asking again for a report still being made. */
const RETRY_AFTER_SECONDS = 5;

export interface TrivyScannerOptions {
  readonly binary: string;
  readonly database: TrivyDatabaseCache;
  /** Where each scan gets a scratch directory (trivy's HOME, TMPDIR and report files). */
  readonly workDir: string;
  readonly scanTimeoutMs: number;
  readonly concurrency: number;
  /** A database older than this is reported as out of date. */
  readonly maxDatabaseAgeMs: number;
  /** CA certificates trivy trusts when it pulls over TLS (trivy's --cacert). */
  readonly caFile?: string;
  readonly log: Logger;
  readonly now?: () => number;
  /** Largest report trivy may write (64 MiB by default). */
  readonly maxReportBytes?: number;
  /** Scans held in memory at most (1,000 by default) and how long an unread report is kept (1 hour). */
  readonly maxScans?: number;
  readonly reportTtlMs?: number;
  /** The proxy every connection but the registry's is sent to: an address that answers nothing. */
  readonly egressTrap?: string;
}

/** The database in use as the health endpoint and the scan jobs see it. */
export interface TrivyDatabaseStatus extends DatabaseInfo {
  /** Older than the configured maximum age. */
  readonly outdated: boolean;
}

/** How the built-in scanner is registered (scanner-registry.ts's ensureBuiltin), as Harbor names its own. */
export const TRIVY_REGISTRATION = {
  name: "Trivy",
  url: "builtin://trivy",
  description: "The registry's built-in Trivy scanner: its vulnerability database is served by this registry.",
} as const;

export class TrivyScanner implements ScannerAdapter {
  private readonly options: TrivyScannerOptions;
  private readonly now: () => number;
  private readonly jobs: ScanJobs;
  private readonly limit: ConcurrencyLimit;
  private version: Promise<string> | undefined;
  /** Aborted by close(): stops every scan still queued or running. */
  private readonly closing = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(options: TrivyScannerOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.jobs = new ScanJobs({
      maxJobs: options.maxScans ?? 1_000,
      ttlMs: options.reportTtlMs ?? 3_600_000,
      now: this.now,
    });
    this.limit = new ConcurrencyLimit(options.concurrency);
  }

  /** The database in use, its dates and whether it is older than allowed; undefined before one is found. */
  databaseInfo(): TrivyDatabaseStatus | undefined {
    const info = this.options.database.info();
    if (!info) return undefined;
    return { ...info, outdated: this.now() - info.updatedAt.getTime() > this.options.maxDatabaseAgeMs };
  }

  /** Looks for a newer database in the repository now, rather than at the next due check. */
  async refreshDatabase(): Promise<TrivyDatabaseStatus | undefined> {
    await this.options.database.refresh();
    return this.databaseInfo();
  }

  /** A component of /api/v2.0/health ("trivy", as Harbor names its scanner's). */
  async health(): Promise<ComponentHealth> {
    if (!this.databaseInfo()) await this.options.database.refresh().catch(() => undefined);
    const info = this.databaseInfo();
    if (!info) return { name: "trivy", status: "unhealthy", error: "no vulnerability database" };
    const database_updated_at = rfc3339(info.updatedAt);
    if (info.outdated) {
      const days = Math.floor((this.now() - info.updatedAt.getTime()) / 86_400_000);
      return {
        name: "trivy",
        status: "unhealthy",
        error: `vulnerability database is ${days} days old`,
        database_updated_at,
      };
    }
    return { name: "trivy", status: "healthy", database_updated_at };
  }

  async metadata(): Promise<ScannerAdapterMetadata> {
    if (!this.options.database.info()) await this.options.database.refresh().catch(() => undefined);
    const info = this.databaseInfo();
    return {
      scanner: await this.identity(),
      capabilities: [
        { type: "vulnerability", consumes_mime_types: CONSUMES, produces_mime_types: [VULNERABILITY_REPORT_MIME] },
        {
          type: "sbom",
          consumes_mime_types: CONSUMES,
          produces_mime_types: [SBOM_REPORT_MIME],
          additional_attributes: { sbom_media_types: [SPDX_JSON, CYCLONEDX_JSON] },
        },
      ],
      properties: {
        [PROPERTY_SCANNER_TYPE]: "os-package-vulnerability",
        ...(info && {
          [PROPERTY_DB_UPDATED_AT]: rfc3339(info.updatedAt),
          [PROPERTY_DB_NEXT_UPDATE_AT]: rfc3339(info.nextUpdate),
        }),
        "env.SCANNER_TRIVY_SKIP_UPDATE": "true",
        "env.SCANNER_TRIVY_SKIP_JAVA_DB_UPDATE": "true",
        "env.SCANNER_TRIVY_OFFLINE_SCAN": "true",
        "env.SCANNER_TRIVY_SECURITY_CHECKS": "vuln",
        "env.SCANNER_TRIVY_TIMEOUT": `${Math.round(this.options.scanTimeoutMs / 1000)}s`,
        ...(info && { "airlock.trivy/vulnerability-database-outdated": String(info.outdated) }),
      },
    };
  }

  /**
   * Queues a scan and answers its id at once; the reports follow through `report`. The scan runs
   * until `signal` aborts (the job stopped or timed out), which ends its trivy process.
   */
  async scan(request: ScanRequest, signal?: AbortSignal): Promise<string> {
    if (this.closing.signal.aborted) throw new Error("the scanner is closed");
    const target = parseScanTarget(request);
    const id = this.jobs.create();
    const stop = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    const running = this.execute(id, request, target, stop).finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
    return id;
  }

  /** Stops the scans still queued or running and waits for their trivy processes to end. */
  async close(): Promise<void> {
    this.closing.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  /** `parameters.sbomMediaType` (v1.2) must be the format the scan request asked for. */
  async report(
    scanId: string,
    mimeType: string,
    _signal?: AbortSignal,
    parameters: ReportParameters = {},
  ): Promise<ReportResult> {
    const key = reportKey(mimeType);
    if (key === undefined) return { state: "failed", message: `unsupported report type ${mimeType}` };
    const found = this.jobs.take(scanId, key);
    switch (found.state) {
      case "queued":
      case "running":
        return { state: "pending", retryAfterSeconds: RETRY_AFTER_SECONDS };
      case "done": {
        const made = (found.report as { media_type?: unknown } | null)?.media_type;
        if (parameters.sbomMediaType !== undefined && typeof made === "string" && made !== parameters.sbomMediaType) {
          return {
            state: "failed",
            message: `scan ${scanId} made a ${made} SBOM, not ${parameters.sbomMediaType}`,
          };
        }
        return { state: "ready", report: found.report };
      }
      case "failed":
        return { state: "failed", message: found.message };
      case "no-report":
        return { state: "failed", message: `scan ${scanId} made no ${mimeType} report, or it was already read` };
      case "unknown":
        return { state: "failed", message: `no scan ${scanId}: it expired, or its reports were read` };
    }
  }

  private async execute(id: string, request: ScanRequest, target: ScanTarget, signal?: AbortSignal): Promise<void> {
    const { log } = this.options;
    try {
      const reports = await this.limit.run(async () => {
        this.jobs.running(id);
        return this.run(request, target, signal);
      }, signal);
      this.jobs.done(id, reports);
    } catch (err) {
      const message = signal?.aborted ? "the scan was stopped" : (err as Error).message;
      log.warn(
        { scanId: id, repository: request.artifact.repository, digest: request.artifact.digest, err: message },
        "scan failed",
      );
      this.jobs.failed(id, message);
    }
  }

  private async run(request: ScanRequest, target: ScanTarget, signal?: AbortSignal): Promise<Map<string, unknown>> {
    await mkdir(this.options.workDir, { recursive: true, mode: 0o700 });
    const work = await mkdtemp(path.join(this.options.workDir, "scan-"));
    let lease: DatabaseLease | undefined;
    try {
      const scanner = await this.identity();
      const reports = new Map<string, unknown>();
      if (target.vulnerabilities) {
        lease = await this.options.database.acquire();
        const output = await this.trivy(
          work,
          target,
          lease.cacheDir,
          ["--format", "json", "--scanners", "vuln"],
          signal,
        );
        reports.set(
          VULNERABILITY_REPORT_MIME,
          toVulnerabilityReport(parseTrivyReport(output), request, scanner, new Date(this.now())),
        );
      }
      if (target.sbomMediaType !== undefined) {
        // An SBOM needs no vulnerability database: trivy gets an empty cache.
        const cacheDir = lease?.cacheDir ?? path.join(work, "cache");
        const format = SBOM_FORMATS[target.sbomMediaType] ?? "spdx-json";
        const output = await this.trivy(work, target, cacheDir, ["--format", format], signal);
        reports.set(
          SBOM_REPORT_MIME,
          toSbomReport(output, target.sbomMediaType, request, scanner, new Date(this.now())),
        );
      }
      return reports;
    } finally {
      lease?.release();
      await rm(work, { recursive: true, force: true });
    }
  }

  /** One `trivy image` run; its report's bytes. */
  private async trivy(
    work: string,
    target: ScanTarget,
    cacheDir: string,
    formatArgs: readonly string[],
    signal?: AbortSignal,
  ): Promise<Buffer> {
    const outputFile = path.join(work, "report.json");
    await rm(outputFile, { force: true });
    const timeoutSeconds = Math.max(1, Math.floor(this.options.scanTimeoutMs / 1000));
    const args = [
      "image",
      ...formatArgs,
      "--output",
      outputFile,
      "--cache-dir",
      cacheDir,
      // Layers are analysed in memory: no cache database that concurrent scans would share.
      "--cache-backend",
      "memory",
      "--image-src",
      "remote",
      "--skip-db-update",
      "--skip-java-db-update",
      "--offline-scan",
      "--skip-version-check",
      "--disable-telemetry",
      "--no-progress",
      "--timeout",
      `${timeoutSeconds}s`,
      ...(this.options.caFile !== undefined ? ["--cacert", this.options.caFile] : []),
      // Plain HTTP only: over TLS the certificate is always verified.
      ...(target.plainHttp ? ["--insecure"] : []),
      "--",
      target.imageRef,
    ];
    return runTrivy({
      binary: this.options.binary,
      args,
      env: this.environment(work, target),
      cwd: work,
      outputFile,
      maxOutputBytes: this.options.maxReportBytes ?? 64 * 1024 * 1024,
      // trivy's own --timeout does not cover every wait (a registry that stops answering): the
      // process is ended at the same time whatever it is doing.
      timeoutMs: this.options.scanTimeoutMs,
      ...(signal && { signal }),
    });
  }

  /** trivy's whole environment: the credentials, a scratch HOME and TMPDIR, the egress trap. */
  private environment(work: string, target: ScanTarget): Record<string, string> {
    const trap = this.options.egressTrap ?? DEFAULT_EGRESS_TRAP;
    const registryHost = target.imageRef.slice(0, target.imageRef.indexOf("/"));
    const noProxy = registryHost.replace(/:\d+$/, "");
    return {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: work,
      TMPDIR: work,
      HTTP_PROXY: trap,
      HTTPS_PROXY: trap,
      http_proxy: trap,
      https_proxy: trap,
      NO_PROXY: noProxy,
      no_proxy: noProxy,
      ...target.credentials,
    };
  }

  /** Trivy's name, vendor and version (`trivy version`), asked once. */
  private identity(): Promise<ScannerIdentity> {
    this.version ??= this.askVersion().catch((err: unknown) => {
      this.options.log.warn({ err: (err as Error).message }, "could not ask trivy its version");
      this.version = undefined;
      return "Unknown";
    });
    return this.version.then((version) => ({ name: "Trivy", vendor: "Aqua Security", version }));
  }

  private async askVersion(): Promise<string> {
    await mkdir(this.options.workDir, { recursive: true, mode: 0o700 });
    const work = await mkdtemp(path.join(this.options.workDir, "version-"));
    try {
      const { stdout } = await execFileAsync(
        this.options.binary,
        ["version", "--format", "json", "--cache-dir", work],
        {
          cwd: work,
          env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: work },
          timeout: 30_000,
          maxBuffer: 1024 * 1024,
        },
      );
      const version = (JSON.parse(stdout) as { Version?: unknown }).Version;
      if (typeof version !== "string" || version === "") throw new Error("trivy version answered no version");
      return version;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}

/** RFC 3339 as Go writes a time.Time: without fractional seconds when there are none. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, "Z");
}
