// The command-line import's client of a running registry's /v2 API: is a blob there (HEAD), can
// it be mounted from another repository the caller reads, upload it in one request with its
// digest (the registry verifies it and keeps nothing that does not match), put a manifest by
// digest with its tags. Credentials go as HTTP basic, which Airlock takes on /v2 as Harbor does.

import type { Readable } from "node:stream";
import { Agent, request, type Dispatcher } from "undici";
import type { ManagementTarget } from "./management-client.ts";

export class PushError extends Error {
  override name = "PushError";
}

/** Long enough for a large layer's upload to be verified and stored after its last byte. */
const ANSWER_TIMEOUT_MS = 10 * 60_000;

export class RegistryPusher {
  private readonly target: ManagementTarget;
  private readonly dispatcher: Agent;

  constructor(target: ManagementTarget) {
    this.target = target;
    this.dispatcher = new Agent({
      connect: target.caPem ? { ca: target.caPem } : {},
      headersTimeout: ANSWER_TIMEOUT_MS,
      bodyTimeout: ANSWER_TIMEOUT_MS,
    });
  }

  private async send(
    method: "HEAD" | "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    options: { headers?: Record<string, string>; body?: Buffer | Readable } = {},
  ): Promise<Dispatcher.ResponseData> {
    const auth = Buffer.from(`${this.target.username}:${this.target.password}`).toString("base64");
    const url = path.startsWith("http") ? path : `${this.target.url}${path}`;
    try {
      return await request(url, {
        method,
        dispatcher: this.dispatcher,
        headers: { authorization: `Basic ${auth}`, ...options.headers },
        ...(options.body !== undefined && { body: options.body }),
      });
    } catch (err) {
      throw new PushError(`${method} ${new URL(url).pathname}: ${(err as Error).message}`);
    }
  }

  private async failure(reply: Dispatcher.ResponseData, what: string): Promise<PushError> {
    const text = await reply.body.text().catch(() => "");
    let detail = `HTTP ${reply.statusCode}`;
    try {
      const first = (JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> }).errors?.[0];
      if (first) detail = `${first.code ?? reply.statusCode}: ${first.message ?? ""}`;
    } catch {
      // Not JSON: the status says enough.
    }
    return new PushError(`${what}: ${detail}`);
  }

  /** Checks that the registry answers and takes the credentials. */
  async check(): Promise<void> {
    const reply = await this.send("GET", "/v2/");
    await reply.body.dump();
    if (reply.statusCode === 401) throw new PushError("the registry refused the credentials");
    if (reply.statusCode !== 200) throw new PushError(`GET /v2/: HTTP ${reply.statusCode}`);
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const reply = await this.send("HEAD", `/v2/${repository}/blobs/${digest}`);
    await reply.body.dump();
    if (reply.statusCode === 200) return true;
    if (reply.statusCode === 404) return false;
    throw await this.failure(reply, `checking ${repository}@${digest}`);
  }

  /** Links a blob the registry holds in another repository (mount without `from`). */
  async mount(repository: string, digest: string): Promise<boolean> {
    const reply = await this.send("POST", `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}`, {
      headers: { "content-length": "0" },
    });
    await reply.body.dump();
    if (reply.statusCode === 201) return true;
    if (reply.statusCode === 202) {
      // Not mountable: the registry opened an upload session instead; close it.
      const location = reply.headers["location"];
      if (typeof location === "string") {
        const target = location.startsWith("http") ? location : `${this.target.url}${location}`;
        await (await this.send("DELETE", target)).body.dump();
      }
      return false;
    }
    throw await this.failure(reply, `mounting ${digest} into ${repository}`);
  }

  /** Uploads a blob in one request; the registry checks its digest and size. */
  async upload(repository: string, digest: string, size: number, body: Readable): Promise<void> {
    const reply = await this.send("POST", `/v2/${repository}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, {
      headers: { "content-type": "application/octet-stream", "content-length": String(size) },
      body,
    });
    if (reply.statusCode === 201) {
      await reply.body.dump();
      return;
    }
    throw await this.failure(reply, `uploading ${digest} to ${repository}`);
  }

  /** Puts a manifest by digest and points its tags at it (OCI-Tag: `?tag=` once per tag). */
  async putManifest(
    repository: string,
    digest: string,
    mediaType: string,
    content: Buffer,
    tags: readonly string[],
  ): Promise<void> {
    const query = tags.map((tag) => `tag=${encodeURIComponent(tag)}`).join("&");
    const reply = await this.send("PUT", `/v2/${repository}/manifests/${digest}${query ? `?${query}` : ""}`, {
      headers: { "content-type": mediaType },
      body: content,
    });
    if (reply.statusCode === 201) {
      await reply.body.dump();
      return;
    }
    throw await this.failure(reply, `storing manifest ${repository}@${digest}`);
  }

  async hasManifest(repository: string, digest: string): Promise<boolean> {
    const reply = await this.send("HEAD", `/v2/${repository}/manifests/${digest}`);
    await reply.body.dump();
    if (reply.statusCode === 200) return true;
    if (reply.statusCode === 404) return false;
    throw await this.failure(reply, `checking ${repository}@${digest}`);
  }

  /**
   * Tries to put an index before its children: "stored" when the registry took it as it is,
   * otherwise the children it says it lacks and requires (every one Airlock names in the error's
   * detail; the first one only, from registries that name one).
   */
  async probeIndex(
    repository: string,
    digest: string,
    mediaType: string,
    content: Buffer,
  ): Promise<"stored" | { required: string[] }> {
    const reply = await this.send("PUT", `/v2/${repository}/manifests/${digest}`, {
      headers: { "content-type": mediaType },
      body: content,
    });
    if (reply.statusCode === 201) {
      await reply.body.dump();
      return "stored";
    }
    const text = await reply.body.text().catch(() => "");
    let first: { code?: string; detail?: { digest?: unknown; missing?: unknown } } | undefined;
    try {
      first = (JSON.parse(text) as { errors?: Array<NonNullable<typeof first>> }).errors?.[0];
    } catch {
      // Not JSON: reported below.
    }
    if (first?.code === "MANIFEST_BLOB_UNKNOWN") {
      const { digest: named, missing } = first.detail ?? {};
      const required = Array.isArray(missing) ? missing : [named];
      return { required: required.filter((d): d is string => typeof d === "string") };
    }
    throw new PushError(
      `storing manifest ${repository}@${digest}: ${first ? `${first.code}` : `HTTP ${reply.statusCode}`}`,
    );
  }

  async deleteManifest(repository: string, digest: string): Promise<void> {
    const reply = await this.send("DELETE", `/v2/${repository}/manifests/${digest}`);
    await reply.body.dump();
    if (reply.statusCode !== 202 && reply.statusCode !== 404) {
      throw new PushError(`deleting manifest ${repository}@${digest}: HTTP ${reply.statusCode}`);
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
