// The scanning half of the security gate end to end, through Harbor's API, with the real trivy
// (built from its Go module by scripts/tools/go-tools.sh) run by the server as its built-in
// scanner: one server in this process with `scanner.trivy` configured, one vulnerability database
// written by the tests with Trivy's own database package and pushed into a project as Trivy's
// artifact, and images the tests built, pushed and pulled with crane. The scan finds exactly the
// fixture's advisories; `prevent_vul` refuses the pull with Harbor's messages until an allowlist
// (the project's, or the system's it reuses) exempts them; a database with one more advisory
// changes the overview on a rescan; auto_scan, scan all and scan/stop do what Harbor's do; and,
// beyond Harbor, `prevent_stale_scan` refuses what a too old database scanned.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES } from "../../src/metadata/identity-store.ts";
import { resolveTrivyConfig, trivyConfigSchema } from "../../src/scan/trivy/trivy-config.ts";
import { HarborClient, projectPermissions, type ApiReply, type Credentials } from "../api/harbor-client.ts";
import { OCI_MANIFEST, OciClient, descriptorOf, sha256 } from "../distribution/oci-client.ts";
import { ADMIN, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import {
  databaseLayer,
  imageLayer,
  pushDatabase,
  TOOLS,
  TRIVY,
  writeTrivyDatabase,
  type ApkPackage,
  type DatabaseDescription,
} from "./trivy-fixture.ts";

const DAY_MS = 86_400_000;
const CRANE = path.join(TOOLS, "crane");
const REPORT_MIME = "application/vnd.security.vulnerability.report; version=1.1";
/** How long one scan of a test image may take on a busy machine (trivy runs in a few seconds). */
const SCAN_WAIT_MS = 90_000;
/** The server's limit for `prevent_stale_scan`: the first database is younger, the second older. */
const MAX_DATABASE_AGE_DAYS = 2;

const BUSYBOX_CVE = "CVE-2099-1001";
const MUSL_OLD_CVE = "CVE-2099-1002";
const MUSL_NEW_CVE = "CVE-2099-1003";
const LODASH_GHSA = "GHSA-2099-abcd-wxyz";

const VULNERABLE_APK: ApkPackage[] = [
  { name: "busybox", version: "1.36.1-r28" },
  { name: "musl", version: "1.2.5-r1" },
];
const VULNERABLE_NPM = { lodash: "4.17.20" };

const POLICY_HIGH = `configured policy in 'Prevent images with vulnerability severity of "High" or higher from running.'`;
const ASK_ALLOWLIST =
  "To continue with pull, please contact your project administrator to exempt matched vulnerabilities through configuring the CVE allowlist.";
const NOT_SCANNED = `current image without vulnerability scanning cannot be pulled due to ${POLICY_HIGH} To continue with pull, please contact your project administrator for help.`;

function vulnerableMessage(count: number): string {
  return `current image with ${count} ${count > 1 ? "vulnerabilities" : "vulnerability"} cannot be pulled due to ${POLICY_HIGH} ${ASK_ALLOWLIST}`;
}

/** The first database, a day old: busybox (High) and lodash (Critical) are vulnerable; musl is past its fix. */
function firstDatabase(now: number): DatabaseDescription {
  return {
    updatedAt: new Date(Math.floor((now - DAY_MS) / 1_000) * 1_000),
    nextUpdate: new Date(Math.floor((now + 5 * DAY_MS) / 1_000) * 1_000),
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
      { id: BUSYBOX_CVE, description: "A heap overflow the tests made up.", vendorSeverity: { nvd: "HIGH" } },
      { id: MUSL_OLD_CVE, description: "Fixed long ago.", vendorSeverity: { nvd: "CRITICAL" } },
      {
        id: LODASH_GHSA,
        description: "A prototype pollution the tests made up.",
        vendorSeverity: { ghsa: "CRITICAL" },
      },
    ],
  };
}

