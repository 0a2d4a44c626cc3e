// A scan as a job of the job system (Harbor's IMAGE_SCAN execution): one task per manifest
// scanned (an image, or each child of an index), which gives the scanner a pull token for that
// repository only, asks it to scan, waits for each report the placeholders ask for (as long as
// the adapter says to, within the scan's time limit), checks and stores them. A task stopped, timed
// out or failed ends its reports Stopped or Error with the reason, so no report stays Running.
// Each report keeps how old the scanner's database was, asked once the scan has been made.
// A run taken over after a restart finds the tasks made before and runs those not ended.

import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import type { JobContext, JobHandler, TaskContext } from "../jobs/job-service.ts";
import type { ExecutionStatus } from "../metadata/job-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ScanOutcome, ScanReportRecord, ScannerStamp } from "../metadata/scan-store.ts";
import {
  IMAGE_SCAN_VENDOR,
  type ImageScanParameters,
  type ScannerChoice,
  type ScannerResolver,
  type ScanService,
} from "./scan-service.ts";
import {
  GENERIC_VULNERABILITY_REPORT_MIME,
  SBOM_REPORT_MIME,
  SPDX_JSON,
  VULNERABILITY_REPORT_MIME,
  type ScannerAdapterMetadata,
  type ScanRequest,
} from "./scanner-adapter.ts";
import { publishScanEnded, type ScanEventDeps } from "./scan-events.ts";
import { summarise } from "./vulnerability-summary.ts";

/** The adapter metadata property holding its database's last update (RFC 3339). */
export const DATABASE_UPDATED_AT = "harbor.scanner-adapter/vulnerability-database-updated-at";

/** The longest pause between two report requests, whatever the adapter asks for. */
const MAX_POLL_MS = 30_000;
const MIN_POLL_MS = 200;

export interface ScanJobDeps extends Pick<ScanEventDeps, "events" | "overview"> {
  readonly store: MetadataStore;
  readonly scanners: ScannerResolver;
  /** The adapter's metadata (ScanService.metadataOf: cached). */
  readonly metadataOf: ScanService["metadataOf"];
  /** `Bearer <token>`: pull and scanner-pull on `repository` only, for `ttlSeconds`. */
  readonly pullAuthorization: (repository: string, ttlSeconds: number) => string;
  /** Where the scanner reads this registry (Harbor's external or internal address). */
  readonly registryUrl: (choice: ScannerChoice) => string;
  /** A scan of one manifest is given up after this long. */
  readonly timeoutMs: number;
  readonly now?: () => number;
  /**
   * What becomes of a report checked and about to be stored (Harbor's PostScan): the SBOM
   * report's document is pushed as the artifact's accessory (sbom-accessory.ts). Absent: stored as is.
   */
  readonly postScan?: PostScan;
}

/** A report ready to be stored, and the scan it came from. */
export interface ScannedReport {
  readonly repository: string;
  readonly manifest: { readonly digest: string; readonly media_type: string };
  readonly report: ScanReportRecord;
  /** The adapter's answer, as checked by outcomeOf. */
  readonly body: unknown;
  readonly outcome: ScanOutcome;
  readonly startedAt: Date;
}

export type PostScan = (scanned: ScannedReport, signal: AbortSignal) => Promise<ScanOutcome>;

const vulnerabilityReportSchema = z
  .object({
    generated_at: z.string().optional(),
    severity: z.string().optional(),
    vulnerabilities: z
      .array(
        z
          .object({
            id: z.string(),
            package: z.string(),
            version: z.string(),
            fix_version: z.string().optional(),
            severity: z.string(),
          })
          .passthrough(),
      )
      .nullish(),
  })
  .passthrough();

/** A report the adapter sent, checked and reduced to what is stored. */
export function outcomeOf(
  mimeType: string,
  report: unknown,
  stamp: ScannerStamp | undefined,
  databaseUpdatedAt: Date | undefined,
): ScanOutcome {
  const common = {
    status: "Success" as const,
    ...(stamp && { scanner: stamp }),
    ...(databaseUpdatedAt && { databaseUpdatedAt }),
  };
  if (mimeType === VULNERABILITY_REPORT_MIME || mimeType === GENERIC_VULNERABILITY_REPORT_MIME) {
    const parsed = vulnerabilityReportSchema.safeParse(report);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`the scanner's report is not a vulnerability report: ${issue?.path.join(".")} ${issue?.message}`);
    }
    const vulnerabilities = parsed.data.vulnerabilities ?? [];
    const { severity, summary } = summarise(vulnerabilities);
    return { ...common, report: JSON.stringify({ ...parsed.data, vulnerabilities }), severity, summary };
  }
  if (report === null || typeof report !== "object") throw new Error(`the scanner's ${mimeType} report is not JSON`);
  return { ...common, report: JSON.stringify(report) };
}

function databaseTime(metadata: ScannerAdapterMetadata): Date | undefined {
  const text = metadata.properties?.[DATABASE_UPDATED_AT];
  const time = text === undefined ? NaN : Date.parse(text);
  return Number.isNaN(time) ? undefined : new Date(time);
}

export function imageScanJob(deps: ScanJobDeps): JobHandler {
  return {
    vendorType: IMAGE_SCAN_VENDOR,
    // Per artifact: its last scans and their logs.
    keepExecutions: 5,
    run: (context) => runImageScan(deps, context),
  };
}

