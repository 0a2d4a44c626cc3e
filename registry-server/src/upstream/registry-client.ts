// The generic OCI Distribution / Docker Registry v2 client behind every adapter: `GET /v2/`,
// manifests by tag or digest (bytes verified against their digest, so that Docker digests are
// preserved exactly), blobs (streamed, redirects followed), and tags with `Link` pagination.
// Registry types differ only in their base URL, how repository names are spelled upstream, and
// where the credential comes from; those are the options.

import { PassThrough } from "node:stream";
import { digestOf, parseDigest } from "../content/digest.ts";
import { AuthorizedRequester, type CredentialSource } from "./authorized-requester.ts";
import { BearerTokens } from "./bearer-tokens.ts";
import { discard, readBody, type HttpTransport, type TransportResponse } from "./http-transport.ts";
import { nextPage, parseTags } from "./tag-pagination.ts";
import { describeRequest, statusFailure, transportFailure } from "./upstream-failures.ts";
import {
  UpstreamError,
  type UpstreamBlob,
  type UpstreamEndpoint,
  type UpstreamManifest,
  type UpstreamManifestHead,
  type UpstreamRegistry,
} from "./upstream-registry.ts";

/** Larger than any manifest a registry accepts (ours: 64 MiB at most). */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const MAX_TAG_PAGES = 1_000;
const MAX_TAGS_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface RegistryClientOptions {
  readonly transport: HttpTransport;
  /** Where the v2 API lives; no trailing slash. */
  readonly baseUrl: string;
  readonly credentials: CredentialSource;
  /** The repository's name upstream (Docker Hub's `library/`). */
  readonly repositoryName?: (repository: string) => string;
  /** Tags asked for per page (`n`). */
  readonly tagsPageSize?: number;
  /** Shared token cache (tests count token requests through it). */
  readonly tokens?: BearerTokens;
  /** A requester shared with the write side (replication), whose scheme and tokens it reuses. */
  readonly requester?: AuthorizedRequester;
}