/** The second, three days old (beyond the server's limit): one more advisory, for musl (Medium). */
function secondDatabase(now: number): DatabaseDescription {
  const first = firstDatabase(now);
  return {
    updatedAt: new Date(Math.floor((now - 3 * DAY_MS) / 1_000) * 1_000),
    nextUpdate: new Date(Math.floor((now - 2 * DAY_MS) / 1_000) * 1_000),
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

/** An OCI image layout of a one-layer image of `layer` (a gzip'd tar), for crane to push. */
function writeImageLayout(dir: string, layer: Buffer): { digest: string; layerDigest: string; diffId: string } {
  const diffId = sha256(gunzipSync(layer));
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["/bin/sh"] },
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created: "2026-01-01T00:00:00Z", created_by: "ADD rootfs /" }],
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf("application/vnd.oci.image.config.v1+json", config),
    layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
  });
  const blobs = path.join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  for (const content of [config, manifest, layer]) {
    writeFileSync(path.join(blobs, sha256(content).slice("sha256:".length)), content);
  }
  writeFileSync(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    path.join(dir, "index.json"),
    JSON.stringify({ schemaVersion: 2, manifests: [descriptorOf(OCI_MANIFEST, manifest)] }),
  );
  return { digest: sha256(manifest), layerDigest: sha256(layer), diffId };
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface Overview {
  report_id: string;
  scan_status: string;
  severity?: string;
  summary?: { total: number; fixable: number; summary: Record<string, number> };
  scanner?: { name: string; vendor: string; version: string };
  start_time: string;
  end_time: string;
  complete_percent: number;
}

