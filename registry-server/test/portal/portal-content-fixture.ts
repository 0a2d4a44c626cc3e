// Content for the portal's content tests, pushed to the TLS registry the browser tests start:
// a small client over node:https that trusts the test's own certificate (keep-alive, bounded
// concurrency, bounded waits), Harbor API calls as a user, blobs and manifests through /v2, and
// a two-platform index of images with a full config (their build history).

import { Agent, request as httpsRequest } from "node:https";
import { ADMIN } from "../helpers.ts";
import { descriptorOf, OCI_INDEX, OCI_MANIFEST, sha256 } from "../distribution/oci-client.ts";
import { imageConfig, OCI_CONFIG } from "../api/artifact-fixture.ts";

const REQUEST_TIMEOUT_MS = 15_000;

export interface TlsReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

export class TlsClient {
  private readonly agent: Agent;
  readonly base: string;

  constructor(base: string, ca: string, maxSockets = 16) {
    this.base = base;
    this.agent = new Agent({ ca, keepAlive: true, maxSockets });
  }

  /** `path` under /api/v2.0 unless it starts with /v2; as `auth` (the administrator by default). */
  call(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; auth?: typeof ADMIN } = {},
  ): Promise<TlsReply> {
    const auth = options.auth ?? ADMIN;
    const headers: Record<string, string> = {
      Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`,
      ...options.headers,
    };
    let body: Buffer | undefined;
    if (Buffer.isBuffer(options.body)) body = options.body;
    else if (typeof options.body === "string") body = Buffer.from(options.body);
    else if (options.body !== undefined) {
      body = Buffer.from(JSON.stringify(options.body));
      headers["Content-Type"] ??= "application/json";
    }
    if (body) headers["Content-Length"] = String(body.length);
    const url = new URL(`${path.startsWith("/v2") ? "" : "/api/v2.0"}${path}`, this.base);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method, headers, agent: this.agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  async expect(status: number, method: string, path: string, options: Parameters<TlsClient["call"]>[2] = {}) {
    const reply = await this.call(method, path, options);
    if (reply.status !== status) throw new Error(`${method} ${path}: ${reply.status} ${reply.text}`);
    return reply;
  }

  async pushBlob(repository: string, data: Buffer | string): Promise<string> {
    const digest = sha256(data);
    await this.expect(201, "POST", `/v2/${repository}/blobs/uploads/?digest=${digest}`, {
      body: typeof data === "string" ? Buffer.from(data) : data,
      headers: { "Content-Type": "application/octet-stream" },
    });
    return digest;
  }

  /** Pushes a manifest; returns its digest and size. */
  async pushManifest(
    repository: string,
    reference: string,
    manifest: unknown,
    mediaType: string,
  ): Promise<{ digest: string; size: number }> {
    const bytes = Buffer.from(JSON.stringify(manifest));
    await this.expect(201, "PUT", `/v2/${repository}/manifests/${reference}`, {
      body: bytes,
      headers: { "Content-Type": mediaType },
    });
    return { digest: sha256(bytes), size: bytes.length };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** An image of one platform with docker's config (its history) and one layer; not tagged. */
export async function pushPlatformImage(
  client: TlsClient,
  repository: string,
  architecture: string,
  reference?: string,
): Promise<{ digest: string; size: number }> {
  const seed = `${repository}-${architecture}-${reference ?? "untagged"}`;
  const config = JSON.stringify(imageConfig({ architecture, seed }));
  const layer = Buffer.from(`the layer of ${seed}`);
  await client.pushBlob(repository, config);
  await client.pushBlob(repository, layer);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf(OCI_CONFIG, config),
    layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar", layer)],
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const pushed = await client.pushManifest(repository, reference ?? sha256(bytes), manifest, OCI_MANIFEST);
  return pushed;
}

/** An index of a linux/amd64 and a linux/arm64 image, tagged `tag`. */
export async function pushTwoPlatformIndex(
  client: TlsClient,
  repository: string,
  tag: string,
): Promise<{ index: string; children: [string, string] }> {
  const amd64 = await pushPlatformImage(client, repository, "amd64");
  const arm64 = await pushPlatformImage(client, repository, "arm64");
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      {
        mediaType: OCI_MANIFEST,
        digest: amd64.digest,
        size: amd64.size,
        platform: { os: "linux", architecture: "amd64" },
      },
      {
        mediaType: OCI_MANIFEST,
        digest: arm64.digest,
        size: arm64.size,
        platform: { os: "linux", architecture: "arm64" },
      },
    ],
  };
  const { digest } = await client.pushManifest(repository, tag, index, OCI_INDEX);
  return { index: digest, children: [amd64.digest, arm64.digest] };
}
