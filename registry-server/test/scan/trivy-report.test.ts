// Trivy's JSON report into Harbor's vulnerability report, case by case as harbor-scanner-trivy's
// transformer treats them (its pkg/scan/transformer_test.go): the severity names, the links, the
// CVSS scores, the layer; and the in-memory bookkeeping of the built-in scanner's scans.

import { describe, expect, it } from "vitest";
import { VULNERABILITY_REPORT_MIME, type ScanRequest } from "../../src/scan/scanner-adapter.ts";
import { ConcurrencyLimit } from "../../src/scan/trivy/concurrency-limit.ts";
import {
  parseTrivyReport,
  toVulnerabilityReport,
  type TrivyVulnerability,
} from "../../src/scan/trivy/harbor-report.ts";
import { ScanJobs, TooManyScansError } from "../../src/scan/trivy/scan-jobs.ts";

const REQUEST: ScanRequest = {
  registry: { url: "https://registry.test", authorization: "Bearer t" },
  artifact: { repository: "library/mongo", digest: `sha256:${"6c".repeat(32)}`, mime_type: "" },
};
const SCANNER = { name: "Trivy", vendor: "Aqua Security", version: "0.74.0" };
const AT = new Date("2026-12-06T07:00:00Z");

function reportOf(vulnerabilities: TrivyVulnerability[]) {
  return toVulnerabilityReport(
    parseTrivyReport(
      Buffer.from(JSON.stringify({ SchemaVersion: 2, Results: [{ Target: "t", Vulnerabilities: vulnerabilities }] })),
    ),
    REQUEST,
    SCANNER,
    AT,
  );
}

describe("Harbor's report from trivy's", () => {
  it("maps each finding as harbor-scanner-trivy does", () => {
    const report = reportOf([
      {
        VulnerabilityID: "CVE-0000-0001",
        PkgName: "PKG-01",
        PkgIdentifier: { PURL: "pkg:deb/debian/pkg-01@1.0.0?arch=amd64&distro=debian-12" },
        InstalledVersion: "PKG-01-VER",
        FixedVersion: "PKG-01-FIX-VER",
        Status: "fixed",
        Severity: "CRITICAL",
        Description: "CVE-0000-0001.DESC",
        References: ["http://cve.com?id=CVE-0000-0001", "http://vendor.com?id=CVE-0000-0001"],
        Layer: { Digest: "sha256:5216", DiffID: "sha256:d1ff" },
        CVSS: {
          nvd: {
            V2Vector: "AV:L/AC:M/Au:N/C:P/I:N/A:N",
            V3Vector: "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:N/A:N",
            V2Score: 1.9,
            V3Score: 4.7,
          },
        },
        CweIDs: ["CWE-20", "CWE-1289"],
      },
      {
        VulnerabilityID: "CVE-0000-0003",
        PkgName: "PKG-03",
        InstalledVersion: "PKG-03-VER",
        Severity: "MEDIUM",
        References: ["http://cve.com?id=CVE-0000-0003"],
        PrimaryURL: "https://avd.aquasec.com/nvd/cve-0000-0003/",
        Layer: { Digest: "sha256:5217" },
      },
      {
        VulnerabilityID: "CVE-0000-0005",
        PkgName: "PKG-05",
        InstalledVersion: "PKG-05-VER",
        Severity: "~~~UNKNOWN~~~",
      },
    ]);
    expect(report).toEqual({
      generated_at: "2026-12-06T07:00:00.000Z",
      artifact: { repository: "library/mongo", digest: REQUEST.artifact.digest },
      scanner: SCANNER,
      severity: "Critical",
      vulnerabilities: [
        {
          id: "CVE-0000-0001",
          package: "PKG-01",
          version: "PKG-01-VER",
          status: "fixed",
          purl: "pkg:deb/debian/pkg-01@1.0.0?arch=amd64&distro=debian-12",
          fix_version: "PKG-01-FIX-VER",
          severity: "Critical",
          description: "CVE-0000-0001.DESC",
          // No primary URL: the references.
          links: ["http://cve.com?id=CVE-0000-0001", "http://vendor.com?id=CVE-0000-0001"],
          layer: { digest: "sha256:5216", diff_id: "sha256:d1ff" },
          cwe_ids: ["CWE-20", "CWE-1289"],
          vendor_attributes: {
            CVSS: {
              nvd: {
                V2Vector: "AV:L/AC:M/Au:N/C:P/I:N/A:N",
                V3Vector: "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:N/A:N",
                V2Score: 1.9,
                V3Score: 4.7,
              },
            },
          },
        },
        {
          id: "CVE-0000-0003",
          package: "PKG-03",
          version: "PKG-03-VER",
          severity: "Medium",
          description: "",
          // The primary URL alone.
          links: ["https://avd.aquasec.com/nvd/cve-0000-0003/"],
          layer: { digest: "sha256:5217" },
        },
        // A severity Harbor does not know is Unknown; no references, no links; no layer, null.
        {
          id: "CVE-0000-0005",
          package: "PKG-05",
          version: "PKG-05-VER",
          severity: "Unknown",
          description: "",
          links: [],
          layer: null,
        },
      ],
    });
  });

  it("takes the highest severity for the report, and None when nothing was found", () => {
    const finding = (severity: string): TrivyVulnerability => ({
      VulnerabilityID: `CVE-${severity}`,
      PkgName: "p",
      InstalledVersion: "1",
      Severity: severity,
    });
    expect(reportOf([finding("LOW"), finding("HIGH"), finding("UNKNOWN")])["severity"]).toBe("High");
    expect(reportOf([finding("UNKNOWN")])["severity"]).toBe("Unknown");
    expect(reportOf([])).toMatchObject({ severity: "None", vulnerabilities: [] });
  });

  it("refuses a report of another schema, or no JSON at all", () => {
    expect(() => parseTrivyReport(Buffer.from('{"SchemaVersion":1}'))).toThrow("unsupported schema 1");
    expect(() => parseTrivyReport(Buffer.from("not json"))).toThrow("not JSON");
  });
});