describe.skipIf(!existsSync(TRIVY) || !existsSync(CRANE))("scanning and the vulnerability gate, end to end", () => {
  const now = Date.now();
  let registry: TestRegistry;
  let api: HarborClient;
  let host: string;
  let work: { dir: string; remove: () => void };
  let deployer: Credentials;
  let scannerRobot: Credentials;
  const images: Record<string, { digest: string; layerDigest: string; diffId: string }> = {};
  let firstReport = "";

  /** crane, without blocking the event loop that also serves the registry. */
  async function crane(args: string[], as: Credentials = ADMIN): Promise<Run> {
    const docker = path.join(work.dir, "docker", as.username.replace(/\W/g, "_"));
    if (!existsSync(docker)) {
      mkdirSync(docker, { recursive: true });
      const auth = Buffer.from(`${as.username}:${as.password}`).toString("base64");
      writeFileSync(path.join(docker, "config.json"), JSON.stringify({ auths: { [host]: { auth } } }));
    }
    return new Promise<Run>((resolve, reject) => {
      const child = spawn(CRANE, [...args, "--insecure"], {
        env: { PATH: process.env["PATH"], HOME: work.dir, DOCKER_CONFIG: docker },
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 60_000,
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
  }

  /** Builds an image of these packages and pushes it with crane to prod/<reference>. */
  async function pushWithCrane(reference: string, apk: ApkPackage[], npm: Record<string, string>): Promise<string> {
    const layout = path.join(work.dir, "layouts", reference.replace(/\W/g, "_"));
    const image = writeImageLayout(layout, imageLayer(apk, npm));
    const pushed = await crane(["push", layout, `${host}/prod/${reference}`]);
    expect(pushed.status, pushed.stderr).toBe(0);
    images[reference] = image;
    return image.digest;
  }

  async function token(as: Credentials, repository = "prod/app"): Promise<string> {
    const scope = encodeURIComponent(`repository:${repository}:pull`);
    const reply = await api.call("GET", `/service/token?service=airlock&scope=${scope}`, { auth: as });
    expect(reply.status, reply.text).toBe(200);
    return (reply.json as { token: string }).token;
  }

  /** A GET of a manifest with a bearer token of `as`, as docker and containerd pull. */
  async function pull(reference: string, as: Credentials, repository = "prod/app"): Promise<Response> {
    return new OciClient(api.base, null).request("GET", `/v2/${repository}/manifests/${reference}`, {
      headers: { Accept: OCI_MANIFEST, Authorization: `Bearer ${await token(as, repository)}` },
    });
  }

  async function expectRefused(response: Response, message: string): Promise<void> {
    expect(response.status).toBe(412);
    expect(await response.json()).toEqual({ errors: [{ code: "PROJECTPOLICYVIOLATION", message }] });
  }

  async function expectPulled(response: Response, digest: string | undefined): Promise<void> {
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get("docker-content-digest")).toBe(digest);
  }

  async function putProject(project: string, body: Record<string, unknown>): Promise<void> {
    const reply = await api.call("PUT", `/projects/${project}`, { body });
    expect(reply.status, reply.text).toBe(200);
  }

  function artifactPath(reference: string, repository = "app", project = "prod"): string {
    return `/projects/${project}/repositories/${repository}/artifacts/${reference}`;
  }

  /** The artifact's scan overview (the listing's, with_scan_overview), for the report MIME type. */
  async function overview(digest: string, repository = "app", project = "prod"): Promise<Overview | undefined> {
    const reply = await api.get(
      `/projects/${project}/repositories/${repository}/artifacts?with_scan_overview=true&page_size=100`,
      ADMIN,
      { "X-Accept-Vulnerabilities": REPORT_MIME },
    );
    expect(reply.status, reply.text).toBe(200);
    const artifact = (reply.json as Array<{ digest: string; scan_overview?: Record<string, Overview> }>).find(
      (a) => a.digest === digest,
    );
    return artifact?.scan_overview?.[REPORT_MIME];
  }

  /** Polls the overview until its scan has ended (bounded); the overview. */
  async function scanEnded(digest: string, repository = "app", project = "prod"): Promise<Overview> {
    const deadline = Date.now() + SCAN_WAIT_MS;
    let last: Overview | undefined;
    for (let attempt = 0; attempt < 1_000 && Date.now() < deadline; attempt++) {
      last = await overview(digest, repository, project);
      if (last && ["Success", "Error", "Stopped"].includes(last.scan_status)) return last;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`the scan of ${digest} has not ended: ${JSON.stringify(last)}`);
  }

  async function scan(reference: string): Promise<ApiReply> {
    return api.call("POST", `${artifactPath(reference)}/scan`);
  }

  async function pushDatabaseFrom(description: DatabaseDescription, name: string): Promise<void> {
    const dir = path.join(work.dir, name);
    mkdirSync(dir);
    await writeTrivyDatabase(description, dir);
    await pushDatabase(new OciClient(registry.url), "trivy-db/trivy-db", "2", databaseLayer(dir));
  }

  beforeAll(async () => {
    work = tempDir("scan-gate");
    registry = await startTestRegistry({
      scanner: {
        trivy: resolveTrivyConfig(
          trivyConfigSchema.parse({
            binary: TRIVY,
            databaseRepository: "trivy-db/trivy-db:2",
            // The repository's tag is looked at before each scan: a new database is used at once.
            databaseCheckIntervalSeconds: 0,
            maxDatabaseAgeDays: MAX_DATABASE_AGE_DAYS,
            scanTimeoutSeconds: 120,
          }),
          (file) => file,
        ),
        scanTimeoutSeconds: 120,
        maxDatabaseAgeDays: MAX_DATABASE_AGE_DAYS,
      },
    });
    host = `127.0.0.1:${new URL(registry.url).port}`;
    api = new HarborClient(registry.url);
    await api.createProject("trivy-db", false);
    await api.createProject("prod", false);
    await api.createUser("deployer", "Deployer-pass-1");
    await api.addMember("prod", "deployer", ROLES.guest);
    deployer = { username: "deployer", password: "Deployer-pass-1" };
    const robot = await api.createRobot({
      name: "scanner",
      level: "project",
      duration: -1,
      permissions: projectPermissions("prod", [
        ["repository", "pull"],
        ["repository", "scanner-pull"],
      ]),
    });
    scannerRobot = { username: robot.name, password: robot.secret };
    await pushDatabaseFrom(firstDatabase(now), "db-1");
    await pushWithCrane("app:1.0", VULNERABLE_APK, VULNERABLE_NPM);
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    work?.remove();
  });

  it("registers the built-in Trivy scanner as the default, its metadata dated by the database", async () => {
    const list = await api.get("/scanners");
    expect(list.status, list.text).toBe(200);
    const scanners = list.json as Array<Record<string, unknown>>;
    expect(scanners).toHaveLength(1);
    expect(scanners[0]).toMatchObject({
      name: "Trivy",
      url: "builtin://trivy",
      is_default: true,
      disabled: false,
      health: "healthy",
      adapter: "Trivy",
      vendor: "Aqua Security",
      version: "0.74.0",
    });
    const metadata = await api.get(`/scanners/${String(scanners[0]?.["uuid"])}/metadata`);
    expect(metadata.status, metadata.text).toBe(200);
    const first = firstDatabase(now);
    expect((metadata.json as { properties: Record<string, string> }).properties).toMatchObject({
      "harbor.scanner-adapter/vulnerability-database-updated-at": first.updatedAt.toISOString().replace(".000Z", "Z"),
      "harbor.scanner-adapter/vulnerability-database-next-update-at": first.nextUpdate
        .toISOString()
        .replace(".000Z", "Z"),
    });
  });

  it("scans images only, as Harbor does: not the database artifact", async () => {
    const refused = await api.call("POST", "/projects/trivy-db/repositories/trivy-db/artifacts/2/scan");
    expect(refused.status, refused.text).toBe(400);
    expect(refused.json).toEqual({
      errors: [
        {
          code: "BAD_REQUEST",
          message: `the configured scanner Trivy does not support scanning artifact with mime type ${OCI_MANIFEST}`,
        },
      ],
    });
  });

  it("scans an image on request: the overview, the report and the log show exactly the fixture's advisories", async () => {
    const digest = images["app:1.0"]?.digest ?? "";
    expect(await overview(digest)).toBeUndefined();
    const started = await scan("1.0");
    expect(started.status, started.text).toBe(202);
    // Asked again while the first is under way: Harbor's 409.
    const again = await scan("1.0");
    expect(again.status, again.text).toBe(409);
    expect(again.json).toMatchObject({ errors: [{ code: "CONFLICT" }] });

    const ended = await scanEnded(digest);
    expect(ended).toMatchObject({
      scan_status: "Success",
      severity: "Critical",
      summary: { total: 2, fixable: 2, summary: { Critical: 1, High: 1 } },
      scanner: { name: "Trivy", vendor: "Aqua Security", version: "0.74.0" },
      complete_percent: 100,
    });
    expect(Date.parse(ended.end_time)).toBeGreaterThanOrEqual(Date.parse(ended.start_time));
    firstReport = ended.report_id;

    const additions = await api.get(`${artifactPath("1.0")}/additions/vulnerabilities`);
    expect(additions.status, additions.text).toBe(200);
    const report = (additions.json as Record<string, { vulnerabilities: Array<Record<string, unknown>> }>)[REPORT_MIME];
    const found = (report?.vulnerabilities ?? [])
      .map((v) => [v["id"], v["package"], v["version"], v["fix_version"], v["severity"]])
      .sort();
    expect(found).toEqual([
      [BUSYBOX_CVE, "busybox", "1.36.1-r28", "1.36.1-r30", "High"],
      [LODASH_GHSA, "lodash", "4.17.20", "4.17.21", "Critical"],
    ]);

    const log = await api.get(`${artifactPath(digest)}/scan/${firstReport}/log`);
    expect(log.status, log.text).toBe(200);
    expect(log.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(log.text).toContain(`[INFO] scanning prod/app@${digest} with Trivy 0.74.0`);
    expect(log.text).toContain(`${REPORT_MIME}: 2 vulnerabilities, highest Critical`);

    // Only the artifact's own reports' logs; a malformed id is not found either.
    await pushWithCrane("other:1.0", [{ name: "musl", version: "1.2.5-r1" }], {});
    const elsewhere = await api.get(`${artifactPath("1.0", "other")}/scan/${firstReport}/log`);
    expect(elsewhere.status, elsewhere.text).toBe(404);
    const malformed = await api.get(`${artifactPath(digest)}/scan/%E0%A4%A/log`);
    expect(malformed.status, malformed.text).toBe(404);
    expect(malformed.json).toMatchObject({ errors: [{ code: "NOT_FOUND" }] });
    const addition = await api.get(`${artifactPath(digest)}/additions/%E0%A4%A`);
    expect(addition.status, addition.text).toBe(400);
    expect(addition.json).toMatchObject({ errors: [{ code: "BAD_REQUEST" }] });

    // Once ended, a new scan makes a new report.
    expect((await scan("1.0")).status).toBe(202);
    const rescanned = await scanEnded(digest);
    expect(rescanned.scan_status).toBe("Success");
    expect(rescanned.report_id).not.toBe(firstReport);
    expect(rescanned.summary?.total).toBe(2);
  }, 240_000);

  it("refuses vulnerable and unscanned images with Harbor's messages, until an allowlist exempts them", async () => {
    const digest = images["app:1.0"]?.digest;
    await putProject("prod", { metadata: { prevent_vul: "true", severity: "high" } });
    await expectRefused(await pull("1.0", deployer), vulnerableMessage(2));
    const head = await new OciClient(api.base, null).request("HEAD", "/v2/prod/app/manifests/1.0", {
      headers: { Accept: OCI_MANIFEST, Authorization: `Bearer ${await token(deployer)}` },
    });
    expect(head.status).toBe(412);
    expect(head.headers.get("docker-content-digest")).toBeNull();
    const refused = await crane(["manifest", `${host}/prod/app:1.0`], deployer);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain(`PROJECTPOLICYVIOLATION: ${vulnerableMessage(2)}`);

    // The administrator and a robot with scanner-pull still pull, with a token and with crane.
    await expectPulled(await pull("1.0", ADMIN), digest);
    await expectPulled(await pull("1.0", scannerRobot), digest);
    for (const as of [ADMIN, scannerRobot]) {
      const pulled = await crane(["manifest", `${host}/prod/app:1.0`], as);
      expect(pulled.status, pulled.stderr).toBe(0);
      expect(sha256(pulled.stdout)).toBe(digest);
    }

    // An image nobody scanned yet.
    await pushWithCrane("app:2.0", [{ name: "busybox", version: "1.36.1-r30" }], {});
    await expectRefused(await pull("2.0", deployer), NOT_SCANNED);

    // The project's allowlist: one of the two left is still High.
    await putProject("prod", { cve_allowlist: { items: [{ cve_id: LODASH_GHSA }] } });
    await expectRefused(await pull("1.0", deployer), vulnerableMessage(1));
    await putProject("prod", { cve_allowlist: { items: [{ cve_id: LODASH_GHSA }, { cve_id: BUSYBOX_CVE }] } });
    await expectPulled(await pull("1.0", deployer), digest);
    const pulled = await crane(["manifest", `${host}/prod/app:1.0`], deployer);
    expect(pulled.status, pulled.stderr).toBe(0);

    // Reusing the system's allowlist instead: empty, then holding both.
    await putProject("prod", { metadata: { reuse_sys_cve_allowlist: "true" } });
    await expectRefused(await pull("1.0", deployer), vulnerableMessage(2));
    const system = await api.call("PUT", "/system/CVEAllowlist", {
      body: { items: [{ cve_id: BUSYBOX_CVE }, { cve_id: LODASH_GHSA }] },
    });
    expect(system.status, system.text).toBe(200);
    await expectPulled(await pull("1.0", deployer), digest);
    // An expired system allowlist no longer applies.
    const expired = await api.call("PUT", "/system/CVEAllowlist", {
      body: {
        expires_at: Math.floor(Date.now() / 1_000) - 60,
        items: [{ cve_id: BUSYBOX_CVE }, { cve_id: LODASH_GHSA }],
      },
    });
    expect(expired.status, expired.text).toBe(200);
    await expectRefused(await pull("1.0", deployer), vulnerableMessage(2));
    await putProject("prod", { metadata: { reuse_sys_cve_allowlist: "false" } });
    await expectPulled(await pull("1.0", deployer), digest);
  }, 120_000);

  it("rescans against a new database in the repository and updates the overview", async () => {
    const digest = images["app:1.0"]?.digest ?? "";
    await pushDatabaseFrom(secondDatabase(now), "db-2");
    expect((await scan("1.0")).status).toBe(202);
    const ended = await scanEnded(digest);
    expect(ended).toMatchObject({
      scan_status: "Success",
      severity: "Critical",
      summary: { total: 3, fixable: 3, summary: { Critical: 1, High: 1, Medium: 1 } },
    });
    // The database in use is now older than the server's limit: /health says so.
    const health = await api.get("/health", null);
    expect((health.json as { components: Array<Record<string, string>> }).components).toContainEqual({
      name: "trivy",
      status: "unhealthy",
      error: "vulnerability database is 3 days old",
      database_updated_at: secondDatabase(now).updatedAt.toISOString().replace(".000Z", "Z"),
    });
    const additions = await api.get(`${artifactPath("1.0")}/additions/vulnerabilities`);
    const report = (additions.json as Record<string, { vulnerabilities: Array<{ id: string; package: string }> }>)[
      REPORT_MIME
    ];
    expect(report?.vulnerabilities.map((v) => `${v.id} ${v.package}`).sort()).toEqual([
      `${BUSYBOX_CVE} busybox`,
      `${MUSL_NEW_CVE} musl`,
      `${LODASH_GHSA} lodash`,
    ]);
    // The allowlist no longer covers everything: the new Medium is under the project's High.
    await expectPulled(await pull("1.0", deployer), digest);
    await putProject("prod", { metadata: { severity: "medium" } });
    await expectRefused(
      await pull("1.0", deployer),
      vulnerableMessage(1).replace('"High" or higher', '"Medium" or higher'),
    );
    await putProject("prod", { metadata: { severity: "high" } });
  }, 180_000);

  it("beyond Harbor, refuses images scanned with a database older than the limit under prevent_stale_scan", async () => {
    const digest = images["app:1.0"]?.digest;
    // The last scan used the second database, three days old; the limit is two.
    await putProject("prod", { metadata: { prevent_stale_scan: "true" } });
    await expectRefused(
      await pull("1.0", deployer),
      `current image was scanned with a vulnerability database 3 days old (the limit is ${MAX_DATABASE_AGE_DAYS}), so its scan cannot vouch for it: rescan it`,
    );
    await putProject("prod", { metadata: { prevent_stale_scan: "false" } });
    await expectPulled(await pull("1.0", deployer), digest);
  });

  it("scans on push with auto_scan, and stops a scan under way", async () => {
    await putProject("prod", { metadata: { auto_scan: "true" } });
    const digest = await pushWithCrane("auto:1.0", VULNERABLE_APK, {});
    const ended = await scanEnded(digest, "auto");
    expect(ended).toMatchObject({
      scan_status: "Success",
      severity: "High",
      summary: { total: 2, summary: { High: 1, Medium: 1 } },
    });
    await putProject("prod", { metadata: { auto_scan: "false" } });

    // Nothing to stop once it has ended: Harbor's 400.
    const none = await api.call("POST", `${artifactPath("1.0", "auto")}/scan/stop`);
    expect(none.status, none.text).toBe(400);
    // A scan stopped while under way ends Stopped.
    expect((await api.call("POST", `${artifactPath("1.0", "auto")}/scan`)).status).toBe(202);
    const stop = await api.call("POST", `${artifactPath("1.0", "auto")}/scan/stop`);
    expect(stop.status, stop.text).toBe(202);
    const stopped = await scanEnded(digest, "auto");
    expect(stopped.scan_status).toBe("Stopped");
  }, 180_000);

  it("scans every artifact with scan all, and reports its metrics", async () => {
    const schedule = await api.call("POST", "/system/scanAll/schedule", { body: { schedule: { type: "Manual" } } });
    expect(schedule.status, schedule.text).toBe(201);
    const deadline = Date.now() + 4 * SCAN_WAIT_MS;
    let metrics: Record<string, unknown> = {};
    for (let attempt = 0; attempt < 2_000 && Date.now() < deadline; attempt++) {
      const reply = await api.get("/scans/all/metrics");
      expect(reply.status, reply.text).toBe(200);
      metrics = reply.json as Record<string, unknown>;
      if (metrics["ongoing"] === false) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // The four images of prod, each once; not the two database artifacts of trivy-db (Harbor
    // scans images only), which trivy could not read as images.
    expect(metrics).toEqual({
      total: 4,
      completed: 4,
      metrics: { Pending: 0, Running: 0, Success: 4, Error: 0, Stopped: 0 },
      ongoing: false,
      trigger: "Manual",
    });
    const stopped = await overview(images["auto:1.0"]?.digest ?? "", "auto");
    expect(stopped).toMatchObject({ scan_status: "Success", summary: { total: 2 } });
    // app:2.0 had never been scanned: now it has, and it pulls (nothing of High or above).
    const unscanned = await overview(images["app:2.0"]?.digest ?? "");
    expect(unscanned).toMatchObject({ scan_status: "Success", summary: { total: 0 } });
    await expectPulled(await pull("2.0", deployer), images["app:2.0"]?.digest);
  }, 480_000);
});