function header(response: TransportResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function mediaTypeOf(response: TransportResponse): string {
  return (header(response, "content-type") ?? "").split(";")[0]?.trim() ?? "";
}

export class RegistryClient implements UpstreamRegistry {
  readonly endpoint: UpstreamEndpoint;
  private readonly options: RegistryClientOptions;
  private readonly requester: AuthorizedRequester;

  constructor(endpoint: UpstreamEndpoint, options: RegistryClientOptions) {
    this.endpoint = endpoint;
    this.options = options;
    this.requester =
      options.requester ??
      new AuthorizedRequester(
        options.transport,
        options.credentials,
        options.tokens ?? new BearerTokens(options.transport),
      );
  }

  async ping(signal?: AbortSignal): Promise<void> {
    const url = this.url("/v2/");
    const response = await this.requester.send({ method: "GET", url, scope: undefined, ...(signal && { signal }) });
    await discard(response);
    if (response.statusCode === 200) return;
    if (response.statusCode === 404) {
      throw new UpstreamError("protocol", `${describeRequest("GET", url)}: 404, not a v2 registry`, { status: 404 });
    }
    throw statusFailure(response.statusCode, response.headers, describeRequest("GET", url));
  }

  async headManifest(
    repository: string,
    reference: string,
    accept: readonly string[],
    signal?: AbortSignal,
  ): Promise<UpstreamManifestHead | undefined> {
    const { response, where } = await this.manifestRequest("HEAD", repository, reference, accept, signal);
    if (response === undefined) return undefined;
    await discard(response);
    const given = header(response, "docker-content-digest");
    const length = header(response, "content-length");
    const digest = given ?? (parseDigest(reference) !== "malformed" ? reference : undefined);
    // Without a digest or a length, the only way to know them is to fetch the manifest.
    if (digest === undefined || length === undefined || !/^\d+$/.test(length)) {
      const manifest = await this.getManifest(repository, reference, accept, signal);
      return manifest && { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size };
    }
    this.checkDigest(digest, reference, where);
    return { digest, mediaType: mediaTypeOf(response), size: Number(length) };
  }

  async getManifest(
    repository: string,
    reference: string,
    accept: readonly string[],
    signal?: AbortSignal,
  ): Promise<UpstreamManifest | undefined> {
    const { response, where } = await this.manifestRequest("GET", repository, reference, accept, signal);
    if (response === undefined) return undefined;
    let content: Buffer | "too-large";
    try {
      content = await readBody(response.body, MAX_MANIFEST_BYTES);
    } catch (err) {
      throw transportFailure(err, where, signal);
    }
    if (content === "too-large") throw new UpstreamError("protocol", `${where}: manifest larger than allowed`);
    const given = header(response, "docker-content-digest");
    const expected = given ?? (parseDigest(reference) !== "malformed" ? reference : undefined);
    if (expected !== undefined) this.checkDigest(expected, reference, where);
    const parsed = expected === undefined ? undefined : parseDigest(expected);
    const algorithm = parsed === undefined || typeof parsed === "string" ? "sha256" : parsed.algorithm;
    const digest = digestOf(algorithm, content);
    if (expected !== undefined && digest !== expected) {
      throw new UpstreamError("protocol", `${where}: the manifest's bytes do not match its digest ${expected}`);
    }
    let mediaType = mediaTypeOf(response);
    if (mediaType === "" || mediaType === "application/json" || mediaType === "text/plain") {
      mediaType = embeddedMediaType(content) ?? mediaType;
    }
    return { digest, mediaType, size: content.length, content };
  }

  async getBlob(repository: string, digest: string, signal?: AbortSignal): Promise<UpstreamBlob | undefined> {
    const name = this.repository(repository);
    const url = this.url(`/v2/${name}/blobs/${digest}`);
    const where = describeRequest("GET", url);
    const response = await this.requester.send({
      method: "GET",
      url,
      scope: pullScope(name),
      ...(signal && { signal }),
    });
    if (response.statusCode === 404) {
      await discard(response);
      return undefined;
    }
    if (response.statusCode !== 200) {
      await discard(response);
      throw statusFailure(response.statusCode, response.headers, where);
    }
    const length = header(response, "content-length");
    if (length === undefined || !/^\d+$/.test(length)) {
      response.body.destroy();
      throw new UpstreamError("protocol", `${where}: no Content-Length`);
    }
    // Errors while the body streams come out as UpstreamErrors too (a timeout, a reset).
    const body = new PassThrough();
    // They are the reader's to see, and it does: reading an errored stream rejects. A reader that
    // has not started yet (the proxy cache starts on the next turn) or has stopped leaves the
    // error without a listener, which would end the process: a reset connection must not.
    body.on("error", () => undefined);
    response.body.on("error", (err) => body.destroy(transportFailure(err, where, signal)));
    body.on("close", () => {
      if (!response.body.readableEnded) response.body.destroy();
    });
    response.body.pipe(body);
    return { digest, size: Number(length), body };
  }

  async listTags(repository: string, limit: number, signal?: AbortSignal): Promise<string[] | undefined> {
    const name = this.repository(repository);
    const pageSize = Math.max(1, Math.min(limit, this.options.tagsPageSize ?? 100));
    let url: URL | undefined = this.url(`/v2/${name}/tags/list?n=${pageSize}`);
    const tags: string[] = [];
    for (let page = 0; url && tags.length < limit && page < MAX_TAG_PAGES; page++) {
      const where = describeRequest("GET", url);
      const response = await this.requester.send({
        method: "GET",
        url,
        scope: pullScope(name),
        headers: { Accept: "application/json" },
        ...(signal && { signal }),
      });
      if (response.statusCode === 404 && page === 0) {
        await discard(response);
        return undefined;
      }
      if (response.statusCode !== 200) {
        await discard(response);
        throw statusFailure(response.statusCode, response.headers, where);
      }
      let body: Buffer | "too-large";
      try {
        body = await readBody(response.body, MAX_TAGS_RESPONSE_BYTES);
      } catch (err) {
        throw transportFailure(err, where, signal);
      }
      if (body === "too-large") throw new UpstreamError("protocol", `${where}: tag list too large`);
      tags.push(...parseTags(body, where));
      url = nextPage(header(response, "link"), url, where);
    }
    return tags.slice(0, limit);
  }

  async close(): Promise<void> {
    await this.options.transport.close();
  }

  private async manifestRequest(
    method: "GET" | "HEAD",
    repository: string,
    reference: string,
    accept: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<{ response: TransportResponse | undefined; where: string }> {
    const name = this.repository(repository);
    const url = this.url(`/v2/${name}/manifests/${reference}`);
    const where = describeRequest(method, url);
    const response = await this.requester.send({
      method,
      url,
      scope: pullScope(name),
      headers: { Accept: accept.join(", ") },
      ...(signal && { signal }),
    });
    if (response.statusCode === 200) return { response, where };
    await discard(response);
    if (response.statusCode === 404) return { response: undefined, where };
    throw statusFailure(response.statusCode, response.headers, where);
  }

  /** The upstream's digest must be well-formed and, when asked by digest, the one asked for. */
  private checkDigest(digest: string, reference: string, where: string): void {
    const parsed = parseDigest(digest);
    if (typeof parsed === "string") throw new UpstreamError("protocol", `${where}: ${parsed} digest ${digest}`);
    if (parseDigest(reference) !== "malformed" && reference !== digest) {
      throw new UpstreamError("protocol", `${where}: asked for ${reference}, the registry answered ${digest}`);
    }
  }

  private repository(repository: string): string {
    return this.options.repositoryName ? this.options.repositoryName(repository) : repository;
  }

  private url(pathAndQuery: string): URL {
    return new URL(`${this.options.baseUrl}${pathAndQuery}`);
  }
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

function embeddedMediaType(content: Buffer): string | undefined {
  try {
    const value = (JSON.parse(content.toString("utf8")) as { mediaType?: unknown }).mediaType;
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}
