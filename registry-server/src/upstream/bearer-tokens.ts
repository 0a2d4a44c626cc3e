// The Docker token flow's client side: `GET <realm>?service=…&scope=…`, with the endpoint's
// credential as HTTP basic auth or anonymously, answered by `{"token"|"access_token",
// "expires_in"}`. Tokens are cached per realm, service and scope until shortly before they expire,
// and concurrent requests for one scope share one token request, so that a burst of pulls costs
// one round trip to the token service.

import { describeRequest, statusFailure, transportFailure } from "./upstream-failures.ts";
import { discard, readBody, type HttpTransport } from "./http-transport.ts";
import { UpstreamError } from "./upstream-registry.ts";
import { SingleFlight } from "../single-flight.ts";

export interface BasicCredential {
  readonly username: string;
  readonly password: string;
}

export interface TokenRequest {
  readonly realm: string;
  readonly service: string | undefined;
  /**
   * "repository:library/nginx:pull"; empty for a login check (`GET /v2/`). Several scopes are
   * separated by spaces (a mount asks to push to one repository and pull from another), and sent
   * as one `scope` parameter each, as Docker's clients send them.
   */
  readonly scope: string | undefined;
}

/** The token specification's default when `expires_in` is absent. */
const DEFAULT_TTL_SECONDS = 60;
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;
/** Scopes remembered per endpoint; the oldest is dropped beyond this. */
const MAX_CACHED = 1_000;

interface CachedToken {
  readonly token: string;
  readonly expiresAt: number;
}

export function basicAuthorization(credential: BasicCredential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString("base64")}`;
}

export class BearerTokens {
  private readonly transport: HttpTransport;
  private readonly now: () => number;
  private readonly cache = new Map<string, CachedToken>();
  private readonly inFlight = new SingleFlight<CachedToken>();

  constructor(transport: HttpTransport, now: () => number = Date.now) {
    this.transport = transport;
    this.now = now;
  }

  /** A valid token for the request, from the cache or the token service. */
  async get(request: TokenRequest, credential: BasicCredential | undefined): Promise<string> {
    const key = cacheKey(request);
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.token;
    // Not tied to one caller's abort signal: other callers may be waiting on the same request.
    const fresh = await this.inFlight.run(key, () => this.fetch(request, credential)).promise;
    this.cache.delete(key);
    this.cache.set(key, fresh);
    if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value ?? "");
    return fresh.token;
  }

  /** Drops a token the registry refused (revoked, or expired early). */
  forget(request: TokenRequest): void {
    this.cache.delete(cacheKey(request));
  }

  private async fetch(request: TokenRequest, credential: BasicCredential | undefined): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(request.realm);
    } catch {
      throw new UpstreamError("protocol", "the registry's token realm is not a URL");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new UpstreamError("protocol", "the registry's token realm is not an http(s) URL");
    }
    if (request.service !== undefined) url.searchParams.set("service", request.service);
    for (const scope of (request.scope ?? "").split(" ")) if (scope) url.searchParams.append("scope", scope);
    const where = `token ${describeRequest("GET", url)}`;
    const startedAt = this.now();
    const response = await this.transport.send(url, {
      method: "GET",
      headers: { Accept: "application/json", ...(credential && { Authorization: basicAuthorization(credential) }) },
    });
    if (response.statusCode !== 200) {
      await discard(response);
      throw statusFailure(response.statusCode, response.headers, where);
    }
    let body: Buffer | "too-large";
    try {
      body = await readBody(response.body, MAX_TOKEN_RESPONSE_BYTES);
    } catch (err) {
      throw transportFailure(err, where);
    }
    if (body === "too-large") throw new UpstreamError("protocol", `${where}: answer too large`);
    let json: unknown;
    try {
      json = JSON.parse(body.toString("utf8"));
    } catch {
      throw new UpstreamError("protocol", `${where}: answer is not JSON`);
    }
    const fields = (json ?? {}) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const token = typeof fields.token === "string" && fields.token ? fields.token : fields.access_token;
    if (typeof token !== "string" || token === "") throw new UpstreamError("protocol", `${where}: no token`);
    const ttl =
      typeof fields.expires_in === "number" && fields.expires_in > 0 ? fields.expires_in : DEFAULT_TTL_SECONDS;
    // Renew a little early so that a token never expires between our check and the upstream's.
    const margin = Math.min(10_000, (ttl * 1000) / 10);
    return { token, expiresAt: startedAt + ttl * 1000 - margin };
  }
}

function cacheKey(request: TokenRequest): string {
  return `${request.realm}\n${request.service ?? ""}\n${request.scope ?? ""}`;
}
