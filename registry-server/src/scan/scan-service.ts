// Scans as Harbor's scan controller runs them: which scanner a project uses, what of an artifact it
// can scan (the artifact itself, or an index's children it supports), a report placeholder per
// scanned manifest and report MIME type, and a job execution (IMAGE_SCAN) whose tasks ask the
// scanner (scan-job.ts). Also what the API and the pull gate read back: an artifact's overview
// (its reports, an index's merged), its full reports, and whether a scan is under way.
//
// The placeholders and the execution are written in one transaction, so a scan asked for twice at
// once starts once (the second finds the first's reports under way: Harbor's 409), and an
// execution never exists without the reports it is to fill.

import { HarborError } from "../http/errors.ts";
import type { JobService } from "../jobs/job-service.ts";
import type { Logger } from "../logger.ts";
import type { ExecutionTrigger } from "../metadata/job-store.ts";
import type { ManifestRecord, MetadataAreas, MetadataStore } from "../metadata/metadata-store.ts";
import type { ScanReportRecord } from "../metadata/scan-store.ts";
import { DOCKER_MANIFEST_LIST, OCI_IMAGE_INDEX } from "../content/media-types.ts";
import { artifactTypeOf, harborMediaType } from "../api/artifact-types.ts";
import {
  GENERIC_VULNERABILITY_REPORT_MIME,
  SBOM_REPORT_MIME,
  VULNERABILITY_REPORT_MIME,
  type ScannerAdapter,
  type ScannerAdapterMetadata,
  type ScanType,
} from "./scanner-adapter.ts";
import { mergedOverview, type ReportOverview } from "./vulnerability-summary.ts";

export const IMAGE_SCAN_VENDOR = "IMAGE_SCAN";
export const SCAN_ALL_VENDOR = "SCAN_ALL";

/** The report MIME types a listing shows when the client names none (Harbor's defaults). */
export const DEFAULT_REPORT_MIMES = [VULNERABILITY_REPORT_MIME, GENERIC_VULNERABILITY_REPORT_MIME] as const;

/** A registered scanner and the adapter that speaks to it. */
export interface ScannerChoice {
  readonly registration: {
    readonly uuid: string;
    readonly name: string;
    readonly disabled: boolean;
    /** Harbor's use_internal_addr: give the adapter the registry's internal address. */
    readonly useInternalAddr?: boolean;
  };
  readonly adapter: ScannerAdapter;
}

/** Which scanner a project uses (the scanner registrations own the answer). */
export interface ScannerResolver {
  /** The project's scanner, else the default one; undefined when there is none. */
  forProject(projectId: number): Promise<ScannerChoice | undefined>;
  byUuid(uuid: string): Promise<ScannerChoice | undefined>;
}

/** An artifact to scan or to read the reports of. */
export interface ScanTarget {
  readonly projectId: number;
  readonly artifactId: number;
  /** The repository's full name. */
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly tag?: string;
}

/** What an IMAGE_SCAN execution carries (its parameters). */
export interface ImageScanParameters {
  readonly artifact: { id: number; project_id: number; repository_name: string; digest: string; tag?: string };
  readonly registration: { uuid: string; name: string };
  readonly scan_type: ScanType;
  /** The manifests scanned; their reports are the execution's (ScanReportMetadata.unfinished). */
  readonly manifests: ReadonlyArray<{ digest: string; media_type: string }>;
}

/** How long an adapter's metadata is trusted before it is asked again. */
const METADATA_TTL_MS = 60_000;
/** An index's children looked at; a bigger index is scanned in its first ones (a bound, not a rule). */
const MAX_CHILDREN = 256;

