// The registry with its blobs in S3 (versitygw): pushes (monolithic, chunked, large enough for
// multipart uploads) and pulls by our OCI client and by skopeo, byte for byte; the objects sit
// under the key prefix; health checks the bucket. Then the real process configured from a file
// with the secret in a file of its own, which it never logs.

import { ListMultipartUploadsCommand, ListObjectsV2Command, type _Object } from "@aws-sdk/client-s3";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerConfig } from "../../src/config.ts";
import { descriptorOf, OCI_MANIFEST, OciClient, sha256 } from "../distribution/oci-client.ts";
import { ADMIN, startTestRegistry, tempDir, writeFile, type TestRegistry } from "../helpers.ts";
import { runProcess } from "../processes.ts";
import { startVersitygw, type S3TestServer } from "./versitygw-server.ts";

const MiB = 1024 * 1024;
const MAIN = path.resolve(import.meta.dirname, "../../src/main.ts");

let s3: S3TestServer;

beforeAll(async () => {
  s3 = await startVersitygw();
});
afterAll(async () => {
  await s3?.stop();
});

function s3Storage(bucket: string): NonNullable<ServerConfig["storage"]> {
  return {
    s3: {
      bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      prefix: "airlock",
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      insecure: false,
      // S3's smallest parts, so that the large layer below is a multipart upload.
      partBytes: 5 * MiB,
      maxConcurrentParts: 2,
    },
  };
}

async function keysIn(bucket: string): Promise<string[]> {
  return (await objectsIn(bucket)).map((object) => object.Key ?? "");
}

async function objectsIn(bucket: string): Promise<_Object[]> {
  const objects: _Object[] = [];
  let token: string | undefined;
  // Bounded: a test bucket holds a few objects, 1,000 per page.
  for (let page = 0; page < 100; page++) {
    const listed = await s3
      .client()
      .send(new ListObjectsV2Command({ Bucket: bucket, ...(token !== undefined && { ContinuationToken: token }) }));
    objects.push(...(listed.Contents ?? []));
    token = listed.NextContinuationToken;
    if (!listed.IsTruncated) break;
  }
  return objects;
}

