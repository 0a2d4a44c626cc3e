// The HTTP client of Harbor's Scanner Adapter API against a real adapter on 127.0.0.1 (the fake
// one of fake-scanner-adapter.ts): the MIME types and credentials it sends, scans and report
// polling with Refresh-After, the adapter's error documents, and the bounds it keeps (answer
// size, deadline, the caller's abort, no redirects).

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ERROR_MIME,
  HttpScannerAdapter,
  METADATA_MIME,
  SCAN_REQUEST_MIME,
  SCAN_REQUEST_V11_MIME,
  SCAN_RESPONSE_MIME,
  ScannerAdapterError,
  type HttpScannerAdapterOptions,
} from "../../src/scan/http-scanner-adapter.ts";
import { SBOM_REPORT_MIME, VULNERABILITY_REPORT_MIME, type ScanRequest } from "../../src/scan/scanner-adapter.ts";
import { FAKE_METADATA, FAKE_REPORT, FakeScannerAdapter } from "./fake-scanner-adapter.ts";

const REQUEST: ScanRequest = {
  registry: { url: "http://127.0.0.1:5000", authorization: "Bearer pull-token" },
  artifact: {
    repository: "library/app",
    digest: `sha256:${"a".repeat(64)}`,
    tag: "v1",
    mime_type: "application/vnd.oci.image.manifest.v1+json",
  },
};