function isIndex(mediaType: string): boolean {
  return mediaType === OCI_IMAGE_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

/**
 * Whether a manifest is an image Harbor would scan (its checker's allowlist, hasCapability): an
 * artifact of Harbor's IMAGE type (artifact-types.ts), and no accessory (a manifest with a
 * subject: a signature, an SBOM). A Helm chart, Trivy's own database or a signature is not handed
 * to a scanner, nor judged by the pull gate, whatever the scanner's consumed media types say.
 */
function isScannableImage(record: Pick<ManifestRecord, "mediaType" | "configMediaType" | "subject">): boolean {
  return record.subject === undefined && artifactTypeOf(harborMediaType(record)) === "IMAGE";
}

/** The MIME types a scanner produces for a manifest of `mediaType` and a scan type (Harbor's GetProducesMimeTypes). */
export function producedMimeTypes(metadata: ScannerAdapterMetadata, mediaType: string, scanType: ScanType): string[] {
  const produced = new Set<string>();
  for (const capability of metadata.capabilities) {
    if ((capability.type ?? "vulnerability") !== scanType) continue;
    if (!capability.consumes_mime_types.includes(mediaType)) continue;
    for (const mime of capability.produces_mime_types) produced.add(mime);
  }
  return [...produced];
}

/** The report MIME types a scan type's reports are read under. */
export function reportMimes(scanType: ScanType): readonly string[] {
  return scanType === "sbom" ? [SBOM_REPORT_MIME] : DEFAULT_REPORT_MIMES;
}

export interface ScanServiceDeps {
  readonly store: MetadataStore;
  readonly jobs: Pick<JobService, "wake" | "requestStop">;
  readonly scanners: ScannerResolver;
  readonly log: Logger;
  readonly now?: () => number;
}

export class ScanService {
  private readonly deps: ScanServiceDeps;
  private readonly now: () => number;
  private readonly metadataCache = new Map<string, { at: number; metadata: Promise<ScannerAdapterMetadata> }>();

  constructor(deps: ScanServiceDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  /** The adapter's metadata, asked at most once a minute per scanner. */
  async metadataOf(choice: ScannerChoice): Promise<ScannerAdapterMetadata> {
    const cached = this.metadataCache.get(choice.registration.uuid);
    if (cached && this.now() - cached.at < METADATA_TTL_MS) return cached.metadata;
    const metadata = choice.adapter.metadata(AbortSignal.timeout(30_000));
    this.metadataCache.set(choice.registration.uuid, { at: this.now(), metadata });
    // A failure is not kept: the next call asks again.
    metadata.catch(() => this.metadataCache.delete(choice.registration.uuid));
    return metadata;
  }

  /** The project's scanner, or Harbor's 412 when it has none or it is disabled. */
  async scannerFor(projectId: number): Promise<ScannerChoice> {
    const choice = await this.deps.scanners.forProject(projectId);
    if (!choice) throw new HarborError("PRECONDITION", `no available scanner for project: ${projectId}`);
    if (choice.registration.disabled) {
      throw new HarborError("PRECONDITION", `scanner ${choice.registration.name} is disabled`);
    }
    return choice;
  }

  /**
   * The manifests of `target` a scanner can scan for `scanType`, each with the MIME types it
   * produces: the artifact when it is an image whose media type the scanner consumes, else an
   * index's image children that it consumes (Harbor's collectScanningArtifacts).
   */
  async scannable(
    choice: ScannerChoice,
    target: Pick<ScanTarget, "repository" | "digest" | "mediaType"> & {
      /** The manifest's record when the caller has it (else it is read). */
      readonly record?: Pick<ManifestRecord, "mediaType" | "configMediaType" | "subject">;
    },
    scanType: ScanType,
  ): Promise<Array<{ digest: string; mediaType: string; mimeTypes: string[] }>> {
    const metadata = await this.metadataOf(choice);
    if (!isIndex(target.mediaType)) {
      const record = target.record ?? (await this.deps.store.manifests.get(target.repository, target.digest));
      if (!record || !isScannableImage(record)) return [];
    }
    const own = producedMimeTypes(metadata, target.mediaType, scanType);
    if (own.length > 0) return [{ digest: target.digest, mediaType: target.mediaType, mimeTypes: own }];
    if (!isIndex(target.mediaType)) return [];
    const references = await this.deps.store.manifests.references(target.repository, target.digest);
    const found: Array<{ digest: string; mediaType: string; mimeTypes: string[] }> = [];
    for (const digest of (references?.manifests ?? []).slice(0, MAX_CHILDREN)) {
      const child = await this.deps.store.manifests.get(target.repository, digest);
      if (!child || isIndex(child.mediaType) || !isScannableImage(child)) continue;
      const mimeTypes = producedMimeTypes(metadata, child.mediaType, scanType);
      if (mimeTypes.length > 0) found.push({ digest, mediaType: child.mediaType, mimeTypes });
    }
    return found;
  }

  /**
   * Starts a scan of `target` (Harbor's Scan): 412 without a usable scanner, 400 when it can scan
   * nothing of the artifact, 409 when every report it would write is being written already.
   */
  async scan(target: ScanTarget, scanType: ScanType, trigger: ExecutionTrigger): Promise<number> {
    const choice = await this.scannerFor(target.projectId);
    const manifests = await this.scannable(choice, target, scanType);
    if (manifests.length === 0) {
      throw new HarborError(
        "BAD_REQUEST",
        `the configured scanner ${choice.registration.name} does not support scanning artifact with mime type ${target.mediaType}`,
      );
    }
    const at = new Date(this.now());
    const executionId = await this.deps.store.transaction((tx) =>
      this.schedule(tx, choice, target, scanType, manifests, trigger, at),
    );
    this.deps.jobs.wake();
    return executionId;
  }

  /** Writes the execution and its placeholders (in the caller's transaction); the execution's id. */
  async schedule(
    tx: MetadataAreas,
    choice: ScannerChoice,
    target: ScanTarget,
    scanType: ScanType,
    manifests: ReadonlyArray<{ digest: string; mediaType: string; mimeTypes: string[] }>,
    trigger: ExecutionTrigger,
    at: Date,
  ): Promise<number> {
    const parameters: ImageScanParameters = {
      artifact: {
        id: target.artifactId,
        project_id: target.projectId,
        repository_name: target.repository,
        digest: target.digest,
        ...(target.tag !== undefined && { tag: target.tag }),
      },
      registration: { uuid: choice.registration.uuid, name: choice.registration.name },
      scan_type: scanType,
      manifests: manifests.map((m) => ({ digest: m.digest, media_type: m.mediaType })),
    };
    const execution = await tx.jobs.createExecution(
      {
        vendorType: IMAGE_SCAN_VENDOR,
        vendorId: target.artifactId,
        trigger,
        parameters: parameters as unknown as Record<string, unknown>,
      },
      at,
    );
    await this.placeholders(tx, choice, manifests, execution.id, at);
    return execution.id;
  }

  /**
   * A Pending report per manifest and MIME type for execution `executionId` (in the caller's
   * transaction); how many were begun. Harbor's 409 when none could be: every one is being
   * written already.
   */
  async placeholders(
    tx: MetadataAreas,
    choice: ScannerChoice,
    manifests: ReadonlyArray<{ digest: string; mimeTypes: string[] }>,
    executionId: number,
    at: Date,
  ): Promise<number> {
    let begun = 0;
    let underWay: string | undefined;
    for (const manifest of manifests) {
      for (const mimeType of manifest.mimeTypes) {
        const key = { digest: manifest.digest, registrationUuid: choice.registration.uuid, mimeType };
        if (await tx.scanReports.begin(key, executionId, at)) {
          begun++;
        } else {
          const current = await tx.scanReports.forDigests([manifest.digest], { ...key, mimeTypes: [mimeType] });
          underWay = current[0]?.status;
        }
      }
    }
    if (begun === 0) {
      // The transaction, execution included, is undone.
      throw new HarborError("CONFLICT", `a previous scan process is ${underWay ?? "Running"}`);
    }
    return begun;
  }

  /** Stops the scans under way of `target` (Harbor's scan/stop); 400 when none is. */
  async stop(target: ScanTarget, scanType: ScanType): Promise<void> {
    const reports = await this.reportsOf(target, reportMimes(scanType), { anyScanner: true });
    const executions = new Set(
      reports.flatMap((r) =>
        (r.status === "Pending" || r.status === "Running") && r.executionId ? [r.executionId] : [],
      ),
    );
    if (executions.size === 0) {
      throw new HarborError("BAD_REQUEST", `no scan job of ${target.repository}@${target.digest} to stop`);
    }
    for (const id of executions) await this.deps.jobs.requestStop(id);
  }

  /**
   * The reports of `target` in `mimes` by the project's scanner (or any scanner): its own, or its
   * children's when it is an index.
   */
  async reportsOf(
    target: Pick<ScanTarget, "projectId" | "repository" | "digest" | "mediaType">,
    mimes: readonly string[],
    options: { anyScanner?: boolean } = {},
  ): Promise<ScanReportRecord[]> {
    const choice = await this.deps.scanners.forProject(target.projectId);
    if (!choice && !options.anyScanner) return [];
    const digests = [target.digest];
    if (isIndex(target.mediaType)) {
      const references = await this.deps.store.manifests.references(target.repository, target.digest);
      digests.push(...(references?.manifests ?? []).slice(0, MAX_CHILDREN));
    }
    return this.deps.store.scanReports.forDigests(digests, {
      ...(choice && !options.anyScanner && { registrationUuid: choice.registration.uuid }),
      mimeTypes: mimes,
    });
  }

  /**
   * `scan_overview`: per report MIME type, the artifact's summary (an index's children's merged);
   * undefined when it has no report (Harbor leaves the field out).
   */
  async overview(
    target: Pick<ScanTarget, "projectId" | "repository" | "digest" | "mediaType">,
    mimes: readonly string[],
  ): Promise<Record<string, ReportOverview> | undefined> {
    const reports = await this.reportsOf(target, mimes);
    if (reports.length === 0) return undefined;
    const own = reports.filter((r) => r.digest === target.digest);
    const chosen = own.length > 0 ? own : reports;
    const byMime = new Map<string, ScanReportRecord[]>();
    for (const report of chosen) byMime.set(report.mimeType, [...(byMime.get(report.mimeType) ?? []), report]);
    const overview: Record<string, ReportOverview> = {};
    for (const [mime, group] of byMime) {
      const merged = mergedOverview(group);
      if (merged) overview[mime] = merged;
    }
    return overview;
  }

  /**
   * The `vulnerabilities` addition: per report MIME type, the artifact's report (an index's
   * children's vulnerabilities together under the first child's report); {} without one.
   */
  async vulnerabilities(
    target: Pick<ScanTarget, "projectId" | "repository" | "digest" | "mediaType">,
    mimes: readonly string[],
  ): Promise<Record<string, unknown>> {
    const reports = (await this.reportsOf(target, mimes)).filter((r) => r.status === "Success");
    const own = reports.filter((r) => r.digest === target.digest);
    const chosen = own.length > 0 ? own : reports;
    const result: Record<string, Record<string, unknown>> = {};
    for (const report of chosen) {
      const text = await this.deps.store.scanReports.reportText(report.uuid);
      if (text === undefined) continue;
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const existing = result[report.mimeType];
      if (!existing) {
        result[report.mimeType] = parsed;
      } else {
        const mine: unknown = existing["vulnerabilities"];
        const theirs: unknown = parsed["vulnerabilities"];
        if (Array.isArray(mine) && Array.isArray(theirs))
          existing["vulnerabilities"] = [...(mine as unknown[]), ...(theirs as unknown[])];
      }
    }
    return result;
  }
}