describe("registry on S3", () => {
  let registry: TestRegistry;
  let client: OciClient;
  const bucket = "registry-blobs";

  beforeAll(async () => {
    await s3.createBucket(bucket);
    registry = await startTestRegistry({ storage: s3Storage(bucket) });
    client = new OciClient(registry.url);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("takes a push (monolithic and chunked blobs, a multipart-sized layer) and serves it back", async () => {
    const repository = "library/on-s3";
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux" }));
    const bigLayer = randomBytes(12 * MiB + 7);
    const chunkedLayer = randomBytes(3 * MiB + 11);
    await client.pushBlob(repository, config);
    await client.pushBlob(repository, bigLayer);

    // Chunked: three PATCHes, each a part object in S3, then the closing PUT.
    const started = await client.request("POST", `/v2/${repository}/blobs/uploads/`);
    expect(started.status).toBe(202);
    let location = started.headers.get("location") ?? "";
    for (const [start, end] of [
      [0, MiB],
      [MiB, 2 * MiB],
      [2 * MiB, chunkedLayer.length],
    ] as const) {
      const patched = await client.request("PATCH", location, {
        headers: { "Content-Range": `${start}-${end - 1}`, "Content-Type": "application/octet-stream" },
        body: chunkedLayer.subarray(start, end),
      });
      expect(patched.status).toBe(202);
      location = patched.headers.get("location") ?? "";
    }
    const closed = await client.request(
      "PUT",
      `${location}${location.includes("?") ? "&" : "?"}digest=${sha256(chunkedLayer)}`,
    );
    expect(closed.status).toBe(201);

    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptorOf("application/vnd.oci.image.config.v1+json", config),
      layers: [
        descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", bigLayer),
        descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", chunkedLayer),
      ],
    };
    const pushed = await client.pushManifest(repository, "1.0", manifest, OCI_MANIFEST);
    expect(pushed.response.status).toBe(201);

    // Pull: the manifest by tag, every blob whole, a range across the big layer's part boundary.
    const pulled = await client.request("GET", `/v2/${repository}/manifests/1.0`, {
      headers: { Accept: OCI_MANIFEST },
    });
    expect(pulled.status).toBe(200);
    expect(Buffer.from(await pulled.arrayBuffer()).equals(pushed.bytes)).toBe(true);
    for (const blob of [config, bigLayer, chunkedLayer]) {
      const response = await client.request("GET", `/v2/${repository}/blobs/${sha256(blob)}`);
      expect(response.status).toBe(200);
      expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(sha256(blob));
    }
    const ranged = await client.request("GET", `/v2/${repository}/blobs/${sha256(bigLayer)}`, {
      headers: { Range: `bytes=${5 * MiB - 100}-${5 * MiB + 99}` },
    });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(bigLayer.subarray(5 * MiB - 100, 5 * MiB + 100))).toBe(true);

    // Everything the registry stored is under its prefix, the big layer in three parts (its
    // ETag says so), and no multipart upload is left pending.
    const objects = await objectsIn(bucket);
    expect(objects.length).toBeGreaterThanOrEqual(3);
    expect(objects.every((object) => object.Key?.startsWith("airlock/"))).toBe(true);
    expect(objects.filter((object) => /-3"?$/.test(object.ETag ?? ""))).toHaveLength(1);
    const pending = await s3.client().send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(pending.Uploads ?? []).toEqual([]);
  });

  it("is pulled by skopeo into an OCI layout, digests preserved", async () => {
    const repository = "library/skopeo-pull";
    const layer = randomBytes(6 * MiB);
    const { digest } = await client.pushImage(repository, "v1", { layer: layer.toString("base64") });
    const work = tempDir("s3-skopeo");
    try {
      const host = new URL(registry.url).host;
      const result = await runProcess("skopeo", [
        "copy",
        "--src-tls-verify=false",
        "--preserve-digests",
        "--src-creds",
        `${ADMIN.username}:${ADMIN.password}`,
        `docker://${host}/${repository}:v1`,
        `oci:${path.join(work.dir, "layout")}:v1`,
      ]);
      expect(result.status, result.stderr).toBe(0);
      const index = JSON.parse(readFileSync(path.join(work.dir, "layout", "index.json"), "utf8")) as {
        manifests: Array<{ digest: string }>;
      };
      expect(index.manifests[0]?.digest).toBe(digest);
      const layerDigest = sha256(Buffer.from(layer.toString("base64")));
      const stored = readFileSync(
        path.join(work.dir, "layout", "blobs", "sha256", layerDigest.slice("sha256:".length)),
      );
      expect(sha256(stored)).toBe(layerDigest);
    } finally {
      work.remove();
    }
  });

  it("reports the bucket in health and S3 as the storage provider", async () => {
    const health = await fetch(`${registry.url}/api/v2.0/health`);
    expect(health.status).toBe(200);
    const healthy = (await health.json()) as { status: string; components: Array<{ name: string; status: string }> };
    expect(healthy.status).toBe("healthy");
    expect(healthy.components).toContainEqual({ name: "storage", status: "healthy" });
    const info = (await (await fetch(`${registry.url}/api/v2.0/systeminfo`)).json()) as Record<string, unknown>;
    expect(info["registry_storage_provider_name"]).toBe("s3");
  });

  it("reports a bucket it cannot reach as unhealthy", async () => {
    const missing = await startTestRegistry({ storage: s3Storage("no-such-bucket") });
    try {
      const health = await fetch(`${missing.url}/api/v2.0/health`);
      expect(health.status).toBe(503);
      const unhealthy = (await health.json()) as {
        status: string;
        components: Array<{ name: string; status: string; error?: string }>;
      };
      expect(unhealthy.status).toBe("unhealthy");
      expect(unhealthy.components.find((c) => c.name === "storage")).toMatchObject({ status: "unhealthy" });
    } finally {
      await missing.stop();
    }
  });
});

describe("the server process configured for S3", () => {
  it("reads storage.s3 from its file, the secret from a file, serves a push, and never logs the secret", async () => {
    const bucket = "process-blobs";
    await s3.createBucket(bucket);
    const work = tempDir("s3-process");
    try {
      writeFile(work.dir, "password", `${ADMIN.password}\n`);
      writeFile(work.dir, "s3-secret", `${s3.secretAccessKey}\n`);
      const configFile = writeFile(
        work.dir,
        "config.yaml",
        [
          "http:",
          '  addr: "127.0.0.1:0"',
          "dataDir: data",
          "storage:",
          "  s3:",
          `    bucket: ${bucket}`,
          `    endpoint: ${s3.endpoint}`,
          "    forcePathStyle: true",
          "    prefix: from-file",
          `    accessKeyId: ${s3.accessKeyId}`,
          "    secretAccessKeyFile: s3-secret",
          "",
        ].join("\n"),
      );
      const child = spawn(
        process.execPath,
        [MAIN, "serve", "--config", configFile, "--admin-password-file", path.join(work.dir, "password")],
        // The environment overrides the file, as a deployment may.
        { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env["PATH"], AIRLOCK_S3_PREFIX: "from-env" } },
      );
      let output = "";
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      const url = await new Promise<string>((resolve, reject) => {
        const onData = (chunk: Buffer): void => {
          output += chunk.toString("utf8");
          const match = /"msg":"listening"[^\n]*"url":"([^"]+)"|"url":"([^"]+)"[^\n]*"msg":"listening"/.exec(output);
          if (match) resolve(match[1] ?? match[2] ?? "");
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        void exited.then((code) => reject(new Error(`exited early with ${code}:\n${output}`)));
        setTimeout(() => reject(new Error(`did not start within 20s:\n${output}`)), 20_000).unref();
      });
      try {
        const health = await fetch(`${url}/api/v2.0/health`);
        expect(health.status).toBe(200);
        const digest = await new OciClient(url).pushBlob("proc/repo", "stored through the process");
        expect(await keysIn(bucket)).toEqual([expect.stringMatching(/^from-env\//)]);
        expect(digest).toBe(`sha256:${createHash("sha256").update("stored through the process").digest("hex")}`);
      } finally {
        child.kill("SIGTERM");
        expect(await exited).toBe(0);
      }
      expect(output).toContain('"msg":"blob storage: S3"');
      expect(output).toContain(`"bucket":"${bucket}"`);
      expect(output).not.toContain(s3.secretAccessKey);
    } finally {
      work.remove();
    }
  });
});
