// Trivy's JSON report (`--format json`, schema 2) turned into Harbor's vulnerability report 1.1,
// field for field as harbor-scanner-trivy does (pkg/scan/transformer.go): Trivy's severities in
// Harbor's spelling, the primary URL alone as the link when there is one (else the references),
// the CVSS scores under vendor_attributes.CVSS, the layer's digest and diff_id, the report's
// severity the highest found. And the SBOM report of adapter API v1.2 around trivy's SBOM.

import type { ScanRequest, ScannerIdentity } from "../scanner-adapter.ts";

/** The parts of Trivy's JSON report read here (trivy's pkg/types.Report). */
export interface TrivyReport {
  readonly SchemaVersion?: number;
  readonly Results?: ReadonlyArray<{
    readonly Target?: string;
    readonly Vulnerabilities?: readonly TrivyVulnerability[] | null;
  }> | null;
}

export interface TrivyVulnerability {
  readonly VulnerabilityID: string;
  readonly PkgName: string;
  readonly PkgIdentifier?: { readonly PURL?: string } | null;
  readonly InstalledVersion: string;
  readonly FixedVersion?: string;
  readonly Status?: string;
  readonly Severity?: string;
  readonly Description?: string;
  readonly References?: readonly string[] | null;
  readonly PrimaryURL?: string;
  readonly Layer?: { readonly Digest?: string; readonly DiffID?: string } | null;
  readonly CVSS?: Readonly<Record<string, TrivyCvss>> | null;
  readonly CweIDs?: readonly string[] | null;
}

interface TrivyCvss {
  readonly V2Vector?: string;
  readonly V3Vector?: string;
  readonly V2Score?: number;
  readonly V3Score?: number;
}

/** The only schema of Trivy's JSON report this reads. */
export const TRIVY_REPORT_SCHEMA = 2;

/** Trivy's severities and Harbor's, in Harbor's order (harbor-scanner-trivy's harbor.Severity). */
const SEVERITIES: Readonly<Record<string, { name: string; rank: number }>> = {
  UNKNOWN: { name: "Unknown", rank: 1 },
  LOW: { name: "Low", rank: 2 },
  MEDIUM: { name: "Medium", rank: 3 },
  HIGH: { name: "High", rank: 4 },
  CRITICAL: { name: "Critical", rank: 5 },
};

export class TrivyReportError extends Error {
  override name = "TrivyReportError";
}

/** Parses trivy's output; an error when it is not a report of the schema read here. */
export function parseTrivyReport(bytes: Buffer): TrivyReport {
  let report: TrivyReport;
  try {
    report = JSON.parse(bytes.toString("utf8")) as TrivyReport;
  } catch {
    throw new TrivyReportError("trivy's report is not JSON");
  }
  if (report === null || typeof report !== "object" || report.SchemaVersion !== TRIVY_REPORT_SCHEMA) {
    throw new TrivyReportError(
      `unsupported schema ${String((report as TrivyReport | null)?.SchemaVersion)} of trivy's report, expected ${TRIVY_REPORT_SCHEMA}`,
    );
  }
  return report;
}

/** The artifact as the report names it: the request's repository, digest and MIME type. */
function reportArtifact(request: ScanRequest): Record<string, string> {
  const { repository, digest, mime_type } = request.artifact;
  return { repository, digest, ...(mime_type !== "" && { mime_type }) };
}

/** Harbor's vulnerability report 1.1 for a trivy JSON report. */
export function toVulnerabilityReport(
  report: TrivyReport,
  request: ScanRequest,
  scanner: ScannerIdentity,
  generatedAt: Date,
): Record<string, unknown> {
  const vulnerabilities = (report.Results ?? []).flatMap((result) => (result.Vulnerabilities ?? []).map(toItem));
  let highest: { name: string; rank: number } | undefined;
  for (const item of vulnerabilities) {
    const severity = SEVERITIES[String(item.severity).toUpperCase()];
    if (severity && (!highest || severity.rank > highest.rank)) highest = severity;
  }
  return {
    generated_at: generatedAt.toISOString(),
    artifact: reportArtifact(request),
    scanner,
    // harbor-scanner-trivy leaves it out when nothing was found; Harbor reads that as "None".
    severity: highest?.name ?? "None",
    vulnerabilities,
  };
}

function toItem(v: TrivyVulnerability): Record<string, unknown> {
  const severity = SEVERITIES[v.Severity ?? ""]?.name ?? "Unknown";
  const links = v.PrimaryURL ? [v.PrimaryURL] : [...(v.References ?? [])];
  const cvss = v.CVSS && Object.keys(v.CVSS).length > 0 ? toCvss(v.CVSS) : undefined;
  const layer = v.Layer
    ? { ...(v.Layer.Digest && { digest: v.Layer.Digest }), ...(v.Layer.DiffID && { diff_id: v.Layer.DiffID }) }
    : null;
  return {
    id: v.VulnerabilityID,
    package: v.PkgName,
    version: v.InstalledVersion,
    ...(v.Status && { status: v.Status }),
    ...(v.PkgIdentifier?.PURL && { purl: v.PkgIdentifier.PURL }),
    ...(v.FixedVersion && { fix_version: v.FixedVersion }),
    severity,
    description: v.Description ?? "",
    links,
    layer,
    ...(v.CweIDs && v.CweIDs.length > 0 && { cwe_ids: [...v.CweIDs] }),
    ...(cvss && { vendor_attributes: { CVSS: cvss } }),
  };
}

/** The CVSS entries as harbor-scanner-trivy keeps them: v2 and v3 vectors and scores. */
function toCvss(cvss: Readonly<Record<string, TrivyCvss>>): Record<string, TrivyCvss> {
  return Object.fromEntries(
    Object.entries(cvss).map(([source, c]) => [
      source,
      {
        ...(c.V2Vector && { V2Vector: c.V2Vector }),
        ...(c.V3Vector && { V3Vector: c.V3Vector }),
        ...(c.V2Score !== undefined && { V2Score: c.V2Score }),
        ...(c.V3Score !== undefined && { V3Score: c.V3Score }),
      },
    ]),
  );
}

/** The SBOM report of adapter API v1.2: trivy's SBOM document inside, its format in media_type. */
export function toSbomReport(
  sbom: Buffer,
  mediaType: string,
  request: ScanRequest,
  scanner: ScannerIdentity,
  generatedAt: Date,
): Record<string, unknown> {
  let document: unknown;
  try {
    document = JSON.parse(sbom.toString("utf8"));
  } catch {
    throw new TrivyReportError(`trivy's ${mediaType} SBOM is not JSON`);
  }
  return {
    generated_at: generatedAt.toISOString(),
    artifact: reportArtifact(request),
    scanner,
    media_type: mediaType,
    sbom: document,
  };
}
