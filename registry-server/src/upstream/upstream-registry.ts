// The upstream adapter contract: how the proxy cache, registry pings and (later) replication talk
// to another registry. One adapter per registry type (Docker Hub, GHCR, Quay, GCR, ECR, ACR,
// Harbor, any v2 registry) hides that type's authentication and naming rules; callers only see
// repositories, references and digests.
//
// An adapter answers "not there" with `undefined` and every other failure with an UpstreamError
// whose `kind` says what went wrong, so that the proxy cache can serve a cached copy on any
// failure and count failures per kind.

import type { Readable } from "node:stream";

/** Registry types, with Harbor's names (`/api/v2.0/replication/adapters`). */
export const UPSTREAM_TYPES = [
  "docker-hub",
  "docker-registry",
  "harbor",
  "github-ghcr",
  "quay",
  "google-gcr",
  "aws-ecr",
  "azure-acr",
] as const;

export type UpstreamType = (typeof UPSTREAM_TYPES)[number];

/** A registry endpoint as the adapters need it: the stored record with its secret decrypted. */
export interface UpstreamEndpoint {
  readonly id: number;
  readonly name: string;
  readonly type: UpstreamType;
  /** Base URL, e.g. "https://registry-1.docker.io"; no trailing slash. */
  readonly url: string;
  /** Absent for anonymous access. */
  readonly credential?: UpstreamCredential;
  /** Skip TLS certificate verification (Harbor's `insecure`). */
  readonly insecure: boolean;
  /** PEM bundle trusted for this endpoint in addition to the system's CAs. */
  readonly caCertificate?: string;
}

export interface UpstreamCredential {
  /** Harbor's credential types: "basic" (user name and password or token), "oauth". */
  readonly type: "basic" | "oauth";
  /** User name, robot name, or (ECR) the access key id. */
  readonly accessKey: string;
  /** Password, token, or (ECR) the secret access key. */
  readonly accessSecret: string;
}

export interface UpstreamManifestHead {
  /** The digest the upstream gives (`Docker-Content-Digest`), or that of the bytes it sent. */
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
}

export interface UpstreamManifest extends UpstreamManifestHead {
  /** The manifest's exact bytes: its digest must match `digest`. */
  readonly content: Buffer;
}

export interface UpstreamBlob {
  readonly digest: string;
  /** From `Content-Length`. */
  readonly size: number;
  /** The bytes, unverified: the caller hashes them while they stream. */
  readonly body: Readable;
}

export interface UpstreamRegistry {
  readonly endpoint: UpstreamEndpoint;

  /** Checks that the registry answers `GET /v2/` and, when there is a credential, accepts it. */
  ping(signal?: AbortSignal): Promise<void>;

  /**
   * `HEAD` of a manifest by tag or digest, asking for the given media types.
   * @returns undefined when the upstream says the manifest or repository does not exist (404)
   * @throws UpstreamError for any other outcome
   */
  headManifest(
    repository: string,
    reference: string,
    accept: readonly string[],
    signal?: AbortSignal,
  ): Promise<UpstreamManifestHead | undefined>;

  /** `GET` of a manifest; same outcomes as `headManifest`. */
  getManifest(
    repository: string,
    reference: string,
    accept: readonly string[],
    signal?: AbortSignal,
  ): Promise<UpstreamManifest | undefined>;

  /** `GET` of a blob; same outcomes. The caller must consume or destroy `body`. */
  getBlob(repository: string, digest: string, signal?: AbortSignal): Promise<UpstreamBlob | undefined>;

  /** Tags of a repository, following `Link` pagination up to `limit` tags. */
  listTags(repository: string, limit: number, signal?: AbortSignal): Promise<string[] | undefined>;

  /** Releases connections (keep-alive pools, proxy tunnels). */
  close(): Promise<void>;
}

/** Why an upstream request failed, as the proxy cache and the metrics count it. */
export type UpstreamFailure =
  | "unreachable" // DNS, connection refused or reset, TLS failure
  | "timeout"
  | "unauthorized" // 401/403 after authenticating: wrong or expired credentials
  | "rate-limited" // 429
  | "server-error" // 5xx
  | "protocol"; // an answer that breaks the specification (bad digest, missing header, bad JSON)

export class UpstreamError extends Error {
  override name = "UpstreamError";
  readonly kind: UpstreamFailure;
  /** The upstream's HTTP status, when it answered. */
  readonly status: number | undefined;
  /** Seconds the upstream asked us to wait (`Retry-After`), when it did. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    kind: UpstreamFailure,
    message: string,
    options: { status?: number; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Egress settings shared by every adapter: the corporate proxy a DMZ firewall demands. */
export interface EgressSettings {
  /** Proxy for http:// upstreams, e.g. "http://proxy.corp:3128". */
  readonly httpProxy?: string;
  /** Proxy for https:// upstreams (CONNECT tunnels). */
  readonly httpsProxy?: string;
  /** Hosts reached directly: comma-separated names, ".suffix" domains, IPs or CIDRs, "*". */
  readonly noProxy?: string;
  /** Per-request budget for connecting and receiving the first byte. */
  readonly timeoutMs: number;
}

/** Builds the adapter for an endpoint; the one place that knows every registry type. */
export type UpstreamFactory = (endpoint: UpstreamEndpoint) => UpstreamRegistry;
