// The built-in scanner with the real trivy (built from its Go module by scripts/tools/go-tools.sh)
// against a registry running in this process: the database is one the test wrote with Trivy's own
// database package and pushed as Trivy's artifact, the image one the test built, the token one the
// registry's token service issued for that repository alone. The findings must be exactly the
// fixture's advisories, in Harbor's report; a new database must change them; a stop and a timeout
// must end trivy; and trivy must open no connection beyond the registry.

import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseFileConfig, resolveConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";
import {
  CYCLONEDX_JSON,
  SBOM_REPORT_MIME,
  SPDX_JSON,
  VULNERABILITY_REPORT_MIME,
  type ReportResult,
  type ScanRequest,
} from "../../src/scan/scanner-adapter.ts";
import { openTrivyScanner } from "../../src/scan/trivy/open-trivy-scanner.ts";
import { resolveTrivyConfig, trivyConfigSchema } from "../../src/scan/trivy/trivy-config.ts";
import type { TrivyScanner } from "../../src/scan/trivy/trivy-scanner.ts";
import { OCI_MANIFEST, OciClient } from "../distribution/oci-client.ts";
import { HarborClient, idFromLocation } from "../api/harbor-client.ts";
import { ADMIN, selfSignedCertificate, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { delta, requestCounts } from "../proxy/proxy-fixture.ts";
import { openRegistryContent, type RegistryContent } from "./registry-content.ts";
import {
  databaseLayer,
  imageLayer,
  pushDatabase,
  pushImage,
  registryToken,
  TRIVY,
  writeTrivyDatabase,
  type DatabaseDescription,
  type VulnerableImage,
} from "./trivy-fixture.ts";

const DAY_MS = 86_400_000;
/** How long a scan of the small test image may take on a busy machine. */
const SCAN_WAIT_MS = 120_000;

const BUSYBOX_CVE = "CVE-2099-1001";
const MUSL_OLD_CVE = "CVE-2099-1002";
const MUSL_NEW_CVE = "CVE-2099-1003";
const LODASH_GHSA = "GHSA-2099-abcd-wxyz";

/** The first database: busybox and lodash are vulnerable; musl is already past its fix. */
function firstDatabase(now: number): DatabaseDescription {
  return {
    updatedAt: new Date(now - DAY_MS),
    nextUpdate: new Date(now + 5 * DAY_MS),
    advisories: [
      { os: "alpine", release: "3.20", package: "busybox", id: BUSYBOX_CVE, fixedVersion: "1.36.1-r30" },
      { os: "alpine", release: "3.20", package: "musl", id: MUSL_OLD_CVE, fixedVersion: "1.2.5-r0" },
      {
        lang: "npm",
        package: "lodash",
        id: LODASH_GHSA,
        vulnerableVersions: ["<4.17.21"],
        patchedVersions: ["4.17.21"],
      },
    ],
    vulnerabilities: [
      {
        id: BUSYBOX_CVE,
        title: "busybox: an overflow in the tests",
        description: "A heap overflow the tests made up.",
        vendorSeverity: { nvd: "HIGH" },
        cvss: { nvd: { V3Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", V3Score: 7.5 } },
        cweIds: ["CWE-787"],
        references: ["https://example.test/advisories/CVE-2099-1001"],
      },
      { id: MUSL_OLD_CVE, description: "Fixed long ago.", vendorSeverity: { nvd: "CRITICAL" } },
      {
        id: LODASH_GHSA,
        title: "lodash: prototype pollution in the tests",
        description: "A prototype pollution the tests made up.",
        vendorSeverity: { ghsa: "CRITICAL" },
        references: ["https://example.test/advisories/GHSA-2099-abcd-wxyz"],
      },
    ],
  };
}

/** The second: a month old, and a new advisory for musl. */
function secondDatabase(now: number): DatabaseDescription {
  const first = firstDatabase(now);
  return {
    updatedAt: new Date(now - 30 * DAY_MS),
    nextUpdate: new Date(now - 29 * DAY_MS),
    advisories: [
      ...first.advisories,
      { os: "alpine", release: "3.20", package: "musl", id: MUSL_NEW_CVE, fixedVersion: "1.2.5-r3" },
    ],
    vulnerabilities: [
      ...first.vulnerabilities,
      { id: MUSL_NEW_CVE, description: "A new one.", vendorSeverity: { alpine: "MEDIUM", nvd: "LOW" } },
    ],
  };
}

/** A TCP listener that counts connections and answers none: trivy's proxy, or a registry that stalls. */
async function silentListener(): Promise<{
  url: string;
  port: number;
  connections: () => number;
  close: () => Promise<void>;
}> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    count += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Runs `task` with fetch trusting `ca` (the test registry's own certificate). */
async function withCa<T>(ca: string, task: () => Promise<T>): Promise<T> {
  const previous = getGlobalDispatcher();
  setGlobalDispatcher(new Agent({ connect: { ca } }));
  try {
    return await task();
  } finally {
    setGlobalDispatcher(previous);
  }
}

/** Polls for a report until it is no longer pending, within `waitMs`. */
async function waitForReport(
  scanner: TrivyScanner,
  id: string,
  mime: string,
  waitMs = SCAN_WAIT_MS,
): Promise<Exclude<ReportResult, { state: "pending" }>> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; attempt < 10_000 && Date.now() < deadline; attempt += 1) {
    const result = await scanner.report(id, mime);
    if (result.state !== "pending") return result;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`scan ${id} still pending after ${waitMs} ms`);
}

/** Processes whose command line mentions `text` (trivy runs left behind). */
function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) found.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

async function until(condition: () => boolean, waitMs: number, what: string): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; attempt < 10_000 && Date.now() < deadline; attempt += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(!existsSync(TRIVY))("the built-in Trivy scanner", () => {
  const now = Date.now();
  let registry: TestRegistry;
  let content: RegistryContent;
  let scannerData: { dir: string; remove: () => void };
  let fixtures: { dir: string; remove: () => void };
  let trap: Awaited<ReturnType<typeof silentListener>>;
  let scanner: TrivyScanner;
  let image: VulnerableImage;
  let firstLayer: string;
  let token: string;
  const logs: string[] = [];

  function request(overrides: Partial<ScanRequest> = {}): ScanRequest {
    return {
      registry: { url: registry.url, authorization: `Bearer ${token}` },
      artifact: {
        repository: "library/app",
        digest: image.digest,
        tag: "1.0",
        mime_type: "application/vnd.oci.image.manifest.v1+json",
      },
      ...overrides,
    };
  }

  beforeAll(async () => {
    registry = await startTestRegistry();
    const harbor = new HarborClient(registry.url);
    await harbor.createProject("library", false);
    await harbor.createProject("trivy-db", false);
    const client = new OciClient(registry.url);

    fixtures = tempDir("trivy-fixtures");
    await writeTrivyDatabase(firstDatabase(now), path.join(fixtures.dir));
    firstLayer = await pushDatabase(client, "trivy-db/trivy-db", "2", databaseLayer(fixtures.dir));
    image = await pushImage(
      client,
      "library/app",
      "1.0",
      imageLayer(
        [
          { name: "busybox", version: "1.36.1-r28" },
          { name: "musl", version: "1.2.5-r1" },
        ],
        { lodash: "4.17.20" },
      ),
    );
    token = await registryToken(registry.url, "repository:library/app:pull", ADMIN);

    const sink = new PassThrough();
    sink.on("data", (chunk: Buffer) => logs.push(...chunk.toString("utf8").split("\n").filter(Boolean)));
    const log = createLogger("info", sink);
    content = await openRegistryContent(registry.dataDir, log);
    trap = await silentListener();
    scannerData = tempDir("trivy-scanner");
    const config = resolveTrivyConfig(
      trivyConfigSchema.parse({
        binary: TRIVY,
        databaseRepository: "trivy-db/trivy-db:2",
        databaseCheckIntervalSeconds: 0,
        maxDatabaseAgeDays: 7,
      }),
      (file) => file,
    );
    scanner = await openTrivyScanner(config, {
      content: content.content,
      blobs: content.blobs,
      dataDir: scannerData.dir,
      log,
      egressTrap: trap.url,
    });
  }, 180_000);

  afterAll(async () => {
    await scanner?.close();
    await content?.close();
    await trap?.close();
    await registry?.stop();
    scannerData?.remove();
    fixtures?.remove();
  });

  it("finds exactly the fixture's advisories, in Harbor's vulnerability report", async () => {
    const id = await scanner.scan(request());
    const result = await waitForReport(scanner, id, VULNERABILITY_REPORT_MIME);
    expect(result.state, JSON.stringify(result)).toBe("ready");
    const report = (result as { report: Record<string, unknown> }).report;
    expect(report["severity"]).toBe("Critical");
    expect(report["artifact"]).toEqual({
      repository: "library/app",
      digest: image.digest,
      mime_type: "application/vnd.oci.image.manifest.v1+json",
    });
    expect(report["scanner"]).toEqual({ name: "Trivy", vendor: "Aqua Security", version: "0.74.0" });
    const vulnerabilities = report["vulnerabilities"] as Array<Record<string, unknown>>;
    const byId: Record<string, Record<string, unknown>> = Object.fromEntries(
      vulnerabilities.map((v) => [String(v["id"]), v]),
    );
    expect(Object.keys(byId).sort()).toEqual([BUSYBOX_CVE, LODASH_GHSA]);
    expect(byId[BUSYBOX_CVE]).toEqual({
      id: BUSYBOX_CVE,
      package: "busybox",
      version: "1.36.1-r28",
      status: "fixed",
      purl: "pkg:apk/alpine/busybox@1.36.1-r28?arch=x86_64&distro=3.20.3",
      fix_version: "1.36.1-r30",
      severity: "High",
      description: "A heap overflow the tests made up.",
      // The primary URL alone, as harbor-scanner-trivy links it.
      links: ["https://avd.aquasec.com/nvd/cve-2099-1001"],
      layer: { digest: image.layerDigest, diff_id: image.diffId },
      cwe_ids: ["CWE-787"],
      vendor_attributes: { CVSS: { nvd: { V3Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", V3Score: 7.5 } } },
    });
    expect(byId[LODASH_GHSA]).toMatchObject({
      package: "lodash",
      version: "4.17.20",
      fix_version: "4.17.21",
      severity: "Critical",
      links: [`https://github.com/advisories/${LODASH_GHSA}`],
      layer: { digest: image.layerDigest, diff_id: image.diffId },
    });
    expect(byId[LODASH_GHSA]).not.toHaveProperty("vendor_attributes");
    // Handed out once.
    expect((await scanner.report(id, VULNERABILITY_REPORT_MIME)).state).toBe("failed");
  }, 180_000);

  it("makes the SBOM report in the format asked for, listing the image's packages", async () => {
    for (const [mediaType, names] of [
      [SPDX_JSON, (sbom: Record<string, unknown>) => (sbom["packages"] as Array<{ name: string }>).map((p) => p.name)],
      [
        CYCLONEDX_JSON,
        (sbom: Record<string, unknown>) => (sbom["components"] as Array<{ name: string }>).map((c) => c.name),
      ],
    ] as const) {
      const id = await scanner.scan(
        request({ enabled_capabilities: [{ type: "sbom", parameters: { sbom_media_types: [mediaType] } }] }),
      );
      const result = await waitForReport(scanner, id, SBOM_REPORT_MIME);
      expect(result.state, JSON.stringify(result)).toBe("ready");
      const report = (result as { report: Record<string, unknown> }).report;
      expect(report["media_type"]).toBe(mediaType);
      expect(report["artifact"]).toMatchObject({ repository: "library/app", digest: image.digest });
      const listed = names(report["sbom"] as Record<string, unknown>);
      expect(listed).toEqual(expect.arrayContaining(["busybox", "musl", "lodash"]));
      // An SBOM scan makes no vulnerability report.
      expect((await scanner.report(id, VULNERABILITY_REPORT_MIME)).state).toBe("failed");
    }
  }, 240_000);

  it("reports the database's dates in its metadata, and whether it is too old", async () => {
    const metadata = await scanner.metadata();
    const first = firstDatabase(now);
    expect(metadata.scanner).toEqual({ name: "Trivy", vendor: "Aqua Security", version: "0.74.0" });
    expect(metadata.properties?.["harbor.scanner-adapter/vulnerability-database-updated-at"]).toBe(
      first.updatedAt.toISOString().replace(/\.000Z$/, "Z"),
    );
    expect(metadata.properties?.["harbor.scanner-adapter/vulnerability-database-next-update-at"]).toBe(
      first.nextUpdate.toISOString().replace(/\.000Z$/, "Z"),
    );
    expect(metadata.capabilities.map((c) => [c.type, c.produces_mime_types])).toEqual([
      ["vulnerability", [VULNERABILITY_REPORT_MIME]],
      ["sbom", [SBOM_REPORT_MIME]],
    ]);
    const info = scanner.databaseInfo();
    expect(info).toMatchObject({ digest: firstLayer, outdated: false });
    expect(info?.updatedAt.getTime()).toBe(first.updatedAt.getTime());
    // Beyond Harbor's fields: the database's date.
    expect(await scanner.health()).toEqual({
      name: "trivy",
      status: "healthy",
      database_updated_at: first.updatedAt.toISOString().replace(/\.000Z$/, "Z"),
    });
  });

  it("scans against a new database once it is in the repository, and drops the old one", async () => {
    const next = tempDir("trivy-fixtures-2");
    try {
      await writeTrivyDatabase(secondDatabase(now), next.dir);
      const layer = await pushDatabase(new OciClient(registry.url), "trivy-db/trivy-db", "2", databaseLayer(next.dir));
      const id = await scanner.scan(request());
      const result = await waitForReport(scanner, id, VULNERABILITY_REPORT_MIME);
      expect(result.state, JSON.stringify(result)).toBe("ready");
      const vulnerabilities = (result as { report: { vulnerabilities: Array<Record<string, unknown>> } }).report
        .vulnerabilities;
      expect(vulnerabilities.map((v) => v["id"]).sort()).toEqual([BUSYBOX_CVE, MUSL_NEW_CVE, LODASH_GHSA]);
      // The vendor's severity (Alpine's) wins over NVD's for an Alpine advisory.
      expect(vulnerabilities.find((v) => v["id"] === MUSL_NEW_CVE)).toMatchObject({
        package: "musl",
        version: "1.2.5-r1",
        fix_version: "1.2.5-r3",
        severity: "Medium",
      });
      const info = scanner.databaseInfo();
      expect(info).toMatchObject({ digest: layer, outdated: true });
      expect(await scanner.health()).toEqual({
        name: "trivy",
        status: "unhealthy",
        error: "vulnerability database is 30 days old",
        database_updated_at: secondDatabase(now)
          .updatedAt.toISOString()
          .replace(/\.000Z$/, "Z"),
      });
      // One database on disk: the superseded one went with its last scan.
      const databases = path.join(scannerData.dir, "scan", "trivy", "main", "db");
      await until(() => readdirSync(databases).length === 1, 10_000, "the old database to go");
      expect(readdirSync(databases)).toEqual([layer.slice("sha256:".length)]);
      // Another worker's scanner on the same data directory has its own and leaves this one be.
      const worker = await openTrivyScanner(
        resolveTrivyConfig(
          trivyConfigSchema.parse({ binary: TRIVY, databaseRepository: "trivy-db/trivy-db:2" }),
          (file) => file,
        ),
        {
          content: content.content,
          blobs: content.blobs,
          dataDir: scannerData.dir,
          log: createLogger("fatal"),
          instance: "2",
        },
      );
      expect(await worker.refreshDatabase()).toMatchObject({ digest: layer });
      expect(readdirSync(databases)).toEqual([layer.slice("sha256:".length)]);
      expect(readdirSync(path.join(scannerData.dir, "scan", "trivy")).sort()).toEqual(["2", "main"]);
    } finally {
      next.remove();
    }
  }, 180_000);

  it("reads the database through a proxy-cache project, fetched from its upstream once", async () => {
    const upstream = await startTestRegistry();
    const data = tempDir("trivy-proxied");
    try {
      await new HarborClient(upstream.url).createProject("aquasecurity", true);
      const layer = await pushDatabase(
        new OciClient(upstream.url),
        "aquasecurity/trivy-db",
        "2",
        databaseLayer(fixtures.dir),
      );
      const api = new HarborClient(registry.url);
      const endpoint = await api.call("POST", "/registries", {
        body: { name: "ghcr-like", type: "docker-registry", url: upstream.url, insecure: false },
      });
      expect(endpoint.status, endpoint.text).toBe(201);
      const created = await api.call("POST", "/projects", {
        body: {
          project_name: "ghcr",
          registry_id: idFromLocation(endpoint, "/api/v2.0/registries/"),
          metadata: { public: "false" },
        },
      });
      expect(created.status, created.text).toBe(201);
      const proxied = await openTrivyScanner(
        resolveTrivyConfig(
          trivyConfigSchema.parse({ binary: TRIVY, databaseRepository: "ghcr/aquasecurity/trivy-db:2" }),
          (file) => file,
        ),
        { content: content.content, blobs: content.blobs, dataDir: data.dir, log: createLogger("fatal") },
      );
      const before = await requestCounts(upstream);
      expect(await proxied.refreshDatabase()).toMatchObject({ digest: layer, outdated: false });
      const id = await proxied.scan(request());
      const result = await waitForReport(proxied, id, VULNERABILITY_REPORT_MIME);
      expect(result.state, JSON.stringify(result)).toBe("ready");
      const found = (result as { report: { vulnerabilities: Array<{ id: string }> } }).report.vulnerabilities;
      expect(found.map((v) => v.id).sort()).toEqual([BUSYBOX_CVE, LODASH_GHSA]);
      // One fetch of the layer, for the extraction; the scan after it found the database in hand.
      expect(delta(before, await requestCounts(upstream))).toMatchObject({ "GET blob_get": 1 });
      // The registry now holds the layer itself: the upstream may go.
      await upstream.stop();
      const blob = await new OciClient(registry.url).request("HEAD", `/v2/ghcr/aquasecurity/trivy-db/blobs/${layer}`);
      expect(blob.status).toBe(200);
    } finally {
      await upstream.stop();
      data.remove();
    }
  }, 180_000);

  it("ends trivy when the scan's signal aborts", async () => {
    const stalled = await silentListener();
    try {
      const controller = new AbortController();
      const id = await scanner.scan(
        request({ registry: { url: stalled.url, authorization: `Bearer ${token}` } }),
        controller.signal,
      );
      // trivy is running once it knocks at the registry that never answers.
      await until(() => stalled.connections() > 0, 60_000, "trivy to reach the registry");
      expect(processesMentioning(`127.0.0.1:${stalled.port}/`).length).toBeGreaterThan(0);
      controller.abort();
      const result = await waitForReport(scanner, id, VULNERABILITY_REPORT_MIME, 15_000);
      expect(result).toEqual({ state: "failed", message: "the scan was stopped" });
      await until(() => processesMentioning(`127.0.0.1:${stalled.port}/`).length === 0, 5_000, "trivy to exit");
    } finally {
      await stalled.close();
    }
  }, 120_000);

  it("fails a scan that outlasts its timeout, and leaves no trivy behind", async () => {
    const stalled = await silentListener();
    const data = tempDir("trivy-timeout");
    try {
      const quick = await openTrivyScanner(
        resolveTrivyConfig(
          trivyConfigSchema.parse({
            binary: TRIVY,
            databaseRepository: "trivy-db/trivy-db:2",
            scanTimeoutSeconds: 2,
          }),
          (file) => file,
        ),
        {
          content: content.content,
          blobs: content.blobs,
          dataDir: data.dir,
          log: createLogger("fatal"),
          egressTrap: trap.url,
        },
      );
      const started = Date.now();
      const id = await quick.scan(request({ registry: { url: stalled.url, authorization: `Bearer ${token}` } }));
      const result = await waitForReport(quick, id, VULNERABILITY_REPORT_MIME, 60_000);
      expect(result.state).toBe("failed");
      expect(result).toEqual({ state: "failed", message: "trivy did not finish within 2 s" });
      // Stopped at the timeout (SIGTERM, then SIGKILL 2 s later), not whenever trivy gives up.
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(processesMentioning(`127.0.0.1:${stalled.port}/`)).toEqual([]);
    } finally {
      await stalled.close();
      data.remove();
    }
  }, 120_000);

  it("runs no more trivy processes at once than its concurrency", async () => {
    const stalled = await silentListener();
    const data = tempDir("trivy-concurrency");
    try {
      const single = await openTrivyScanner(
        resolveTrivyConfig(
          trivyConfigSchema.parse({ binary: TRIVY, databaseRepository: "trivy-db/trivy-db:2", concurrency: 1 }),
          (file) => file,
        ),
        { content: content.content, blobs: content.blobs, dataDir: data.dir, log: createLogger("fatal") },
      );
      const first = new AbortController();
      const second = new AbortController();
      const stalledRequest = request({ registry: { url: stalled.url, authorization: `Bearer ${token}` } });
      const firstId = await single.scan(stalledRequest, first.signal);
      const secondId = await single.scan(stalledRequest, second.signal);
      await until(() => stalled.connections() > 0, 60_000, "the first trivy to reach the registry");
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(processesMentioning(`127.0.0.1:${stalled.port}/`)).toHaveLength(1);
      expect(await single.report(secondId, VULNERABILITY_REPORT_MIME)).toEqual({
        state: "pending",
        retryAfterSeconds: 5,
      });
      // The first one stopped, the second one gets its turn.
      first.abort();
      expect(await waitForReport(single, firstId, VULNERABILITY_REPORT_MIME, 15_000)).toMatchObject({
        state: "failed",
      });
      const before = stalled.connections();
      await until(() => stalled.connections() > before, 60_000, "the second trivy to start");
      await single.close();
      expect(await waitForReport(single, secondId, VULNERABILITY_REPORT_MIME, 15_000)).toEqual({
        state: "failed",
        message: "the scan was stopped",
      });
      await until(() => processesMentioning(`127.0.0.1:${stalled.port}/`).length === 0, 5_000, "trivy to exit");
    } finally {
      await stalled.close();
      data.remove();
    }
  }, 180_000);

  it("refuses a database artifact Trivy could not read, and says when there is none", async () => {
    const client = new OciClient(registry.url);
    const broken = tempDir("trivy-broken");
    const data = tempDir("trivy-broken-data");
    try {
      await writeTrivyDatabase(firstDatabase(now), broken.dir);
      const metadataFile = path.join(broken.dir, "db", "metadata.json");
      writeFileSync(metadataFile, readFileSync(metadataFile, "utf8").replace('"Version":2', '"Version":1'));
      await pushDatabase(client, "trivy-db/old-schema", "2", databaseLayer(broken.dir));
      const scannerOf = (databaseRepository: string) =>
        openTrivyScanner(
          resolveTrivyConfig(trivyConfigSchema.parse({ binary: TRIVY, databaseRepository }), (f) => f),
          {
            content: content.content,
            blobs: content.blobs,
            dataDir: data.dir,
            log: createLogger("fatal"),
          },
        );
      await expect((await scannerOf("trivy-db/old-schema:2")).refreshDatabase()).rejects.toThrow(
        "the database's schema is 1; Trivy reads schema 2",
      );
      // Nothing half-extracted stays.
      expect(readdirSync(path.join(data.dir, "scan", "trivy", "main", "db"))).toEqual([]);

      const absent = await scannerOf("trivy-db/nothing-here:2");
      expect(await absent.refreshDatabase()).toBeUndefined();
      expect(await absent.health()).toEqual({ name: "trivy", status: "unhealthy", error: "no vulnerability database" });
      const id = await absent.scan(request());
      expect(await waitForReport(absent, id, VULNERABILITY_REPORT_MIME, 30_000)).toEqual({
        state: "failed",
        message: "no Trivy database in trivy-db/nothing-here:2: fill it through a proxy-cache project or an import",
      });
    } finally {
      broken.remove();
      data.remove();
    }
  }, 120_000);

  it("refuses requests that would put something else on trivy's command line", async () => {
    await expect(
      scanner.scan(request({ artifact: { ...request().artifact, repository: "--config=/etc/passwd" } })),
    ).rejects.toThrow("invalid artifact.repository");
    await expect(scanner.scan(request({ artifact: { ...request().artifact, digest: "sha256:zz" } }))).rejects.toThrow(
      "invalid artifact.digest",
    );
    await expect(
      scanner.scan(request({ registry: { url: "http://user:pw@127.0.0.1:1/path", authorization: `Bearer ${token}` } })),
    ).rejects.toThrow("scheme, a host and a port only");
    await expect(scanner.scan(request({ registry: { url: registry.url, authorization: "Token x" } }))).rejects.toThrow(
      "Bearer or Basic",
    );
    await expect(
      scanner.scan(
        request({ enabled_capabilities: [{ type: "sbom", parameters: { sbom_media_types: ["text/plain"] } }] }),
      ),
    ).rejects.toThrow("unsupported SBOM media type");
  });

  it("sent nothing through trivy's proxy: no connection beyond the registry", () => {
    expect(trap.connections()).toBe(0);
    // And left no scratch directory behind.
    expect(readdirSync(path.join(scannerData.dir, "scan", "trivy", "main", "work"))).toEqual([]);
    // Nor logged the token anywhere.
    expect(logs.join("\n")).not.toContain(token);
  });
});

describe.skipIf(!existsSync(TRIVY))("the built-in Trivy scanner and a registry on TLS", () => {
  it("pulls over TLS trusting the configured CA, and refuses the certificate otherwise", async () => {
    const certs = tempDir("trivy-tls");
    const tls = selfSignedCertificate(certs.dir);
    const registry = await startTestRegistry({ tls });
    const data = tempDir("trivy-tls-data");
    const content = await openRegistryContent(registry.dataDir, createLogger("fatal"));
    try {
      const { image, token } = await withCa(readFileSync(tls.certFile, "utf8"), async () => {
        await new HarborClient(registry.url).createProject("library", false);
        const layer = imageLayer([{ name: "busybox", version: "1.36.1-r28" }], {});
        return {
          image: await pushImage(new OciClient(registry.url), "library/app", "1.0", layer),
          token: await registryToken(registry.url, "repository:library/app:pull", ADMIN),
        };
      });
      const scanWith = async (caFile: string | undefined) => {
        const scanner = await openTrivyScanner(
          resolveTrivyConfig(
            trivyConfigSchema.parse({
              binary: TRIVY,
              databaseRepository: "trivy-db/trivy-db:2",
              ...(caFile !== undefined && { caFile }),
            }),
            (file) => file,
          ),
          { content: content.content, blobs: content.blobs, dataDir: data.dir, log: createLogger("fatal") },
        );
        const id = await scanner.scan({
          registry: { url: registry.url, authorization: `Bearer ${token}` },
          artifact: { repository: "library/app", digest: image.digest, mime_type: OCI_MANIFEST },
          enabled_capabilities: [{ type: "sbom", parameters: { sbom_media_types: [SPDX_JSON] } }],
        });
        return waitForReport(scanner, id, SBOM_REPORT_MIME);
      };
      expect(registry.url).toMatch(/^https:/);
      expect((await scanWith(tls.certFile)).state).toBe("ready");
      const refused = await scanWith(undefined);
      expect(refused.state).toBe("failed");
      expect((refused as { message: string }).message).toMatch(/certificate/);
    } finally {
      await content.close();
      await registry.stop();
      data.remove();
      certs.remove();
    }
  }, 180_000);
});

describe.skipIf(!existsSync(TRIVY))("the egress trap", () => {
  it("catches a trivy that does try the internet", async () => {
    const trap = await silentListener();
    const work = tempDir("trivy-egress");
    try {
      // Without --skip-db-update trivy fetches its database from mirror.gcr.io or ghcr.io.
      const child = spawn(
        TRIVY,
        ["image", "--download-db-only", "--cache-dir", work.dir, "--timeout", "20s", "--no-progress"],
        {
          env: { PATH: process.env["PATH"] ?? "", HOME: work.dir, HTTPS_PROXY: trap.url, HTTP_PROXY: trap.url },
          stdio: "ignore",
          timeout: 30_000,
        },
      );
      await until(() => trap.connections() > 0 || child.exitCode !== null, 30_000, "trivy to try the network");
      child.kill("SIGKILL");
      expect(trap.connections()).toBeGreaterThan(0);
    } finally {
      await trap.close();
      work.remove();
    }
  }, 60_000);
});

describe("scanner.trivy in the server configuration", () => {
  it("is resolved with its defaults, and a bad repository is named", () => {
    const config = resolveConfig(
      parseFileConfig(
        {
          dataDir: "/data",
          scanner: { trivy: { databaseRepository: "trivy-db/aquasecurity/trivy-db:2", caFile: "ca.pem" } },
        },
        "test",
      ),
      { adminPassword: "x" },
      "/etc/airlock",
    );
    expect(config.scanner?.trivy).toEqual({
      binary: "trivy",
      database: { repository: "trivy-db/aquasecurity/trivy-db", reference: "2" },
      databaseCheckIntervalMs: 300_000,
      maxDatabaseAgeMs: 7 * DAY_MS,
      maxDatabaseBytes: 8 * 1024 ** 3,
      scanTimeoutMs: 600_000,
      concurrency: 2,
      caFile: "/etc/airlock/ca.pem",
    });
    expect(() => parseFileConfig({ scanner: { trivy: { databaseRepository: "trivy-db:2" } } }, "test")).toThrow(
      /scanner\.trivy\.databaseRepository/,
    );
    // Without the section: no built-in scanner, the scan jobs' defaults.
    expect(resolveConfig(parseFileConfig({ dataDir: "/data" }, "test"), { adminPassword: "x" }, "/").scanner).toEqual({
      scanTimeoutSeconds: 1_800,
      maxDatabaseAgeDays: 7,
    });
  });
});
