// A small OCI Distribution client for the tests, over fetch, speaking to an in-process registry
// with the admin's basic credentials unless told otherwise.

import { createHash } from "node:crypto";
import { ADMIN } from "../helpers.ts";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const EMPTY_CONFIG = "application/vnd.oci.empty.v1+json";

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function sha512(data: Uint8Array | string): string {
  return `sha512:${createHash("sha512").update(data).digest("hex")}`;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  [key: string]: unknown;
}

export function descriptorOf(
  mediaType: string,
  data: Uint8Array | string,
  extra: Record<string, unknown> = {},
): Descriptor {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  return { mediaType, digest: sha256(bytes), size: bytes.length, ...extra };
}

export class OciClient {
  readonly base: string;
  authorization: string | undefined;

  /** `null` credentials make an anonymous client. */
  constructor(base: string, credentials: { username: string; password: string } | null = ADMIN) {
    this.base = base;
    this.authorization = credentials
      ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`
      : undefined;
  }

  async request(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: Uint8Array | string } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.authorization && headers["Authorization"] === undefined) headers["Authorization"] = this.authorization;
    const url = path.startsWith("http") ? path : `${this.base}${path}`;
    return fetch(url, { method, headers, ...(init.body !== undefined && { body: init.body }), redirect: "manual" });
  }

  async errorCode(response: Response): Promise<string | undefined> {
    const body = (await response.json()) as { errors?: Array<{ code?: string }> };
    return body.errors?.[0]?.code;
  }

  /** Single-POST monolithic upload (POST then PUT where the registry opens a session instead). */
  async pushBlob(repository: string, data: Uint8Array | string): Promise<string> {
    const digest = sha256(data);
    const response = await this.request("POST", `/v2/${repository}/blobs/uploads/?digest=${digest}`, {
      headers: { "Content-Type": "application/octet-stream" },
      body: typeof data === "string" ? Buffer.from(data) : data,
    });
    if (response.status === 202) {
      // A registry without single-POST uploads (CNCF Distribution 2.8) opens a session instead:
      // the blob then goes in the PUT that closes it.
      await response.body?.cancel();
      const location = new URL(response.headers.get("location") ?? "", this.base);
      location.searchParams.set("digest", digest);
      const put = await this.request("PUT", `${location.pathname}${location.search}`, {
        headers: { "Content-Type": "application/octet-stream" },
        body: typeof data === "string" ? Buffer.from(data) : data,
      });
      if (put.status !== 201) throw new Error(`blob push failed: ${put.status} ${await put.text()}`);
      return digest;
    }
    if (response.status !== 201) throw new Error(`blob push failed: ${response.status} ${await response.text()}`);
    return digest;
  }

  async pushManifest(
    repository: string,
    reference: string,
    manifest: unknown,
    mediaType: string,
  ): Promise<{ response: Response; digest: string; bytes: Buffer }> {
    const bytes = Buffer.from(JSON.stringify(manifest));
    const response = await this.request("PUT", `/v2/${repository}/manifests/${reference}`, {
      headers: { "Content-Type": mediaType },
      body: bytes,
    });
    return { response, digest: sha256(bytes), bytes };
  }

  /** Pushes a config and one layer, then an image manifest; returns the manifest's digest. */
  async pushImage(
    repository: string,
    tag: string,
    options: { layer?: string; mediaType?: string; extra?: Record<string, unknown> } = {},
  ): Promise<{ digest: string; bytes: Buffer }> {
    const mediaType = options.mediaType ?? OCI_MANIFEST;
    const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } });
    const layer = options.layer ?? `layer of ${repository}:${tag}`;
    await this.pushBlob(repository, config);
    await this.pushBlob(repository, layer);
    const docker = mediaType === DOCKER_MANIFEST;
    const manifest = {
      schemaVersion: 2,
      mediaType,
      config: descriptorOf(
        docker ? "application/vnd.docker.container.image.v1+json" : "application/vnd.oci.image.config.v1+json",
        config,
      ),
      layers: [
        descriptorOf(
          docker ? "application/vnd.docker.image.rootfs.diff.tar.gzip" : "application/vnd.oci.image.layer.v1.tar+gzip",
          layer,
        ),
      ],
      ...options.extra,
    };
    const { response, digest, bytes } = await this.pushManifest(repository, tag, manifest, mediaType);
    if (response.status !== 201) throw new Error(`manifest push failed: ${response.status} ${await response.text()}`);
    return { digest, bytes };
  }
}
