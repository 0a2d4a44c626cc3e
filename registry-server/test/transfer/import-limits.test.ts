// What an import may make the server read and write: a metadata entry (index.json, manifest.json,
// oci-layout, airlock-bundle.json, a manifest under blobs/ once index.json names it) over the
// manifest limit is refused from its tar header; the archive as sent and as decompressed is
// bounded by limits.maxImportBytes (a gzip bomb stops there); what it writes is bounded by the
// project's remaining quota, checked before each write. The refusals come while the client still
// holds the rest of the body (nothing more is read), leave no staged part and no manifest, and
// answer in Harbor's error JSON: 413 for sizes, 403 for the quota. The command line says so and
// exits with 3. Small limits (8 MiB) keep the test fast; nothing of the sizes an attacker
// declares is ever written.

import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { constants as zlibConstants, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { END_OF_ARCHIVE, entryHeader, paddingOf } from "../../src/transfer/tar-format.ts";
import { basic, HarborClient } from "../api/harbor-client.ts";
import { ADMIN, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { run } from "./transfer-fixture.ts";

const MAIN = path.resolve(import.meta.dirname, "../../src/main.ts");
const MIB = 1024 * 1024;
const IMPORT_LIMIT = 8 * MIB;
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

function blobName(digest: string): string {
  return `blobs/sha256/${digest.slice("sha256:".length)}`;
}

/** One tar entry: header, body, padding. */
function entry(name: string, data: Buffer): Buffer {
  return Buffer.concat([
    entryHeader({ name, size: data.length, type: "file", mtime: 0 }),
    data,
    Buffer.alloc(paddingOf(data.length)),
  ]);
}

/** Only the header of an entry that claims `size` bytes: what a hostile archive starts with. */
function headerOnly(name: string, size: number): Buffer {
  return entryHeader({ name, size, type: "file", mtime: 0 });
}

interface Image {
  manifest: Buffer;
  manifestDigest: string;
  config: Buffer;
  layer: Buffer;
  index: Buffer;
}

function image(layer: Buffer): Image {
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(layer)] } }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(layer), size: layer.length }],
    }),
  );
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: sha256(manifest),
          size: manifest.length,
          annotations: { "org.opencontainers.image.ref.name": "1" },
        },
      ],
    }),
  );
  return { manifest, manifestDigest: sha256(manifest), config, layer, index };
}

/** A bundle in our order: layout files, the manifest, the config, then the layer. */
function bundleParts(img: Image): { head: Buffer; layerEntry: Buffer } {
  return {
    head: Buffer.concat([
      entry("oci-layout", Buffer.from('{"imageLayoutVersion":"1.0.0"}')),
      entry("index.json", img.index),
      entry(blobName(img.manifestDigest), img.manifest),
      entry(blobName(sha256(img.config)), img.config),
    ]),
    layerEntry: entry(blobName(sha256(img.layer)), img.layer),
  };
}

function bundle(img: Image): Buffer {
  const { head, layerEntry } = bundleParts(img);
  return Buffer.concat([head, layerEntry, END_OF_ARCHIVE]);
}

interface Answer {
  status: number;
  code?: string;
  message: string;
}

/**
 * POSTs `chunks` to the import API and keeps the request open, as a client whose archive goes
 * on: the answer must come without the rest. Rejects when none comes within `waitMs`.
 */
