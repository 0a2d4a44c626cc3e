// SBOMs as Harbor 2.11+ makes them, with the real trivy: `POST …/scan` with scan_type "sbom" (and
// auto_sbom_generation on push) makes the SBOM, which is pushed next to the image as a referrer
// of type harbor.sbom; the referrers API (and oras) find it, the artifact lists it as an
// accessory, `sbom_overview` names it, the `sbom` addition and /v2 serve it, and making it again
// replaces it.

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, tempDir } from "../helpers.ts";
import type { ApiReply } from "../api/harbor-client.ts";
import { TOOLS, TRIVY, type VulnerableImage } from "./trivy-fixture.ts";
import { pollUntil, startScanningRegistry, type ScanningRegistry } from "./scanning-registry.ts";

const execFileAsync = promisify(execFile);
const ORAS = path.join(TOOLS, "oras");
const SBOM_TYPE = "application/vnd.goharbor.harbor.sbom.v1";

function sbomOverview(reply: ApiReply): Record<string, unknown> | undefined {
  return (reply.json as { sbom_overview?: Record<string, unknown> } | undefined)?.sbom_overview;
}

/** The overview has ended (not Pending nor Running). */
function ended(previousDigest?: string) {
  return (reply: ApiReply): boolean => {
    const overview = sbomOverview(reply);
    const status = overview?.["scan_status"];
    if (status === "Success") return overview?.["sbom_digest"] !== previousDigest;
    return status === "Error" || status === "Stopped";
  };
}

