// An external scanner adapter, as Harbor drives one: registered through /api/v2.0/scanners with an
// API key, chosen by a project, asked to scan an image and an index's children over HTTP on
// 127.0.0.1 (fake-scanner-adapter.ts, speaking the adapter API v1.2). The adapter uses the pull
// token it is given against this registry for real: it pulls that repository and nothing else.
// Then the reports: pending answers, the overview and the vulnerabilities addition, an adapter's
// error, a scan that never ends (the scan time limit), a stopped scan, Harbor's 412 and 400, and
// scan-all with its metrics and schedule.

import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VULNERABILITY_REPORT_MIME } from "../../src/scan/scanner-adapter.ts";
import { ADMIN, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { OCI_MANIFEST, OciClient } from "../distribution/oci-client.ts";
import { pushChart, pushIndex, pushRichImage, type Pushed, type PushedIndex } from "../api/artifact-fixture.ts";
import { expectError, HarborClient, type ApiReply, type Credentials } from "../api/harbor-client.ts";
import { FakeScannerAdapter, type AcceptedScan, type ScanAnswer } from "./fake-scanner-adapter.ts";

const ORAS = path.resolve(import.meta.dirname, "../../../.tools/bin/oras");
const API_KEY = "Adapter-Api-Key-Quite-Distinctive-42";
const SCAN_TIMEOUT_SECONDS = 4;
const USER: Credentials = { username: "adapter-user", password: "Adapter-user-password1" };

interface Overview {
  report_id: string;
  scan_status: string;
  severity?: string;
  summary?: { total: number; fixable: number; summary: Record<string, number> };
  scanner?: { name: string; vendor: string; version: string };
  complete_percent: number;
}

/** What the adapter found when it used a scan's pull token against the registry. */
interface TokenUse {
  manifest: number;
  blob: number;
  sibling: number;
  otherProject: number;
  push: number;
  claims: { exp: number; iat: number; access: unknown };
}

function report(vulnerabilities: Array<Record<string, string>>): ScanAnswer {
  return {
    report: {
      generated_at: "2024-06-01T00:00:00Z",
      scanner: { name: "Fake", vendor: "Airlock tests", version: "1.2.3" },
      severity: "Unknown",
      vulnerabilities,
    },
  };
}

/** Polls `read` until `done` holds, at most `waitMs` and 200 times. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, waitMs: number, what: string): Promise<T> {
  const deadline = Date.now() + waitMs;
  let last: T | undefined;
  for (let attempt = 0; attempt < 200 && Date.now() < deadline; attempt++) {
    last = await read();
    if (done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not reached within ${waitMs} ms; last ${JSON.stringify(last)}`);
}

describe("an external scanner adapter", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let oci: OciClient;
  const adapter = new FakeScannerAdapter();
  const uses = new Map<string, TokenUse>();
  /** The adapter's answer per repository (the report by default). */
  const answers = new Map<string, ScanAnswer>();
  let projectId: number;
  let uuid: string;
  let image: Pushed;
  let sibling: Pushed;
  let index: PushedIndex;

  const artifactPath = (repository: string, reference: string): string =>
    `/projects/ext-scan/repositories/${encodeURIComponent(repository)}/artifacts/${reference}`;

  async function overviewOf(repository: string, reference: string): Promise<Overview | undefined> {
    const reply = await api.get(`${artifactPath(repository, reference)}?with_scan_overview=true`);
    expect(reply.status, reply.text).toBe(200);
    const json = reply.json as { scan_overview?: Record<string, Overview> };
    return json.scan_overview?.[VULNERABILITY_REPORT_MIME];
  }

  async function scanned(repository: string, reference: string, status: string, waitMs = 15_000): Promise<Overview> {
    const overview = await until(
      () => overviewOf(repository, reference),
      (o) => o?.scan_status === status,
      waitMs,
      `${repository}:${reference} ${status}`,
    );
    return overview!;
  }

  function scan(repository: string, reference: string, auth?: Credentials): Promise<ApiReply> {
    return api.call("POST", `${artifactPath(repository, reference)}/scan`, { ...(auth && { auth }) });
  }

  /** The adapter's use of the pull token: what the registry answers to each request. */
  async function useToken(accepted: AcceptedScan): Promise<void> {
    const { registry: target, artifact } = accepted.request;
    const headers = { Authorization: target.authorization };
    const status = async (method: string, path: string, accept?: string): Promise<number> => {
      const response = await fetch(`${target.url}${path}`, {
        method,
        headers: { ...headers, ...(accept && { Accept: accept }) },
        signal: AbortSignal.timeout(5_000),
      });
      await response.arrayBuffer();
      return response.status;
    };
    const manifestResponse = await fetch(`${target.url}/v2/${artifact.repository}/manifests/${artifact.digest}`, {
      headers: { ...headers, Accept: artifact.mime_type },
      signal: AbortSignal.timeout(5_000),
    });
    const manifest = (await manifestResponse.json()) as { config: { digest: string } };
    const payload = target.authorization.replace(/^Bearer /, "").split(".")[1] ?? "";
    uses.set(accepted.id, {
      manifest: manifestResponse.status,
      blob: await status("GET", `/v2/${artifact.repository}/blobs/${manifest.config.digest}`),
      sibling: await status("GET", `/v2/ext-scan/sibling/manifests/v1`, OCI_MANIFEST),
      otherProject: await status("GET", `/v2/ext-other/app/manifests/v1`, OCI_MANIFEST),
      push: await status("POST", `/v2/${artifact.repository}/blobs/uploads/`),
      claims: JSON.parse(Buffer.from(payload, "base64url").toString()) as TokenUse["claims"],
    });
  }

  beforeAll(async () => {
    await adapter.start();
    adapter.requiredHeader = { name: "x-scanneradapter-api-key", value: API_KEY };
    adapter.pendingPolls = 2;
    adapter.refreshAfter = 1;
    adapter.onScan = useToken;
    adapter.answer = (accepted) => answers.get(accepted.request.artifact.repository);
    registry = await startTestRegistry({
      scanner: { scanTimeoutSeconds: SCAN_TIMEOUT_SECONDS, maxDatabaseAgeDays: 30 },
    });
    api = new HarborClient(registry.url);
    oci = new OciClient(registry.url);
    await api.createUser(USER.username, USER.password);
    projectId = await api.createProject("ext-scan", false);
    await api.createProject("ext-other", false);
    await api.addMember("ext-scan", USER.username, 2);
    image = await pushRichImage(oci, "ext-scan/app", "v1", { seed: "app" });
    sibling = await pushRichImage(oci, "ext-scan/sibling", "v1", { seed: "sibling" });
    await pushRichImage(oci, "ext-other/app", "v1", { seed: "other" });
    index = await pushIndex(oci, "ext-scan/multi", "v1");
  });
  afterAll(async () => {
    await registry?.stop();
    await adapter.stop();
  });

  it("answers Harbor's 412 while the project has no scanner", async () => {
    expectError(
      await api.get("/scans/all/metrics"),
      412,
      "PRECONDITION",
      /^no scanner is configured, it's not possible to scan$/,
    );
    expectError(
      await scan("app", "v1"),
      412,
      "PRECONDITION",
      new RegExp(`^no available scanner for project: ${projectId}$`),
    );
  });

  it("registers the adapter with its API key and makes it the project's scanner", async () => {
    const created = await api.call("POST", "/scanners", {
      body: { name: "external", url: adapter.url, auth: "X-ScannerAdapter-API-Key", access_credential: API_KEY },
    });
    expect(created.status, created.text).toBe(201);
    uuid = (created.headers.get("location") ?? "").split("/").pop() ?? "";
    const set = await api.call("PUT", "/projects/ext-scan/scanner", { body: { uuid } });
    expect(set.status, set.text).toBe(200);
    const chosen = await api.get("/projects/ext-scan/scanner");
    expect(chosen.json).toMatchObject({ uuid, name: "external", health: "healthy" });
    expect(registry.logs.join("\n")).not.toContain(API_KEY);
  });

  it("sends the adapter a scan request with the registry's URL and a pull token of that repository only", async () => {
    adapter.scans.length = 0;
    const reply = await scan("app", "v1");
    expect(reply.status, reply.text).toBe(202);
    const overview = await scanned("app", "v1", "Success");
    expect(adapter.scans).toHaveLength(1);
    const [accepted] = adapter.scans;
    expect(accepted?.headers["x-scanneradapter-api-key"]).toBe(API_KEY);
    expect(accepted?.request.registry.url).toBe(registry.url);
    expect(accepted?.request.artifact).toMatchObject({
      repository: "ext-scan/app",
      digest: image.digest,
      mime_type: OCI_MANIFEST,
    });
    expect(accepted?.request.registry.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    const use = uses.get(accepted?.id ?? "");
    expect(use).toMatchObject({ manifest: 200, blob: 200 });
    // Another repository of the project, one of another project, and a push are all refused.
    expect([401, 403]).toContain(use?.sibling);
    expect([401, 403]).toContain(use?.otherProject);
    expect([401, 403]).toContain(use?.push);
    expect((use?.claims.exp ?? 0) - (use?.claims.iat ?? 0)).toBe(SCAN_TIMEOUT_SECONDS + 60);
    expect(use?.claims.access).toEqual([
      { type: "repository", name: "ext-scan/app", actions: ["pull", "scanner-pull"] },
    ]);
    // Two 302s with Refresh-After, then the report.
    const polls = adapter.requests.filter((r) => r.path === `/api/v1/scan/${accepted?.id}/report`);
    expect(polls).toHaveLength(3);
    expect(polls[0]?.headers["accept"]).toBe(VULNERABILITY_REPORT_MIME);
    expect(overview).toMatchObject({
      scan_status: "Success",
      severity: "High",
      summary: { total: 1, fixable: 0, summary: { High: 1 } },
      scanner: { name: "Fake", vendor: "Airlock tests", version: "1.2.3" },
      complete_percent: 100,
    });
    const additions = await api.get(`${artifactPath("app", "v1")}/additions/vulnerabilities`);
    expect(additions.status, additions.text).toBe(200);
    const byMime = additions.json as Record<string, { vulnerabilities: Array<{ id: string }> }>;
    expect(byMime[VULNERABILITY_REPORT_MIME]?.vulnerabilities.map((v) => v.id)).toEqual(["CVE-2024-0001"]);
  });

  it("scans each child of an index in a task of its own and merges their overviews", async () => {
    const [amd64, arm64] = index.children;
    adapter.scans.length = 0;
    const byDigest = new Map<string, ScanAnswer>([
      [amd64!.digest, report([{ id: "CVE-1", package: "a", version: "1", fix_version: "2", severity: "Critical" }])],
      [
        arm64!.digest,
        report([
          { id: "CVE-2", package: "b", version: "1", severity: "Medium" },
          { id: "CVE-3", package: "c", version: "1", severity: "Low" },
        ]),
      ],
    ]);
    adapter.answer = (accepted) => byDigest.get(accepted.request.artifact.digest);
    try {
      const reply = await scan("multi", "v1");
      expect(reply.status, reply.text).toBe(202);
      const overview = await scanned("multi", "v1", "Success", 20_000);
      expect(adapter.scans.map((s) => s.request.artifact.digest).sort()).toEqual([amd64!.digest, arm64!.digest].sort());
      expect(adapter.scans.every((s) => s.request.artifact.mime_type === OCI_MANIFEST)).toBe(true);
      const children = [await overviewOf("multi", amd64!.digest), await overviewOf("multi", arm64!.digest)];
      expect(children.map((c) => c?.summary?.total)).toEqual([1, 2]);
      // Harbor's "a|b": the children's report ids (in the store's order of the children).
      expect(overview.report_id.split("|").sort()).toEqual(children.map((c) => c?.report_id).sort());
      expect(overview).toMatchObject({
        scan_status: "Success",
        severity: "Critical",
        summary: { total: 3, fixable: 1, summary: { Critical: 1, Medium: 1, Low: 1 } },
      });
      // One task per child: each report's log is its own child's.
      for (const [i, child] of index.children.entries()) {
        const log = await api.get(`${artifactPath("multi", "v1")}/scan/${children[i]?.report_id}/log`);
        expect(log.status, log.text).toBe(200);
        expect(log.text).toContain(`ext-scan/multi@${child.digest}`);
        expect(log.text).not.toContain(`ext-scan/multi@${index.children[1 - i]!.digest}`);
      }
      const both = await api.get(`${artifactPath("multi", "v1")}/scan/${encodeURIComponent(overview.report_id)}/log`);
      expect(both.text).toContain(`---------- Logs of report ${children[0]?.report_id} ----------`);
      const additions = await api.get(`${artifactPath("multi", "v1")}/additions/vulnerabilities`);
      const byMime = additions.json as Record<string, { vulnerabilities: Array<{ id: string }> }>;
      expect(byMime[VULNERABILITY_REPORT_MIME]?.vulnerabilities.map((v) => v.id).sort()).toEqual([
        "CVE-1",
        "CVE-2",
        "CVE-3",
      ]);
    } finally {
      adapter.answer = (accepted) => answers.get(accepted.request.artifact.repository);
    }
  });

  it("ends a report in Error with the adapter's message from its error document", async () => {
    answers.set("ext-scan/sibling", { error: "the vulnerability database is locked" });
    const reply = await scan("sibling", "v1");
    expect(reply.status, reply.text).toBe(202);
    const overview = await scanned("sibling", "v1", "Error");
    expect(overview.summary).toBeUndefined();
    const log = await api.get(`${artifactPath("sibling", "v1")}/scan/${overview.report_id}/log`);
    expect(log.status, log.text).toBe(200);
    expect(log.text).toContain("the vulnerability database is locked");
    expect(sibling.digest).toMatch(/^sha256:/);
  });

  it("gives up a scan the adapter never finishes after scanTimeoutSeconds", async () => {
    await pushRichImage(oci, "ext-scan/slow", "v1", { seed: "slow" });
    answers.set("ext-scan/slow", "never");
    const started = Date.now();
    expect((await scan("slow", "v1")).status).toBe(202);
    const overview = await scanned("slow", "v1", "Error", (SCAN_TIMEOUT_SECONDS + 10) * 1_000);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(SCAN_TIMEOUT_SECONDS * 1_000 - 500);
    const log = await api.get(`${artifactPath("slow", "v1")}/scan/${overview.report_id}/log`);
    expect(log.text).toContain(`the scan took longer than ${SCAN_TIMEOUT_SECONDS} s`);
  });

  it("stops a pending scan: Stopped", async () => {
    await pushRichImage(oci, "ext-scan/stopped", "v1", { seed: "stopped" });
    answers.set("ext-scan/stopped", "never");
    const before = adapter.scans.length;
    expect((await scan("stopped", "v1")).status).toBe(202);
    await until(
      async () => adapter.scans.length,
      (n) => n > before,
      5_000,
      "the adapter's scan request",
    );
    const stop = await api.call("POST", `${artifactPath("stopped", "v1")}/scan/stop`);
    expect(stop.status, stop.text).toBe(202);
    await scanned("stopped", "v1", "Stopped", 5_000);
  });

  it("answers 412 for a disabled scanner and 400 for an artifact the scanner does not consume", async () => {
    const spare = await api.call("POST", "/scanners", {
      body: {
        name: "spare",
        url: `${adapter.url}/spare`,
        auth: "X-ScannerAdapter-API-Key",
        access_credential: API_KEY,
      },
    });
    expect(spare.status, spare.text).toBe(201);
    const spareUuid = (spare.headers.get("location") ?? "").split("/").pop() ?? "";
    await api.createProject("ext-off", false);
    await pushRichImage(oci, "ext-off/app", "v1", { seed: "off" });
    expect((await api.call("PUT", "/projects/ext-off/scanner", { body: { uuid: spareUuid } })).status).toBe(200);
    const disable = await api.call("PUT", `/scanners/${spareUuid}`, {
      body: { name: "spare", url: `${adapter.url}/spare`, auth: "X-ScannerAdapter-API-Key", disabled: true },
    });
    expect(disable.status, disable.text).toBe(200);
    const refused = await api.call("POST", "/projects/ext-off/repositories/app/artifacts/v1/scan");
    expectError(refused, 412, "PRECONDITION", /^scanner spare is disabled$/);

    // An artifact oras pushes (an OCI manifest with an empty config) is not an image either.
    const work = tempDir("oras");
    try {
      writeFileSync(path.join(work.dir, "notes.txt"), "release notes\n");
      const host = new URL(registry.url).host;
      await promisify(execFile)(
        ORAS,
        ["push", "--plain-http", "--username", ADMIN.username, "--password", ADMIN.password].concat([
          "--artifact-type",
          "application/vnd.example.notes",
          `${host}/ext-scan/notes:v1`,
          "notes.txt",
        ]),
        { cwd: work.dir, env: { ...process.env, HOME: work.dir }, timeout: 30_000 },
      );
    } finally {
      work.remove();
    }
    expectError(
      await scan("notes", "v1"),
      400,
      "BAD_REQUEST",
      /^the configured scanner external does not support scanning artifact with mime type /,
    );
    await pushChart(oci, "ext-scan/chart", "1.0.0");
    expectError(
      await scan("chart", "1.0.0"),
      400,
      "BAD_REQUEST",
      new RegExp(
        `^the configured scanner external does not support scanning artifact with mime type ${OCI_MANIFEST.replace(/[.+]/g, "\\$&")}$`,
      ),
    );
  });

  it("runs scan all by hand and reports Harbor's Stats; keeps a Custom schedule", async () => {
    expectError(
      await api.call("POST", "/system/scanAll/schedule", { auth: USER, body: { schedule: { type: "Manual" } } }),
      403,
      "FORBIDDEN",
    );
    expectError(await api.get("/scans/all/metrics", USER), 403, "FORBIDDEN");
    const schedule = await api.get("/scans/schedule/metrics");
    expect(schedule.status).toBe(200);
    expect(schedule.json).toEqual({});
    expectError(
      await api.call("PUT", "/system/scanAll/schedule", { body: { schedule: { type: "Manual" } } }),
      400,
      "BAD_REQUEST",
      /^fail to update scan all schedule as wrong schedule type: Manual$/,
    );
    answers.clear();
    // One artifact never finishes: the run lasts scanTimeoutSeconds at least.
    answers.set("ext-scan/slow", "never");
    adapter.pendingPolls = 0;
    const run = await api.call("POST", "/system/scanAll/schedule", { body: { schedule: { type: "Manual" } } });
    expect(run.status, run.text).toBe(201);
    expectError(
      await api.call("POST", "/system/scanAll/schedule", { body: { schedule: { type: "Manual" } } }),
      409,
      "CONFLICT",
      /^a previous scan all job aleady exits, its status is (Pending|Running)$/,
    );
    const metrics = await until(
      async () => (await api.get("/scans/all/metrics")).json as Record<string, unknown>,
      (m) => m["ongoing"] === false,
      60_000,
      "scan all",
    );
    expect(metrics).toMatchObject({ trigger: "Manual", ongoing: false });
    // app, sibling, multi (its two children in one task), slow, stopped and ext-other/app; not the
    // chart, the oras artifact, nor ext-off/app (its scanner is disabled).
    expect(metrics).toMatchObject({ total: 6, completed: 6 });
    expect(metrics["metrics"]).toEqual({ Pending: 0, Running: 0, Success: 5, Error: 1, Stopped: 0 });
    expect(await overviewOf("stopped", "v1")).toMatchObject({ scan_status: "Success" });
    expect(await overviewOf("slow", "v1")).toMatchObject({ scan_status: "Error" });

    const custom = await api.call("PUT", "/system/scanAll/schedule", {
      body: { schedule: { type: "Custom", cron: "0 30 2 * * *" } },
    });
    expect(custom.status, custom.text).toBe(200);
    const kept = await api.get("/system/scanAll/schedule");
    expect(kept.json).toMatchObject({ schedule: { type: "Custom", cron: "0 30 2 * * *" } });
    expect((await api.get("/scans/schedule/metrics")).json).toEqual({});
    expectError(
      await api.call("POST", "/system/scanAll/schedule", {
        body: { schedule: { type: "Custom", cron: "0 0 3 * * *" } },
      }),
      412,
      "PRECONDITION",
      /^fail to set schedule for scan all as always had one/,
    );
  });
});