describe("the built-in scanner's scans in memory", () => {
  it("hands a report out once, and forgets a scan nobody asks about after its time", () => {
    let now = 0;
    const jobs = new ScanJobs({ maxJobs: 10, ttlMs: 1_000, now: () => now });
    const read = jobs.create();
    jobs.done(read, new Map([[VULNERABILITY_REPORT_MIME, { severity: "High" }]]));
    expect(jobs.take(read, VULNERABILITY_REPORT_MIME)).toEqual({ state: "done", report: { severity: "High" } });
    expect(jobs.take(read, VULNERABILITY_REPORT_MIME)).toEqual({ state: "unknown" });
    const unread = jobs.create();
    jobs.failed(unread, "boom");
    expect(jobs.take(unread, VULNERABILITY_REPORT_MIME)).toEqual({ state: "failed", message: "boom" });
    now = 1_001;
    expect(jobs.take(unread, VULNERABILITY_REPORT_MIME)).toEqual({ state: "unknown" });
    expect(jobs.size).toBe(0);
  });

  it("holds at most maxJobs: the oldest finished one goes, and none when all are running", () => {
    let now = 0;
    const jobs = new ScanJobs({ maxJobs: 2, ttlMs: 60_000, now: () => now });
    const first = jobs.create();
    const second = jobs.create();
    jobs.running(first);
    jobs.running(second);
    expect(() => jobs.create()).toThrow(TooManyScansError);
    jobs.done(second, new Map());
    now = 1;
    jobs.done(first, new Map());
    const third = jobs.create();
    expect(jobs.take(second, VULNERABILITY_REPORT_MIME)).toEqual({ state: "unknown" });
    expect(jobs.take(first, VULNERABILITY_REPORT_MIME)).toEqual({ state: "no-report" });
    expect(jobs.take(third, VULNERABILITY_REPORT_MIME)).toEqual({ state: "queued" });
  });

  it("runs at most its limit at once, in order, and lets a waiting task go when its signal aborts", async () => {
    const limit = new ConcurrencyLimit(1);
    const order: string[] = [];
    let release: () => void = () => undefined;
    const first = limit.run(
      () =>
        new Promise<void>((resolve) => {
          order.push("first");
          release = resolve;
        }),
    );
    const aborted = new AbortController();
    const skipped = limit.run(async () => void order.push("skipped"), aborted.signal);
    const third = limit.run(async () => void order.push("third"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual(["first"]);
    aborted.abort();
    await expect(skipped).rejects.toThrow("stopped while waiting for its turn");
    release();
    await Promise.all([first, third]);
    expect(order).toEqual(["first", "third"]);
  });
});
