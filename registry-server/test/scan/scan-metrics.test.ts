// Scanning on /metrics and /api/v2.0/health, read for real from a registry whose built-in Trivy
// scanner scanned the test image (a Critical and a High finding) and failed on a broken image,
// against a database older than the 7 days allowed: the reports by status, the vulnerabilities
// of the project by severity (only for the administrator, like Harbor's project metrics), the
// database's age, and its date in the health answer.

import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basic } from "../api/harbor-client.ts";
import { descriptorOf, OCI_MANIFEST } from "../distribution/oci-client.ts";
import { ADMIN } from "../helpers.ts";
import { TRIVY, type VulnerableImage } from "./trivy-fixture.ts";
import { DAY_MS, pollUntil, startScanningRegistry, type ScanningRegistry } from "./scanning-registry.ts";

/** The value of the series `name{labels}` in a Prometheus text answer; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function scanStatus(reply: { json: unknown }): string | undefined {
  const overview = (reply.json as { scan_overview?: Record<string, { scan_status?: string }> } | undefined)
    ?.scan_overview;
  return overview ? Object.values(overview)[0]?.scan_status : undefined;
}

describe.skipIf(!existsSync(TRIVY))("scanning on /metrics and /api/v2.0/health", () => {
  const AGE_DAYS = 10;
  let s: ScanningRegistry;
  let image: VulnerableImage;

  async function scanAndWait(repository: string, reference: string): Promise<string | undefined> {
    const artifact = `/projects/prod/repositories/${repository}/artifacts/${reference}`;
    const started = await s.harbor.call("POST", `${artifact}/scan`);
    expect(started.status, started.text).toBe(202);
    const done = await pollUntil(s.harbor, `${artifact}?with_scan_overview=true`, (reply) =>
      ["Success", "Error", "Stopped"].includes(scanStatus(reply) ?? ""),
    );
    return scanStatus(done);
  }

  beforeAll(async () => {
    s = await startScanningRegistry(Date.now(), AGE_DAYS);
    await s.harbor.createProject("prod", false);
    image = await s.pushApp("prod/app", "1.0");
    // An image whose config is not JSON: trivy fails on it.
    const config = "not a config";
    const layer = "not a tar archive";
    await s.oci.pushBlob("prod/broken", config);
    await s.oci.pushBlob("prod/broken", layer);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptorOf("application/vnd.oci.image.config.v1+json", config),
      layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
    });
    const put = await s.oci.request("PUT", "/v2/prod/broken/manifests/1.0", {
      headers: { "Content-Type": OCI_MANIFEST },
      body: manifest,
    });
    expect(put.status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await s?.close();
  });

  it("counts reports by status, vulnerabilities per project, and the database's age", async () => {
    expect(await scanAndWait("app", "1.0")).toBe("Success");
    expect(await scanAndWait("broken", "1.0")).toBe("Error");

    const admin = await (await fetch(`${s.registry.url}/metrics`, { headers: { Authorization: basic(ADMIN) } })).text();
    expect(sample(admin, 'airlock_scan_reports{status="Success"}')).toBe(1);
    expect(sample(admin, 'airlock_scan_reports{status="Error"}')).toBe(1);
    expect(sample(admin, 'airlock_scan_reports{status="Running"}')).toBe(0);
    expect(sample(admin, 'airlock_project_vulnerabilities{project_name="prod",severity="Critical"}')).toBe(1);
    expect(sample(admin, 'airlock_project_vulnerabilities{project_name="prod",severity="High"}')).toBe(1);
    expect(sample(admin, 'airlock_project_vulnerabilities{project_name="prod",severity="Low"}')).toBeUndefined();
    const age = sample(admin, 'airlock_vulnerability_database_age_seconds{scanner="Trivy"}');
    expect(age).toBeGreaterThan((AGE_DAYS * DAY_MS) / 1_000 - 60);
    expect(age).toBeLessThan((AGE_DAYS * DAY_MS) / 1_000 + 3_600);

    // Anonymous scrapes get no project names.
    const anonymous = await (await fetch(`${s.registry.url}/metrics`)).text();
    expect(anonymous).not.toContain("airlock_project_vulnerabilities{");
    expect(sample(anonymous, 'airlock_scan_reports{status="Error"}')).toBe(1);
    expect(image.digest).toMatch(/^sha256:/);
  }, 300_000);

  it("shows the database's date in /api/v2.0/health, unhealthy past the limit", async () => {
    const reply = await s.harbor.get("/health", null);
    expect(reply.status).toBe(503);
    const trivy = (reply.json as { components: Array<Record<string, unknown>> }).components.find(
      (c) => c["name"] === "trivy",
    );
    expect(trivy).toEqual({
      name: "trivy",
      status: "unhealthy",
      error: `vulnerability database is ${AGE_DAYS} days old`,
      database_updated_at: s.databaseUpdatedAt.toISOString().replace(/\.000Z$/, "Z"),
    });
  }, 60_000);
});
