// What the built-in scanner's tests scan and scan against, all made here: a vulnerable image
// (Alpine's os-release and apk database listing packages at chosen versions, and an npm package
// installed under node_modules, which is what Trivy reads in an image: it skips lock files there),
// and a small Trivy vulnerability database written by Trivy's own database package
// (test/fixtures/trivy-db, built by scripts/tools/go-tools.sh) from advisories the test chooses,
// packed as Trivy's OCI artifact and pushed into the registry like ghcr.io's.

import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";
import { TRIVY_DB_CONFIG, TRIVY_DB_LAYER } from "../../src/scan/trivy/database-artifact.ts";
import { END_OF_ARCHIVE, entryHeader, paddingOf } from "../../src/transfer/tar-format.ts";
import { descriptorOf, OCI_MANIFEST, sha256, type OciClient } from "../distribution/oci-client.ts";

const execFileAsync = promisify(execFile);

export const TOOLS = path.resolve(import.meta.dirname, "../../../.tools/bin");
export const TRIVY = path.join(TOOLS, "trivy");
const DB_FIXTURE = path.join(TOOLS, "trivy-db-fixture");

/** An advisory as test/fixtures/trivy-db/main.go takes it. */
export type Advisory =
  | { os: "alpine" | "debian"; release: string; package: string; id: string; fixedVersion: string }
  | { lang: "npm"; package: string; id: string; vulnerableVersions: string[]; patchedVersions: string[] };

export interface VulnerabilityDetail {
  id: string;
  title?: string;
  description?: string;
  /** Source ("nvd", "alpine", "ghsa") → "LOW" … "CRITICAL". */
  vendorSeverity: Record<string, string>;
  cvss?: Record<string, { V2Vector?: string; V3Vector?: string; V2Score?: number; V3Score?: number }>;
  cweIds?: string[];
  references?: string[];
}

export interface DatabaseDescription {
  updatedAt: Date;
  nextUpdate: Date;
  advisories: Advisory[];
  vulnerabilities: VulnerabilityDetail[];
}

/** A POSIX tar of the given files (regular files, in order). */
export function tarOf(files: ReadonlyArray<readonly [string, Buffer | string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of files) {
    const body = typeof content === "string" ? Buffer.from(content) : content;
    parts.push(
      entryHeader({ name, size: body.length, type: "file", mtime: 1_700_000_000 }),
      body,
      Buffer.alloc(paddingOf(body.length)),
    );
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

/** Writes trivy.db and metadata.json into `dir` with Trivy's database package. */
export async function writeTrivyDatabase(description: DatabaseDescription, dir: string): Promise<void> {
  const input = path.join(dir, "description.json");
  writeFileSync(
    input,
    JSON.stringify({
      updatedAt: description.updatedAt.toISOString(),
      nextUpdate: description.nextUpdate.toISOString(),
      // As trivy leaves it after a download; the scanner never reads it.
      downloadedAt: description.updatedAt.toISOString(),
      advisories: description.advisories,
      vulnerabilities: description.vulnerabilities,
    }),
  );
  await execFileAsync(DB_FIXTURE, [input, path.join(dir, "db")], { timeout: 60_000 });
}

/** The database as ghcr.io/aquasecurity/trivy-db:2 ships it: db.tar.gz of trivy.db and metadata.json. */
export function databaseLayer(dir: string): Buffer {
  return gzipSync(
    tarOf([
      ["trivy.db", readFileSync(path.join(dir, "db", "trivy.db"))],
      ["metadata.json", readFileSync(path.join(dir, "db", "metadata.json"))],
    ]),
  );
}

async function pushManifest(
  client: OciClient,
  repository: string,
  reference: string,
  manifest: unknown,
): Promise<string> {
  const { response, digest } = await client.pushManifest(repository, reference, manifest, OCI_MANIFEST);
  if (response.status !== 201) {
    throw new Error(`pushing ${repository}:${reference}: ${response.status} ${await response.text()}`);
  }
  return digest;
}

/** Pushes the database layer as Trivy's artifact (config, one titled layer); the layer's digest. */
export async function pushDatabase(client: OciClient, repository: string, tag: string, layer: Buffer): Promise<string> {
  const config = "{}";
  await client.pushBlob(repository, config);
  await client.pushBlob(repository, layer);
  await pushManifest(client, repository, tag, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf(TRIVY_DB_CONFIG, config),
    layers: [descriptorOf(TRIVY_DB_LAYER, layer, { annotations: { "org.opencontainers.image.title": "db.tar.gz" } })],
    annotations: { "org.opencontainers.image.created": new Date().toISOString() },
  });
  return sha256(layer);
}

/** An installed Alpine package, as apk's database lists it. */
export interface ApkPackage {
  name: string;
  version: string;
  /** The source package (apk's origin), which Trivy looks advisories up by. */
  origin?: string;
}

export interface VulnerableImage {
  digest: string;
  /** The one layer's digest and diff ID, which each finding names. */
  layerDigest: string;
  diffId: string;
}

/** Alpine 3.20 with the given apk packages, and npm packages installed under /app/node_modules. */
export function imageLayer(apk: readonly ApkPackage[], npm: Record<string, string>): Buffer {
  const installed = apk
    .map((p) =>
      [
        `P:${p.name}`,
        `V:${p.version}`,
        "A:x86_64",
        `o:${p.origin ?? p.name}`,
        "L:GPL-2.0-only",
        `T:${p.name} for the tests`,
        "",
      ].join("\n"),
    )
    .join("\n");
  const files: Array<[string, string]> = [
    ["etc/alpine-release", "3.20.3\n"],
    ["etc/os-release", 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n'],
    ["lib/apk/db/installed", `${installed}\n`],
    [
      "app/package.json",
      JSON.stringify({ name: "app", version: "1.0.0", dependencies: Object.fromEntries(Object.entries(npm)) }),
    ],
  ];
  for (const [name, version] of Object.entries(npm)) {
    files.push([`app/node_modules/${name}/package.json`, JSON.stringify({ name, version, license: "MIT" })]);
  }
  return gzipSync(tarOf(files));
}

/** Pushes a one-layer image of `layer` (a gzip'd tar) with a config that names its diff ID. */
export async function pushImage(
  client: OciClient,
  repository: string,
  tag: string,
  layer: Buffer,
): Promise<VulnerableImage> {
  const diffId = sha256(gunzipSync(layer));
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["/bin/sh"] },
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created: "2026-01-01T00:00:00Z", created_by: "ADD rootfs /" }],
  });
  await client.pushBlob(repository, config);
  const layerDigest = await client.pushBlob(repository, layer);
  const digest = await pushManifest(client, repository, tag, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf("application/vnd.oci.image.config.v1+json", config),
    layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
  });
  return { digest, layerDigest, diffId };
}

/** A token of the registry's token service for `scope`, asked with `credentials`. */
export async function registryToken(
  base: string,
  scope: string,
  credentials: { username: string; password: string },
): Promise<string> {
  const response = await fetch(`${base}/service/token?service=airlock&scope=${encodeURIComponent(scope)}`, {
    headers: {
      Authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`,
    },
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status !== 200) throw new Error(`token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}
