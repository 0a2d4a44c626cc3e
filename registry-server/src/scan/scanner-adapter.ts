// The seam between the registry and a scanner: Harbor's Scanner Adapter API (the pluggable
// scanner spec, v1.1 and v1.2: goharbor/pluggable-scanner-spec, scanner-adapter-openapi-v1.2.yaml)
// as an interface. An adapter reached over HTTP (harbor-scanner-trivy, Clair's adapter) and the
// built-in Trivy scanner, which runs in this server's own processes, both implement it, so the
// scan jobs, the /scanners API and the reports do not know which one they talk to.
//
// The types are the adapter API's JSON, field names included: what an HTTP adapter sends is
// checked against them at the boundary and then passed on unchanged.

/** The report Harbor's vulnerability scanners produce (the version Harbor 2.x asks for). */
export const VULNERABILITY_REPORT_MIME = "application/vnd.security.vulnerability.report; version=1.1";
/** The generic vulnerability report of adapter API v1.2 (Harbor reads it like the 1.1 one). */
export const GENERIC_VULNERABILITY_REPORT_MIME = "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";
/** The SBOM report of adapter API v1.2 (Harbor 2.11+): the SBOM inside, its format in media_type. */
export const SBOM_REPORT_MIME = "application/vnd.security.sbom.report+json; version=1.0";

/** The SBOM formats an SBOM capability may produce (its `sbom_media_types` attribute). */
export const SPDX_JSON = "application/spdx+json";
export const CYCLONEDX_JSON = "application/vnd.cyclonedx+json";

export type ScanType = "vulnerability" | "sbom";

/** `GET /api/v1/metadata`. */
export interface ScannerAdapterMetadata {
  readonly scanner: ScannerIdentity;
  readonly capabilities: readonly ScannerCapability[];
  /**
   * Free-form properties; Harbor shows them. Well-known keys:
   * `harbor.scanner-adapter/scanner-type` ("os-package-vulnerability"),
   * `harbor.scanner-adapter/vulnerability-database-updated-at` (RFC 3339),
   * `harbor.scanner-adapter/vulnerability-database-next-update-at`.
   */
  readonly properties?: Readonly<Record<string, string>>;
}

export interface ScannerIdentity {
  readonly name: string;
  readonly vendor: string;
  readonly version: string;
}

export interface ScannerCapability {
  /** Absent in v1.1 adapters: "vulnerability" is meant. */
  readonly type?: ScanType;
  readonly consumes_mime_types: readonly string[];
  readonly produces_mime_types: readonly string[];
  /** v1.2: e.g. `{ sbom_media_types: ["application/spdx+json"] }` for an SBOM capability. */
  readonly additional_attributes?: Readonly<Record<string, unknown>>;
}

/** `POST /api/v1/scan`. */
export interface ScanRequest {
  readonly registry: {
    /** Where the adapter reads the artifact from (this registry, as the adapter can reach it). */
    readonly url: string;
    /** `Bearer <token>`: a short-lived token that may only pull (and scanner-pull) this repository. */
    readonly authorization: string;
  };
  readonly artifact: {
    readonly repository: string;
    readonly digest: string;
    readonly tag?: string;
    readonly mime_type: string;
  };
  /** v1.2: what to produce; absent means a vulnerability report. */
  readonly enabled_capabilities?: ReadonlyArray<{
    readonly type: ScanType;
    readonly produces_mime_types?: readonly string[];
    readonly parameters?: Readonly<Record<string, unknown>>;
  }>;
}

/** v1.2's parameters of a report request (`GET /api/v1/scan/{id}/report?sbom_media_type=…`). */
export interface ReportParameters {
  /** The SBOM format wanted, for the SBOM report: one of the capability's `sbom_media_types`. */
  readonly sbomMediaType?: string;
}

/** The answer to a report request. */
export type ReportResult =
  | { readonly state: "ready"; readonly report: unknown }
  /** Not yet: ask again after `retryAfterSeconds` (the adapter's `Refresh-After`). */
  | { readonly state: "pending"; readonly retryAfterSeconds: number }
  /** The scan failed; the adapter's message. */
  | { readonly state: "failed"; readonly message: string };

/**
 * One scanner, as the registry drives it. Implementations must honour `signal` (a stopped scan, a
 * timeout) and never hold more than a bounded amount of an adapter's answer in memory.
 */
export interface ScannerAdapter {
  metadata(signal?: AbortSignal): Promise<ScannerAdapterMetadata>;
  /** Starts a scan; the adapter's scan id. */
  scan(request: ScanRequest, signal?: AbortSignal): Promise<string>;
  /** The report of a scan, in the MIME type asked for (one the capability produces). */
  report(scanId: string, mimeType: string, signal?: AbortSignal, parameters?: ReportParameters): Promise<ReportResult>;
}

/** A vulnerability of Harbor's report 1.1 (the fields the registry reads; others are kept). */
export interface ReportVulnerability {
  readonly id: string;
  readonly package: string;
  readonly version: string;
  readonly fix_version?: string;
  readonly severity: string;
  readonly description?: string;
  readonly links?: readonly string[];
  readonly [key: string]: unknown;
}

/** Harbor's vulnerability report 1.1. */
export interface VulnerabilityReport {
  readonly generated_at: string;
  readonly artifact?: unknown;
  readonly scanner?: ScannerIdentity;
  readonly severity: string;
  readonly vulnerabilities: readonly ReportVulnerability[];
  readonly [key: string]: unknown;
}

/** Harbor's severities (vuln.Severity). */
export type Severity = "None" | "Unknown" | "Negligible" | "Low" | "Medium" | "High" | "Critical";

/**
 * A severity's rank for comparisons, as Harbor's Severity.Code: None and Unknown 0, Negligible 1,
 * Low 2, Medium 3, High 4, Critical 5, and a name Harbor does not know 99 (the safe side: treated
 * as worse than Critical).
 */
export function severityCode(severity: string): number {
  switch (severity) {
    case "None":
    case "Unknown":
      return 0;
    case "Negligible":
      return 1;
    case "Low":
      return 2;
    case "Medium":
      return 3;
    case "High":
      return 4;
    case "Critical":
      return 5;
    default:
      return 99;
  }
}
