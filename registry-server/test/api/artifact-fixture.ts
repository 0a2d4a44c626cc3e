// Content the artifact and tag API tests push through /v2, as docker, helm and cosign would: an
// image with a full config (architecture, OS, runtime config, author label, history), an index
// of two platform images, a Helm chart (its config and a gzipped tar with Chart.yaml,
// values.yaml and README.md), a cosign signature under cosign's tag, and an SBOM referrer.

import { gzipSync } from "node:zlib";
import { BLOCK, END_OF_ARCHIVE, entryHeader, paddingOf } from "../../src/transfer/tar-format.ts";
import { descriptorOf, OCI_INDEX, OCI_MANIFEST, sha256, type OciClient } from "../distribution/oci-client.ts";

export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json";
export const HELM_CONTENT = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
export const COSIGN_SIGNATURE = "application/vnd.dev.cosign.simplesigning.v1+json";
export const SBOM_TYPE = "application/spdx+json";

export interface Pushed {
  digest: string;
  /** The manifest's bytes. */
  bytes: Buffer;
  /** Harbor's size: the manifest with its config and layers. */
  size: number;
}

export interface ImageOptions {
  architecture?: string;
  os?: string;
  /** Distinguishes images pushed with the same platform. */
  seed?: string;
  annotations?: Record<string, string>;
}

/** The config an image carries, as docker build writes it. */
export function imageConfig(options: ImageOptions = {}): Record<string, unknown> {
  return {
    created: "2024-05-06T07:08:09.123456789Z",
    architecture: options.architecture ?? "amd64",
    os: options.os ?? "linux",
    config: {
      Env: ["PATH=/usr/local/bin:/usr/bin"],
      Cmd: ["/app"],
      Labels: { maintainer: "Team <team@example.com>", seed: options.seed ?? "" },
    },
    rootfs: { type: "layers", diff_ids: [sha256("diff")] },
    history: [
      { created: "2024-05-06T07:00:00Z", created_by: "/bin/sh -c #(nop) ADD file:abc in / " },
      { created: "2024-05-06T07:08:09Z", created_by: 'CMD ["/app"]', empty_layer: true },
    ],
  };
}

async function pushManifest(
  client: OciClient,
  repository: string,
  reference: string,
  manifest: Record<string, unknown>,
  mediaType: string,
): Promise<Buffer> {
  const { response, bytes } = await client.pushManifest(repository, reference, manifest, mediaType);
  if (response.status !== 201)
    throw new Error(`pushing ${repository}:${reference}: ${response.status} ${await response.text()}`);
  return bytes;
}

/** Pushes an image, by tag, or by digest alone (untagged) when `tag` is undefined. */
export async function pushRichImage(
  client: OciClient,
  repository: string,
  tag: string | undefined,
  options: ImageOptions = {},
): Promise<Pushed> {
  const config = JSON.stringify(imageConfig(options));
  const layer = `layer ${repository} ${options.seed ?? ""} ${options.architecture ?? "amd64"}`;
  await client.pushBlob(repository, config);
  await client.pushBlob(repository, layer);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf(OCI_CONFIG, config),
    layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
    ...(options.annotations && { annotations: options.annotations }),
  };
  const reference = tag ?? sha256(Buffer.from(JSON.stringify(manifest)));
  const bytes = await pushManifest(client, repository, reference, manifest, OCI_MANIFEST);
  return { digest: sha256(bytes), bytes, size: bytes.length + Buffer.byteLength(config) + Buffer.byteLength(layer) };
}

export interface PushedIndex extends Pushed {
  children: Pushed[];
}

/** An index of a linux/amd64 and a linux/arm64 image, the children pushed by digest only. */
export async function pushIndex(client: OciClient, repository: string, tag: string): Promise<PushedIndex> {
  const amd64 = await pushRichImage(client, repository, undefined, { architecture: "amd64", seed: tag });
  const arm64 = await pushRichImage(client, repository, undefined, { architecture: "arm64", seed: tag });
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      {
        mediaType: OCI_MANIFEST,
        digest: amd64.digest,
        size: amd64.bytes.length,
        platform: { architecture: "amd64", os: "linux" },
      },
      {
        mediaType: OCI_MANIFEST,
        digest: arm64.digest,
        size: arm64.bytes.length,
        platform: { architecture: "arm64", os: "linux", variant: "v8" },
        annotations: { "org.example.note": "arm" },
      },
    ],
  };
  const bytes = await pushManifest(client, repository, tag, index, OCI_INDEX);
  return { digest: sha256(bytes), bytes, size: bytes.length + amd64.size + arm64.size, children: [amd64, arm64] };
}

