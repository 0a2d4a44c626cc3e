// The scanning areas of the metadata store: scan reports and CVE allowlists.
//
// A report is Harbor's: one per (artifact digest, scanner registration, report MIME type), shared
// by every repository holding that digest, so a rescan replaces it and an image pushed to a second
// repository is not scanned again. It goes Pending → Running → Success, Error or Stopped; the
// summary (counts by severity, fixable, the highest severity) is kept beside the report so that
// listings with `with_scan_overview` never parse reports, and the report itself (Harbor's JSON,
// possibly megabytes) is read only when asked for.
//
// An allowlist is Harbor's CVE allowlist: the system's (project id 0) and one per project.
//
// Every backend runs the shared contract suite in test/contracts/scan-store-contract.ts.

export type ScanStatus = "Pending" | "Running" | "Success" | "Error" | "Stopped";

/** Statuses a report no longer leaves by itself. */
export const FINAL_SCAN_STATUSES: readonly ScanStatus[] = ["Success", "Error", "Stopped"];

export interface ScanReportKey {
  readonly digest: string;
  readonly registrationUuid: string;
  readonly mimeType: string;
}

/** Harbor's VulnerabilitySummary. */
export interface VulnerabilitySummary {
  readonly total: number;
  readonly fixable: number;
  /** Counts by severity name, only severities present. */
  readonly summary: Readonly<Record<string, number>>;
}

export interface ScannerStamp {
  readonly name: string;
  readonly vendor: string;
  readonly version: string;
}

export interface ScanReportRecord extends ScanReportKey {
  /** Harbor's report_id. */
  readonly uuid: string;
  readonly status: ScanStatus;
  readonly scanner?: ScannerStamp;
  readonly startTime?: Date;
  readonly endTime?: Date;
  /** The highest severity found (Harbor's overall severity), once a vulnerability report is in. */
  readonly severity?: string;
  readonly summary?: VulnerabilitySummary;
  /** When the scanner's vulnerability database was last updated, when the scanner says. */
  readonly databaseUpdatedAt?: Date;
  /** The job execution and task that ran the scan (their logs are the scan's log). */
  readonly executionId?: number;
  readonly taskId?: number;
  /** Why the scan failed, when it did. */
  readonly message?: string;
}

export interface ScanOutcome {
  readonly status: Exclude<ScanStatus, "Pending" | "Running">;
  /** The report's JSON text (Success only). */
  readonly report?: string;
  readonly severity?: string;
  readonly summary?: VulnerabilitySummary;
  readonly scanner?: ScannerStamp;
  readonly databaseUpdatedAt?: Date;
  readonly message?: string;
}

export interface ScanReportMetadata {
  /**
   * A new Pending report for `key`, replacing an ended one (its report is dropped); undefined when
   * the current one has not ended (a scan is under way: Harbor's 409).
   */
  begin(key: ScanReportKey, executionId: number, at: Date): Promise<ScanReportRecord | undefined>;
  /** Marks the report Running for task `taskId`; false when it is gone or has ended. */
  start(uuid: string, taskId: number, scanner: ScannerStamp | undefined, at: Date): Promise<boolean>;
  /** Ends the report; false when it is gone or has ended already (it is left as it is). */
  finish(uuid: string, outcome: ScanOutcome, at: Date): Promise<boolean>;
  get(uuid: string): Promise<ScanReportRecord | undefined>;
  /** The report's JSON text, when it has one. */
  reportText(uuid: string): Promise<string | undefined>;
  /** The reports of these digests (without their text), for a listing's scan overview. */
  forDigests(
    digests: readonly string[],
    filter?: { readonly registrationUuid?: string; readonly mimeTypes?: readonly string[] },
  ): Promise<ScanReportRecord[]>;
  /** Reports not ended of an execution (stopping a scan ends them Stopped). */
  unfinished(executionId: number): Promise<ScanReportRecord[]>;
  /** Counts of reports by status (Harbor's scan metrics), optionally of some executions only. */
  countByStatus(executionIds?: readonly number[]): Promise<Record<string, number>>;
  /**
   * Vulnerabilities by severity per project: the summaries of the latest Success reports of the
   * manifests each project holds, summed (the metrics). Keys are project names.
   */
  severityByProject(mimeTypes: readonly string[]): Promise<Record<string, Record<string, number>>>;
  /** Deletes the reports of digests no manifest of any repository holds any more; how many went. */
  deleteOrphans(limit: number): Promise<number>;
}

/** Harbor's CVE allowlist. `projectId` 0 is the system's. */
export interface CveAllowlistRecord {
  readonly id: number;
  readonly projectId: number;
  readonly items: readonly string[];
  /** When the allowlist stops applying; undefined: never. */
  readonly expiresAt?: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface CveAllowlistMetadata {
  get(projectId: number): Promise<CveAllowlistRecord | undefined>;
  /** Creates or replaces the project's (or the system's) allowlist. */
  put(projectId: number, items: readonly string[], expiresAt: Date | undefined, at: Date): Promise<CveAllowlistRecord>;
  delete(projectId: number): Promise<boolean>;
}

export interface ScanAreas {
  readonly scanReports: ScanReportMetadata;
  readonly cveAllowlists: CveAllowlistMetadata;
}
