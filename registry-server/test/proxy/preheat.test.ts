// Preheat: a list of images pulled into a proxy-cache project ahead of time, through the API and
// the command line, so that the cache serves them when the upstream is gone.

import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError } from "../api/harbor-client.ts";
import { OCI_INDEX, OCI_MANIFEST, sha256 } from "../distribution/oci-client.ts";
import { ADMIN, tempDir, writeFile } from "../helpers.ts";
import { runProcess, type ProcessResult } from "../processes.ts";
import { delta, requestCounts, startProxyFixture, type ProxyFixture, twoPlatformIndex } from "./proxy-fixture.ts";

const MAIN = path.resolve(import.meta.dirname, "../../src/main.ts");

interface Job {
  status: string;
  summary: { total: number; fetched: number; present: number; failed: number; bytes_fetched: number };
  images: Array<{
    image: string;
    status: string;
    digest?: string;
    manifests: number;
    blobs: number;
    attempts: number;
    error?: string;
  }>;
}

describe("preheat", () => {
  let f: ProxyFixture;
  let arm64: { digest: string; layer: string };
  let app: { digest: string };

  beforeAll(async () => {
    f = await startProxyFixture();
    const amd64Layer = randomBytes(2048).toString("base64");
    const arm64Layer = randomBytes(2048).toString("base64");
    const amd64 = await f.upstreamClient.pushImage("team/multi", "amd64", { layer: amd64Layer });
    const arm = await f.upstreamClient.pushImage("team/multi", "arm64", { layer: arm64Layer });
    arm64 = { digest: arm.digest, layer: sha256(arm64Layer) };
    const index = twoPlatformIndex(amd64, arm);
    expect((await f.upstreamClient.pushManifest("team/multi", "1.0", index, OCI_INDEX)).response.status).toBe(201);
    app = await f.upstreamClient.pushImage("team/app", "1.0");
  });
  afterAll(async () => {
    await f.stop();
  });

  async function waitForJob(location: string): Promise<Job> {
    const path = location.replace(/^\/api\/v2\.0/, "");
    for (let i = 0; i < 200; i++) {
      const reply = await f.api.call("GET", path);
      expect(reply.status).toBe(200);
      const job = reply.json as Job;
      if (job.status !== "running") return job;
      await sleep(50);
    }
    throw new Error("the preheat job did not finish in 10 s");
  }

  it("fetches every platform and blob of each image, reports per image, and lets the cache serve them offline", async () => {
    const before = await requestCounts(f.upstream);
    const started = await f.api.call("POST", "/projects/hub/preheat", {
      body: { images: ["team/multi:1.0", "team/app:1.0", "team/missing:1"] },
    });
    expect(started.status, started.text).toBe(201);
    expect(started.text).toBe("");
    const job = await waitForJob(started.headers.get("location") ?? "");
    expect(job.status).toBe("partial");
    expect(job.summary).toMatchObject({ total: 3, fetched: 2, present: 0, failed: 1 });
    const [multi, single, missing] = job.images;
    expect(multi).toMatchObject({ image: "team/multi:1.0", status: "fetched", manifests: 3, blobs: 4 });
    expect(single).toMatchObject({
      image: "team/app:1.0",
      status: "fetched",
      digest: app.digest,
      manifests: 1,
      blobs: 2,
    });
    // The upstream said it does not exist: no point asking again.
    expect(missing).toMatchObject({ status: "failed", attempts: 1 });
    expect(missing?.error).toMatch(/unknown to upstream/);
    // One config shared by the three images, three layers: each fetched once for the project.
    expect(delta(before, await requestCounts(f.upstream))["GET blob_get"]).toBe(4);

    const listed = await f.api.call("GET", "/projects/hub/preheat");
    expect((listed.json as Job[]).length).toBe(1);

    await f.upstream.stop();
    // The platform nobody pulled yet is there, manifest and layer.
    const manifest = await f.client.request("GET", `/v2/hub/team/multi/manifests/${arm64.digest}`, {
      headers: { Accept: OCI_MANIFEST },
    });
    expect(manifest.status).toBe(200);
    const layer = await f.client.request("GET", `/v2/hub/team/multi/blobs/${arm64.layer}`);
    expect(sha256(Buffer.from(await layer.arrayBuffer()))).toBe(arm64.layer);
  });

  it("refuses what it cannot do, in Harbor's error format", async () => {
    expectError(await f.api.call("POST", "/projects/hub/preheat", { body: { images: [] } }), 400, "BAD_REQUEST");
    expectError(
      await f.api.call("POST", "/projects/hub/preheat", { body: { images: ["quay.io/prometheus/prometheus"] } }),
      400,
      "BAD_REQUEST",
      /without a registry host/,
    );
    expect((await f.api.call("POST", "/projects", { body: { project_name: "plain" } })).status).toBe(201);
    expectError(
      await f.api.call("POST", "/projects/plain/preheat", { body: { images: ["team/app"] } }),
      400,
      "BAD_REQUEST",
      /not a proxy-cache project/,
    );
    expectError(
      await f.api.call("POST", "/projects/hub/preheat", { auth: null, body: { images: ["a"] } }),
      401,
      "UNAUTHORIZED",
    );
    expectError(await f.api.call("GET", "/projects/nowhere/preheat"), 404, "NOT_FOUND");
  });
});

/** The CLI as a process. */
function runCli(args: string[]): Promise<ProcessResult> {
  return runProcess(process.execPath, [MAIN, ...args], { timeoutMs: 60_000 });
}

describe("airlock-registry preheat", () => {
  let f: ProxyFixture;
  beforeAll(async () => {
    f = await startProxyFixture();
    await f.upstreamClient.pushImage("team/app", "1.0");
  });
  afterAll(async () => {
    await f.stop();
  });

  it("follows the job, one line per image, then a summary; exits 1 when an image failed", async () => {
    const work = tempDir("preheat-cli");
    try {
      const passwordFile = writeFile(work.dir, "password", `${ADMIN.password}\n`);
      const list = writeFile(work.dir, "images.txt", "# what the nodes need\nteam/app:1.0\n\nteam/missing:1\n");
      const first = await runCli([
        "preheat",
        "--url",
        f.proxy.url,
        "--project",
        "hub",
        "--password-file",
        passwordFile,
        "--file",
        list,
      ]);
      expect(first.status, first.stderr).toBe(1);
      expect(first.stdout).toMatch(/preheating 2 image\(s\) into hub/);
      expect(first.stdout).toMatch(/fetched {2}team\/app:1\.0 \(.+\) sha256:/);
      expect(first.stdout).toMatch(/failed {3}team\/missing:1: .*unknown to upstream/);
      expect(first.stdout).toMatch(/partial: 1 fetched, 0 already cached, 1 failed/);

      const again = await runCli([
        "preheat",
        "--url",
        f.proxy.url,
        "--project",
        "hub",
        "--password-file",
        passwordFile,
        "team/app:1.0",
      ]);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/cached {3}team\/app:1\.0/);
      expect(again.stdout).toMatch(/succeeded: 0 fetched, 1 already cached, 0 failed; 0 B from the upstream/);

      const usage = await runCli(["preheat", "--url", f.proxy.url, "--password-file", passwordFile, "team/app"]);
      expect(usage.status).toBe(2);
      expect(usage.stderr).toMatch(/--project is required/);
    } finally {
      work.remove();
    }
  });
});
