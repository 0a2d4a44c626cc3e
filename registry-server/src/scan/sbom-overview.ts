// Harbor's `sbom_overview` of an artifact (with_sbom_overview=true, Harbor 2.11+): its SBOM report
// by the project's scanner, as the SBOM summary the scan stored (sbom-accessory.ts) with the
// report's id, or the report's status and times while it is under way or when it failed. An index
// has no SBOM of its own: its children's reports give the status (the worst of them: one under
// way, then one failed) and the times, as Harbor reads them from the index's last execution.
// Also the SBOM accessory it names, for the `sbom` addition.

import type { ScanReportRecord } from "../metadata/scan-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { parseSbomSummary } from "./sbom-accessory.ts";
import type { ScanService, ScanTarget } from "./scan-service.ts";
import { SBOM_REPORT_MIME } from "./scanner-adapter.ts";

type Target = Pick<ScanTarget, "projectId" | "repository" | "digest" | "mediaType">;

function seconds(start: Date | undefined, end: Date | undefined): number | undefined {
  return start && end ? Math.max(0, Math.floor((end.getTime() - start.getTime()) / 1_000)) : undefined;
}

/** The worst status first: under way, failed, stopped, done. */
const STATUS_ORDER = ["Running", "Pending", "Error", "Stopped", "Success"];

export class SbomOverview {
  private readonly scans: Pick<ScanService, "reportsOf">;
  private readonly store: Pick<MetadataStore, "scanReports">;

  constructor(scans: Pick<ScanService, "reportsOf">, store: Pick<MetadataStore, "scanReports">) {
    this.scans = scans;
    this.store = store;
  }

  /** `sbom_overview`; undefined when the artifact has no SBOM report (Harbor leaves it out). */
  async overview(target: Target): Promise<Record<string, unknown> | undefined> {
    const reports = await this.scans.reportsOf(target, [SBOM_REPORT_MIME]);
    const own = reports.find((r) => r.digest === target.digest);
    if (own) return this.ofReport(own);
    if (reports.length === 0) return undefined;
    const status = [...reports].sort((a, b) => STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status))[0]!
      .status;
    const starts = reports.flatMap((r) => (r.startTime ? [r.startTime.getTime()] : []));
    const ends = reports.flatMap((r) => (r.endTime ? [r.endTime.getTime()] : []));
    const start = starts.length > 0 ? new Date(Math.min(...starts)) : undefined;
    const end = ends.length === reports.length && ends.length > 0 ? new Date(Math.max(...ends)) : undefined;
    const duration = seconds(start, end);
    return {
      scan_status: status,
      ...(start && { start_time: start.toISOString() }),
      ...(end && { end_time: end.toISOString() }),
      ...(duration !== undefined && { duration }),
    };
  }

  /** The digest of the artifact's SBOM accessory in its repository, when it has one. */
  async sbomDigest(target: Target): Promise<string | undefined> {
    const reports = await this.scans.reportsOf(target, [SBOM_REPORT_MIME]);
    const own = reports.find((r) => r.digest === target.digest && r.status === "Success");
    if (!own) return undefined;
    const summary = parseSbomSummary(await this.store.scanReports.reportText(own.uuid));
    // The report is shared by every repository holding the digest; the accessory is in one.
    return summary?.sbom_repository === target.repository && typeof summary.sbom_digest === "string"
      ? summary.sbom_digest
      : undefined;
  }

  private async ofReport(report: ScanReportRecord): Promise<Record<string, unknown>> {
    const base = {
      report_id: report.uuid,
      scan_status: report.status,
      ...(report.scanner && { scanner: report.scanner }),
    };
    if (report.status !== "Success") {
      const duration = seconds(report.startTime, report.endTime);
      return {
        ...base,
        ...(report.startTime && { start_time: report.startTime.toISOString() }),
        ...(report.endTime && { end_time: report.endTime.toISOString() }),
        ...(duration !== undefined && { duration }),
      };
    }
    const summary = parseSbomSummary(await this.store.scanReports.reportText(report.uuid)) ?? {};
    return {
      ...base,
      start_time: summary.start_time ?? report.startTime?.toISOString(),
      end_time: summary.end_time ?? report.endTime?.toISOString(),
      duration: summary.duration ?? seconds(report.startTime, report.endTime),
      scan_status: summary.scan_status ?? report.status,
      ...(typeof summary.sbom_digest === "string" && { sbom_digest: summary.sbom_digest }),
      ...(summary.scanner && { scanner: summary.scanner }),
    };
  }
}