function postHeldOpen(
  registry: TestRegistry,
  project: string,
  chunks: Buffer[],
  headers: Record<string, string> = {},
  waitMs = 10_000,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${registry.url}/api/v2.0/projects/${project}/imports?repository=app`, {
      method: "POST",
      agent: false,
      headers: { Authorization: basic(ADMIN), "Content-Type": "application/x-tar", ...headers },
    });
    let answered = false;
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${waitMs} ms while the rest of the body was held back`));
    }, waitMs);
    req.on("response", (res) => {
      const body: Buffer[] = [];
      res.on("data", (chunk: Buffer) => body.push(chunk));
      res.on("end", () => {
        answered = true;
        clearTimeout(timer);
        req.destroy();
        const text = Buffer.concat(body).toString("utf8");
        const first = (JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> }).errors?.[0];
        resolve({
          status: res.statusCode ?? 0,
          ...(first?.code && { code: first.code }),
          message: first?.message ?? text,
        });
      });
    });
    req.on("error", (err) => {
      if (answered) return;
      clearTimeout(timer);
      reject(err);
    });
    for (const chunk of chunks) req.write(chunk);
  });
}

/** POSTs a whole archive. */
async function post(
  registry: TestRegistry,
  project: string,
  body: Buffer,
  type = "application/x-tar",
): Promise<Answer> {
  const response = await fetch(`${registry.url}/api/v2.0/projects/${project}/imports?repository=app`, {
    method: "POST",
    headers: { Authorization: basic(ADMIN), "Content-Type": type },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  const first = (JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> }).errors?.[0];
  return { status: response.status, ...(first?.code && { code: first.code }), message: first?.message ?? text };
}

/** Every file under the blob storage: staged parts, stored blobs, temporary files. */
function storedFiles(registry: TestRegistry): string[] {
  const root = path.join(registry.dataDir, "storage");
  const files: string[] = [];
  const walk = (dir: string): void => {
    let names;
    try {
      names = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const name of names) {
      const full = path.join(dir, name.name);
      if (name.isDirectory()) walk(full);
      else files.push(path.relative(root, full));
    }
  };
  walk(root);
  return files.sort();
}

describe("import limits", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let work: { dir: string; remove: () => void };
  let passwordFile: string;

  beforeAll(async () => {
    work = tempDir("import-limits");
    registry = await startTestRegistry({
      limits: { maxManifestBytes: 4 * MIB, uploadIdleHours: 24, maxImportBytes: IMPORT_LIMIT },
    });
    api = new HarborClient(registry.url);
    for (const name of ["meta", "bomb", "open"]) await api.createProject(name, false);
    const small = await api.call("POST", "/projects", { body: { project_name: "small", storage_limit: MIB } });
    expect(small.status, small.text).toBe(201);
    passwordFile = path.join(work.dir, "password");
    writeFileSync(passwordFile, ADMIN.password);
  });

  afterAll(async () => {
    await registry?.stop();
    work?.remove();
  });

  async function expectNothingLeft(project: string, before: string[]): Promise<void> {
    expect(storedFiles(registry)).toEqual(before);
    const repositories = await api.get(`/projects/${project}/repositories`);
    expect(repositories.json).toEqual([]);
  }

  it("refuses index.json, manifest.json, oci-layout and airlock-bundle.json over the manifest limit from their header", async () => {
    const before = storedFiles(registry);
    for (const name of ["index.json", "manifest.json", "oci-layout", "airlock-bundle.json"]) {
      // 5 MiB declared, 64 KiB sent, the rest held back.
      const answer = await postHeldOpen(registry, "meta", [headerOnly(name, 5 * MIB), Buffer.alloc(64 * 1024, 0x20)]);
      expect(answer, name).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" });
      expect(answer.message).toContain(`${name} is 5.0 MiB`);
      expect(answer.message).toContain("4.0 MiB");
    }
    await expectNothingLeft("meta", before);
  });

  it("refuses a manifest under blobs/ over the manifest limit as soon as index.json has named it", async () => {
    const img = image(randomBytes(1024));
    const before = storedFiles(registry);
    const answer = await postHeldOpen(registry, "meta", [
      entry("oci-layout", Buffer.from('{"imageLayoutVersion":"1.0.0"}')),
      entry("index.json", img.index),
      headerOnly(blobName(img.manifestDigest), 6 * MIB),
      Buffer.alloc(64 * 1024),
    ]);
    expect(answer).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" });
    expect(answer.message).toContain(`${blobName(img.manifestDigest)} is 6.0 MiB`);
    await expectNothingLeft("meta", before);
  });

  it("stops a gzip bomb at limits.maxImportBytes of decompressed archive, leaving nothing behind", async () => {
    const before = storedFiles(registry);
    // 12 MiB of zeros in 1 MiB entries compress to a few KiB; the gzip stream is left open.
    const entries = Array.from({ length: 12 }, (_, i) => entry(`junk-${i}/layer.tar`, Buffer.alloc(MIB)));
    const compressed = gzipSync(Buffer.concat(entries), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    expect(compressed.length).toBeLessThan(256 * 1024);
    const answer = await postHeldOpen(registry, "bomb", [compressed], { "Content-Type": "application/gzip" });
    expect(answer).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" });
    expect(answer.message).toContain("8.0 MiB");
    expect(answer.message).toContain("limits.maxImportBytes");
    await expectNothingLeft("bomb", before);

    // A whole one, sent to its end, is refused the same way.
    const whole = gzipSync(Buffer.concat([...entries, END_OF_ARCHIVE]));
    expect(await post(registry, "bomb", whole, "application/gzip")).toMatchObject({
      status: 413,
      code: "PAYLOAD_TOO_LARGE",
    });
    await expectNothingLeft("bomb", before);
  });

  it("refuses a body that declares more than the limit before reading it", async () => {
    const answer = await postHeldOpen(registry, "open", [Buffer.alloc(512)], {
      "Content-Length": String(IMPORT_LIMIT + 1),
    });
    expect(answer).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" });
    expect(answer.message).toContain("limits.maxImportBytes");
  });

  it("refuses a blob that would take the project over its remaining quota before writing it", async () => {
    const before = storedFiles(registry);
    const img = image(randomBytes(3 * MIB));
    const { head } = bundleParts(img);
    const answer = await postHeldOpen(registry, "small", [
      head,
      headerOnly(blobName(sha256(img.layer)), img.layer.length),
      img.layer.subarray(0, 64 * 1024),
    ]);
    expect(answer).toMatchObject({ status: 403, code: "FORBIDDEN" });
    expect(answer.message).toContain("will exceed the configured upper limit of 1.00 MiB");
    await expectNothingLeft("small", before);
    // Within the quota, the same project takes an image.
    const fits = await post(registry, "small", bundle(image(randomBytes(100 * 1024))));
    expect(fits.status, fits.message).toBe(200);
  });

  it("exits with 3 and says why when the archive is over a limit, through the API or by itself", async () => {
    const big = path.join(work.dir, "big.tar");
    writeFileSync(big, bundle(image(randomBytes(IMPORT_LIMIT + MIB))));
    const common = [
      "import",
      "--url",
      registry.url,
      "--project",
      "open",
      "--repository",
      "app",
      "--password-file",
      passwordFile,
    ];
    const viaApi = await run(process.execPath, [MAIN, ...common, "--via-api", big]);
    expect(viaApi.status, viaApi.stderr).toBe(3);
    expect(viaApi.stderr).toContain("PAYLOAD_TOO_LARGE");
    expect(viaApi.stderr).toContain("limits.maxImportBytes");

    const oversized = path.join(work.dir, "oversized-index.tar");
    mkdirSync(path.dirname(oversized), { recursive: true });
    writeFileSync(
      oversized,
      Buffer.concat([
        entry("oci-layout", Buffer.from('{"imageLayoutVersion":"1.0.0"}')),
        entry("index.json", Buffer.alloc(5 * MIB, 0x20)),
        END_OF_ARCHIVE,
      ]),
    );
    const pushed = await run(process.execPath, [MAIN, ...common, oversized]);
    expect(pushed.status, pushed.stderr).toBe(3);
    expect(pushed.stderr).toContain("index.json is 5.0 MiB");
    expect(pushed.stderr).not.toContain("has no index.json");
  });
});