describe("HTTP scanner adapter client", () => {
  const fake = new FakeScannerAdapter();
  const clients: HttpScannerAdapter[] = [];

  function client(overrides: Partial<HttpScannerAdapterOptions> = {}): HttpScannerAdapter {
    const made = new HttpScannerAdapter({
      url: fake.url,
      auth: "Bearer",
      credential: "adapter-token",
      skipCertVerify: false,
      egress: { timeoutMs: 5_000 },
      ...overrides,
    });
    clients.push(made);
    return made;
  }

  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    fake.requests.length = 0;
    fake.mode = "normal";
    fake.requiredHeader = undefined;
    fake.pendingPolls = 1;
  });

  it("reads the metadata under /api/v1 with the metadata MIME type and the registration's credential", async () => {
    fake.requiredHeader = { name: "authorization", value: "Bearer adapter-token" };
    // A trailing slash on the registration's URL changes nothing.
    const metadata = await client({ url: `${fake.url}/` }).metadata();
    expect(metadata).toEqual(FAKE_METADATA);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({ method: "GET", path: "/api/v1/metadata" });
    expect(fake.requests[0]?.headers["accept"]).toBe(METADATA_MIME);
  });

  it("sends Basic as base64 of the whole credential and the API key in its own header", async () => {
    await client({ auth: "Basic", credential: "user:pass word" }).metadata();
    await client({ auth: "X-ScannerAdapter-API-Key", credential: "key-123" }).metadata();
    await client({ auth: "", credential: "" }).metadata();
    const [basic, apiKey, none] = fake.requests;
    expect(basic?.headers["authorization"]).toBe(`Basic ${Buffer.from("user:pass word").toString("base64")}`);
    expect(apiKey?.headers["x-scanneradapter-api-key"]).toBe("key-123");
    expect(apiKey?.headers["authorization"]).toBeUndefined();
    expect(none?.headers["authorization"]).toBeUndefined();
    expect(none?.headers["x-scanneradapter-api-key"]).toBeUndefined();
  });

  it("refuses what is not valid metadata, and a refused credential, with clear errors", async () => {
    fake.requiredHeader = { name: "authorization", value: "Bearer other" };
    const refused = await client()
      .metadata()
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ScannerAdapterError);
    expect(refused).toMatchObject({ kind: "unauthorized", status: 401 });
    expect((refused as Error).message).toMatch(/GET 127\.0\.0\.1:\d+\/api\/v1\/metadata: 401/);
    expect((refused as Error).message).not.toContain("adapter-token");
  });

  it("starts a scan with the request MIME type of its version and returns the adapter's id", async () => {
    const adapter = client();
    expect(await adapter.scan(REQUEST)).toBe("scan-1");
    const v12 = {
      ...REQUEST,
      enabled_capabilities: [{ type: "sbom" as const, produces_mime_types: [SBOM_REPORT_MIME] }],
    };
    expect(await adapter.scan(v12)).toBe("scan-2");
    const [first, second] = fake.requests;
    expect(first).toMatchObject({ method: "POST", path: "/api/v1/scan" });
    expect(first?.headers["content-type"]).toBe(SCAN_REQUEST_MIME);
    expect(first?.headers["accept"]).toBe(SCAN_RESPONSE_MIME);
    expect(JSON.parse(first?.body ?? "")).toEqual(REQUEST);
    expect(second?.headers["content-type"]).toBe(SCAN_REQUEST_V11_MIME);
    expect(JSON.parse(second?.body ?? "")).toEqual(v12);
  });

  it("reads a pending report as pending with Refresh-After, then the report", async () => {
    const adapter = client();
    const id = await adapter.scan(REQUEST);
    expect(await adapter.report(id, VULNERABILITY_REPORT_MIME)).toEqual({ state: "pending", retryAfterSeconds: 2 });
    expect(await adapter.report(id, VULNERABILITY_REPORT_MIME)).toEqual({ state: "ready", report: FAKE_REPORT });
    const polls = fake.requests.filter((r) => r.path === `/api/v1/scan/${id}/report`);
    expect(polls).toHaveLength(2);
    expect(polls[1]?.headers["accept"]).toBe(VULNERABILITY_REPORT_MIME);
  });

  it("asks for the SBOM report in the format of v1.2's sbom_media_type query parameter", async () => {
    fake.pendingPolls = 0;
    const adapter = client();
    const id = await adapter.scan(REQUEST);
    const result = await adapter.report(id, SBOM_REPORT_MIME, undefined, { sbomMediaType: "application/spdx+json" });
    expect(result.state).toBe("ready");
    const poll = fake.requests.find((r) => r.path.startsWith(`/api/v1/scan/${id}/report`));
    expect(poll?.path).toBe(`/api/v1/scan/${id}/report?sbom_media_type=application%2Fspdx%2Bjson`);
    expect(poll?.headers["accept"]).toBe(SBOM_REPORT_MIME);
  });

  it("reads the adapter's error document as a failed scan, its message cleaned", async () => {
    fake.mode = "error";
    const result = await client().report("scan-9", VULNERABILITY_REPORT_MIME);
    expect(result.state).toBe("failed");
    expect(result.state === "failed" && result.message).toMatch(/: the scanner broke badly$/);
    // Elsewhere, the same document is an error carrying the adapter's message.
    const err = await client()
      .metadata()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "refused", status: 500 });
    expect((err as Error).message).toContain("the scanner broke badly");
    expect(ERROR_MIME).toContain("error+json");
  });

  it("refuses a report larger than its bound without reading it all", async () => {
    fake.mode = "huge-report";
    fake.pendingPolls = 0;
    const started = Date.now();
    const err = await client({ maxReportBytes: 1024 * 1024 })
      .report("scan-1", VULNERABILITY_REPORT_MIME)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "too-large" });
    expect((err as Error).message).toMatch(/larger than 1048576 bytes/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("gives up on a silent adapter at its deadline, and at once when the caller aborts", async () => {
    fake.mode = "silent";
    let started = Date.now();
    const late = await client({ callTimeoutMs: 300 })
      .metadata()
      .catch((e: unknown) => e);
    expect(late).toMatchObject({ kind: "timeout" });
    expect(Date.now() - started).toBeLessThan(3_000);

    const controller = new AbortController();
    const reason = new Error("scan stopped");
    started = Date.now();
    const pending = client().scan(REQUEST, controller.signal);
    setTimeout(() => controller.abort(reason), 100);
    await expect(pending).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("follows no redirect, and says who is unreachable", async () => {
    fake.mode = "redirect";
    await expect(client().metadata()).rejects.toMatchObject({ kind: "protocol", status: 302 });
    const dead = new HttpScannerAdapter({
      url: "http://127.0.0.1:1",
      auth: "",
      credential: "",
      skipCertVerify: false,
      egress: { timeoutMs: 2_000 },
    });
    clients.push(dead);
    const err = await dead.metadata().catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "unreachable" });
    expect((err as Error).message).toMatch(/127\.0\.0\.1:1/);
    expect(fake.requests.every((r) => r.path === "/api/v1/metadata")).toBe(true);
  });
});