async function runImageScan(deps: ScanJobDeps, context: JobContext): Promise<Record<string, unknown>> {
  const parameters = context.execution.parameters as unknown as ImageScanParameters;
  const reports = await deps.store.scanReports.unfinished(context.execution.id);
  const made = await context.tasks();
  let scanned = 0;
  const ended: ExecutionStatus[] = [];
  for (const manifest of parameters.manifests) {
    const own = reports.filter((r) => r.digest === manifest.digest);
    const existing = made.find((t) => t.name === manifest.digest);
    if (own.length === 0) continue;
    const task =
      existing ??
      (await context.addTasks([{ name: manifest.digest, extraAttrs: { report_uuids: own.map((r) => r.uuid) } }]))[0];
    if (!task || ["Success", "Error", "Stopped"].includes(task.status)) continue;
    const result = await context.runTask(task, (taskContext) =>
      scanManifest(deps, parameters, manifest, own, taskContext),
    );
    ended.push(result.status);
    if (result.status === "Success") scanned++;
  }
  await publishScanEnded(deps, parameters, context.execution.id, ended);
  return { scanned };
}

export async function scanManifest(
  deps: ScanJobDeps,
  parameters: ImageScanParameters,
  manifest: { digest: string; media_type: string },
  reports: readonly ScanReportRecord[],
  task: TaskContext,
): Promise<Record<string, unknown>> {
  const now = (): Date => new Date((deps.now ?? Date.now)());
  const timeout = AbortSignal.timeout(deps.timeoutMs);
  const signal = AbortSignal.any([task.signal, timeout]);
  const pending = new Set(reports.map((r) => r.uuid));
  try {
    const choice = await deps.scanners.byUuid(parameters.registration.uuid);
    if (!choice) throw new Error(`scanner ${parameters.registration.name} is no longer registered`);
    const metadata = await deps.metadataOf(choice);
    const stamp = metadata.scanner;
    const startedAt = now();
    for (const report of reports) await deps.store.scanReports.start(report.uuid, task.task.id, stamp, startedAt);
    const repository = parameters.artifact.repository_name;
    const request: ScanRequest = {
      registry: {
        url: deps.registryUrl(choice),
        authorization: deps.pullAuthorization(repository, Math.ceil(deps.timeoutMs / 1_000) + 60),
      },
      artifact: { repository, digest: manifest.digest, mime_type: manifest.media_type },
      ...(parameters.scan_type === "sbom" && {
        enabled_capabilities: [
          {
            type: "sbom",
            produces_mime_types: [SBOM_REPORT_MIME],
            parameters: { sbom_media_types: [SPDX_JSON] },
          },
        ],
      }),
    };
    task.log(`[INFO] scanning ${repository}@${manifest.digest} with ${stamp.name} ${stamp.version}`);
    const scanId = await choice.adapter.scan(request, signal);
    task.log(`[INFO] the scanner accepted the scan: ${scanId}`);
    let databaseUpdatedAt: Date | undefined | null = null;
    for (const report of reports) {
      const body = await awaitReport(choice, scanId, report.mimeType, signal, task);
      if (databaseUpdatedAt === null) databaseUpdatedAt = await scannedDatabaseTime(choice, metadata, signal, task);
      const checked = outcomeOf(report.mimeType, body, stamp, databaseUpdatedAt);
      const outcome = deps.postScan
        ? await deps.postScan({ repository, manifest, report, body, outcome: checked, startedAt }, signal)
        : checked;
      await deps.store.scanReports.finish(report.uuid, outcome, now());
      pending.delete(report.uuid);
      task.log(
        `[INFO] ${report.mimeType}: ${outcome.summary ? `${outcome.summary.total} vulnerabilities, highest ${outcome.severity}` : "stored"}`,
      );
    }
    return { digest: manifest.digest, reports: reports.length };
  } catch (error) {
    const stopped = task.signal.aborted;
    const message = stopped
      ? "the scan was stopped"
      : timeout.aborted
        ? `the scan took longer than ${Math.round(deps.timeoutMs / 1_000)} s`
        : error instanceof Error
          ? error.message
          : String(error);
    for (const uuid of pending) {
      await deps.store.scanReports.finish(uuid, { status: stopped ? "Stopped" : "Error", message }, now());
    }
    task.log(`[ERROR] ${message}`);
    throw stopped || !timeout.aborted ? error : new Error(message, { cause: error });
  }
}

/**
 * How old the scanner's database was for a scan whose report has just come: asked of the adapter
 * now, not from the cached metadata the scan started with, which may describe the database before
 * an update the scan itself picked up (the built-in scanner looks for a new one as a scan starts).
 * When the adapter cannot say now, the date it gave at the start.
 */
async function scannedDatabaseTime(
  choice: ScannerChoice,
  atStart: ScannerAdapterMetadata,
  signal: AbortSignal,
  task: TaskContext,
): Promise<Date | undefined> {
  try {
    return databaseTime(await choice.adapter.metadata(signal)) ?? databaseTime(atStart);
  } catch (error) {
    signal.throwIfAborted();
    task.log(`[WARNING] the scanner's metadata: ${error instanceof Error ? error.message : String(error)}`);
    return databaseTime(atStart);
  }
}

/** Asks for a report until it is ready, as often as the adapter says (bounded), until `signal`. */
async function awaitReport(
  choice: ScannerChoice,
  scanId: string,
  mimeType: string,
  signal: AbortSignal,
  task: TaskContext,
): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    signal.throwIfAborted();
    // Harbor asks for the SBOM in SPDX (its scan request's sbom_media_types).
    const parameters = mimeType === SBOM_REPORT_MIME ? { sbomMediaType: SPDX_JSON } : {};
    const result = await choice.adapter.report(scanId, mimeType, signal, parameters);
    if (result.state === "ready") return result.report;
    if (result.state === "failed") throw new Error(`the scanner failed: ${result.message}`);
    if (attempt === 1) task.log(`[INFO] waiting for the ${mimeType} report`);
    const pause = Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, result.retryAfterSeconds * 1_000));
    await sleep(pause, undefined, { signal });
  }
}