describe.skipIf(!existsSync(TRIVY))("SBOMs made by the built-in Trivy scanner", () => {
  let s: ScanningRegistry;
  let image: VulnerableImage;
  const artifactPath = "/projects/library/repositories/app/artifacts/1.0";

  beforeAll(async () => {
    s = await startScanningRegistry(Date.now(), 1);
    await s.harbor.createProject("library", false);
    image = await s.pushApp("library/app", "1.0");
  }, 120_000);

  afterAll(async () => {
    await s?.close();
  });

  async function referrers(digest: string): Promise<Array<Record<string, unknown>>> {
    const reply = await s.harbor.get(`/v2/library/app/referrers/${digest}`);
    expect(reply.status, reply.text).toBe(200);
    return (reply.json as { manifests: Array<Record<string, unknown>> }).manifests;
  }

  let firstSbom = "";

  it("pushes the SBOM as the image's harbor.sbom referrer, listing its packages", async () => {
    const none = await s.harbor.get(`${artifactPath}?with_sbom_overview=true`);
    expect(none.status).toBe(200);
    expect(sbomOverview(none)).toBeUndefined();

    const started = await s.harbor.call("POST", `${artifactPath}/scan`, { body: { scan_type: "sbom" } });
    expect(started.status, started.text).toBe(202);
    const done = await pollUntil(s.harbor, `${artifactPath}?with_sbom_overview=true`, ended());
    const overview = sbomOverview(done)!;
    expect(overview, JSON.stringify(overview)).toMatchObject({
      scan_status: "Success",
      sbom_digest: expect.stringMatching(/^sha256:[a-f0-9]{64}$/) as string,
      report_id: expect.any(String) as string,
      scanner: { name: "Trivy", vendor: "Aqua Security", version: "0.74.0" },
      duration: expect.any(Number) as number,
      start_time: expect.any(String) as string,
      end_time: expect.any(String) as string,
    });
    expect(Date.parse(String(overview["end_time"]))).toBeGreaterThanOrEqual(Date.parse(String(overview["start_time"])));
    firstSbom = String(overview["sbom_digest"]);

    // The referrers API: Harbor's artifact type and annotations.
    const found = await referrers(image.digest);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      digest: firstSbom,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: SBOM_TYPE,
      annotations: {
        "created-by": "Harbor",
        "org.opencontainers.artifact.description": "SPDX JSON SBOM",
        created: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/) as string,
        "org.opencontainers.artifact.created": expect.any(String) as string,
      },
    });

    // The manifest as Harbor writes it, and its one layer: the SPDX document.
    const manifestReply = await s.harbor.get(`/v2/library/app/manifests/${firstSbom}`, ADMIN, {
      Accept: "application/vnd.oci.image.manifest.v1+json",
    });
    expect(manifestReply.status).toBe(200);
    const manifest = manifestReply.json as {
      config: { mediaType: string };
      layers: Array<{ mediaType: string; digest: string }>;
      subject: { digest: string; mediaType: string; size: number };
    };
    expect(manifest.config.mediaType).toBe(SBOM_TYPE);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(["application/vnd.oci.image.layer.v1.tar"]);
    expect(manifest.subject).toMatchObject({
      digest: image.digest,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
    });
    const blob = await s.harbor.get(`/v2/library/app/blobs/${manifest.layers[0]!.digest}`);
    expect(blob.status).toBe(200);
    const spdx = blob.json as { spdxVersion: string; packages: Array<{ name: string; versionInfo?: string }> };
    expect(spdx.spdxVersion).toMatch(/^SPDX-2\./);
    const packages = new Map(spdx.packages.map((p) => [p.name, p.versionInfo]));
    expect(packages.get("busybox")).toBe("1.36.1-r28");
    expect(packages.get("musl")).toBe("1.2.5-r1");
    expect(packages.get("lodash")).toBe("4.17.20");

    // The accessory in the artifact listing, and the sbom addition it links to.
    const listing = await s.harbor.get(
      "/projects/library/repositories/app/artifacts?with_accessory=true&with_sbom_overview=true",
    );
    const artifacts = listing.json as Array<Record<string, unknown>>;
    const app = artifacts.find((a) => a["digest"] === image.digest)!;
    expect(app["accessories"]).toEqual([
      expect.objectContaining({ type: "harbor.sbom", digest: firstSbom, subject_artifact_digest: image.digest }),
    ]);
    // Harbor lists accessories under their subject, not as artifacts of their own.
    expect(artifacts.map((a) => a["digest"])).not.toContain(firstSbom);
    const href = (app["addition_links"] as Record<string, { href: string }>)["sbom"]!.href;
    expect(href).toBe(`/api/v2.0/projects/library/repositories/app/artifacts/${firstSbom}/additions/sbom`);
    const addition = await s.harbor.get(href.replace("/api/v2.0", ""));
    expect(addition.status).toBe(200);
    expect(addition.headers.get("content-type")).toBe(SBOM_TYPE);
    expect(addition.json).toEqual(spdx);
    // Beyond Harbor: the image's own addition answers its SBOM too.
    const own = await s.harbor.get(`${artifactPath}/additions/sbom`);
    expect(own.status).toBe(200);
    expect(own.json).toEqual(spdx);
  }, 180_000);

  it("is found by oras through the referrers API", async () => {
    const home = tempDir("oras-home");
    try {
      const host = s.registry.url.replace(/^https?:\/\//, "");
      const { stdout } = await execFileAsync(
        ORAS,
        [
          "discover",
          "--plain-http",
          "--username",
          ADMIN.username,
          "--password",
          ADMIN.password,
          "--format",
          "json",
          `${host}/library/app@${image.digest}`,
        ],
        { env: { PATH: process.env["PATH"] ?? "", HOME: home.dir }, timeout: 30_000 },
      );
      const discovered = JSON.parse(stdout) as { manifests?: Array<{ digest: string; artifactType: string }> };
      expect(discovered.manifests?.map((r) => [r.digest, r.artifactType])).toEqual([[firstSbom, SBOM_TYPE]]);
    } finally {
      home.remove();
    }
  }, 60_000);

  it("replaces the SBOM when it is made again", async () => {
    expect(firstSbom).not.toBe("");
    const started = await s.harbor.call("POST", `${artifactPath}/scan`, { body: { scan_type: "sbom" } });
    expect(started.status, started.text).toBe(202);
    const done = await pollUntil(s.harbor, `${artifactPath}?with_sbom_overview=true`, ended(firstSbom));
    const second = String(sbomOverview(done)?.["sbom_digest"]);
    expect(sbomOverview(done)?.["scan_status"]).toBe("Success");
    expect(second).not.toBe(firstSbom);
    expect((await referrers(image.digest)).map((r) => r["digest"])).toEqual([second]);
    expect((await s.harbor.get(`/v2/library/app/manifests/${firstSbom}`)).status).toBe(404);
  }, 180_000);

  it("stops an SBOM scan, and refuses to stop when none is under way", async () => {
    const idle = await s.harbor.call("POST", `${artifactPath}/scan/stop`, { body: { scan_type: "sbom" } });
    expect(idle.status, idle.text).toBe(400);
    const started = await s.harbor.call("POST", `${artifactPath}/scan`, { body: { scan_type: "sbom" } });
    expect(started.status).toBe(202);
    const stopped = await s.harbor.call("POST", `${artifactPath}/scan/stop`, { body: { scan_type: "sbom" } });
    expect(stopped.status, stopped.text).toBe(202);
    const done = await pollUntil(s.harbor, `${artifactPath}?with_sbom_overview=true`, (reply) =>
      ["Stopped", "Error", "Success"].includes(String(sbomOverview(reply)?.["scan_status"])),
    );
    expect(sbomOverview(done)?.["scan_status"]).toBe("Stopped");
  }, 180_000);

  it("makes the SBOM of each image pushed to a project with auto_sbom_generation", async () => {
    const created = await s.harbor.call("POST", "/projects", {
      body: { project_name: "auto", metadata: { public: "false", auto_sbom_generation: "true" } },
    });
    expect(created.status, created.text).toBe(201);
    const pushed = await s.pushApp("auto/app", "2.0");
    const done = await pollUntil(
      s.harbor,
      "/projects/auto/repositories/app/artifacts/2.0?with_sbom_overview=true",
      ended(),
    );
    const overview = sbomOverview(done)!;
    expect(overview["scan_status"], JSON.stringify(overview)).toBe("Success");
    const reply = await s.harbor.get(`/v2/auto/app/referrers/${pushed.digest}`);
    const manifests = (reply.json as { manifests: Array<Record<string, unknown>> }).manifests;
    expect(manifests.map((m) => [m["digest"], m["artifactType"]])).toEqual([[overview["sbom_digest"], SBOM_TYPE]]);
  }, 180_000);
});