/** A tar archive of these files, gzipped, as `helm package` writes a chart. */
export function chartArchive(files: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, text] of Object.entries(files)) {
    const body = Buffer.from(text);
    parts.push(
      entryHeader({ name, size: body.length, type: "file", mtime: 1_700_000_000 }),
      body,
      Buffer.alloc(paddingOf(body.length)),
    );
  }
  parts.push(END_OF_ARCHIVE);
  const tar = Buffer.concat(parts);
  if (tar.length % BLOCK !== 0) throw new Error("the archive is not made of whole blocks");
  return gzipSync(tar);
}

export const CHART_VALUES = "replicaCount: 2\nimage:\n  repository: nginx\n";
export const CHART_README = "# demo\n\nA chart for the tests.\n";

/** A Helm chart (apiVersion v2) with one dependency, pushed as helm push does. */
export async function pushChart(client: OciClient, repository: string, version: string): Promise<Pushed> {
  const chartYaml = [
    "apiVersion: v2",
    "name: demo",
    `version: ${version}`,
    "dependencies:",
    "  - name: redis",
    '    version: "17.0.0"',
    "    repository: https://charts.example.com",
    "    condition: redis.enabled",
    "",
  ].join("\n");
  const archive = chartArchive({
    "demo/Chart.yaml": chartYaml,
    "demo/values.yaml": CHART_VALUES,
    "demo/README.md": CHART_README,
    // A subchart's files are not the chart's.
    "demo/charts/redis/values.yaml": "sub: true\n",
  });
  const config = JSON.stringify({ apiVersion: "v2", name: "demo", version });
  await client.pushBlob(repository, config);
  await client.pushBlob(repository, archive);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf(HELM_CONFIG, config),
    layers: [descriptorOf(HELM_CONTENT, archive)],
  };
  const bytes = await pushManifest(client, repository, version, manifest, OCI_MANIFEST);
  return { digest: sha256(bytes), bytes, size: bytes.length + Buffer.byteLength(config) + archive.length };
}

/** A cosign signature of `subject`, tagged `sha256-<hex>.sig` as cosign does without referrers. */
export async function pushCosignSignature(client: OciClient, repository: string, subject: string): Promise<Pushed> {
  const config = JSON.stringify({ architecture: "", os: "", rootfs: { type: "layers", diff_ids: [] } });
  const payload = JSON.stringify({ critical: { image: { "docker-manifest-digest": subject } } });
  await client.pushBlob(repository, config);
  await client.pushBlob(repository, payload);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf(OCI_CONFIG, config),
    layers: [
      descriptorOf(COSIGN_SIGNATURE, payload, { annotations: { "dev.cosignproject.cosign/signature": "MEUC" } }),
    ],
  };
  const bytes = await pushManifest(client, repository, `sha256-${subject.slice(7)}.sig`, manifest, OCI_MANIFEST);
  return { digest: sha256(bytes), bytes, size: bytes.length + Buffer.byteLength(config) + Buffer.byteLength(payload) };
}

/** An SBOM attached to `subject` through the referrers API (a manifest with a subject). */
export async function pushSbom(client: OciClient, repository: string, subject: Pushed): Promise<Pushed> {
  const empty = "{}";
  const sbom = JSON.stringify({ spdxVersion: "SPDX-2.3" });
  await client.pushBlob(repository, empty);
  await client.pushBlob(repository, sbom);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: SBOM_TYPE,
    config: descriptorOf("application/vnd.oci.empty.v1+json", empty),
    layers: [descriptorOf(SBOM_TYPE, sbom)],
    subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.bytes.length },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256(bytes);
  await pushManifest(client, repository, digest, manifest, OCI_MANIFEST);
  return { digest, bytes, size: bytes.length + empty.length + sbom.length };
}
