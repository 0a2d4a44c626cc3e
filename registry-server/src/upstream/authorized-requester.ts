// Sends requests to one registry with the authorization it asks for. The first 401 tells which
// scheme it uses (`WWW-Authenticate`): Bearer (a token per scope from its token service, sent with
// the credential or anonymously) or Basic. Once known, the scheme is applied up front, so that
// later requests cost no extra round trip; a refused token is dropped and fetched again once.
// Redirects of GET and HEAD are followed (Docker Hub, GHCR and ECR send blobs to a CDN or S3 with
// 307), and the Authorization header never leaves the registry's origin.
//
// Writes (replication) carry bodies. A string or a buffer is sent again after a 401, like a
// body-less request. A stream cannot be: once undici has read it, the bytes are gone, and the
// blob would have to be fetched from the source again. So a streamed body is only ever sent with
// the authorization already in hand: when the scheme is not known yet, a body-less `GET /v2/`
// learns it first (the token for the request's scope is then fetched before the first byte goes
// out). The writer goes further and opens every upload with a body-less `POST` of the same scope,
// so the token a stream carries has just been accepted. A 401 that still answers a stream (a token
// revoked in between) is an "unauthorized" failure; the refused token is dropped first, so that the
// caller's next attempt fetches a fresh one.

import type { Readable } from "node:stream";
import { basicAuthorization, BearerTokens, type BasicCredential, type TokenRequest } from "./bearer-tokens.ts";
import { discard, type HttpMethod, type HttpTransport, type TransportResponse } from "./http-transport.ts";
import { describeRequest } from "./upstream-failures.ts";
import { UpstreamError } from "./upstream-registry.ts";
import { parseChallenges } from "./www-authenticate.ts";

/** The credential to present, fetched per request (ECR's changes every 12 hours). */
export type CredentialSource = (signal?: AbortSignal) => Promise<BasicCredential | undefined>;

type Scheme = { kind: "basic" } | { kind: "bearer"; realm: string; service: string | undefined };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const USER_AGENT = "airlock-registry";

/** A body sent once: `length` becomes its Content-Length. */
export interface StreamedBody {
  readonly stream: Readable;
  readonly length: number;
}

export interface AuthorizedRequest {
  readonly method: HttpMethod;
  readonly url: URL;
  /**
   * "repository:<name>:pull", "repository:<name>:pull,push", several separated by spaces;
   * undefined for `GET /v2/`.
   */
  readonly scope: string | undefined;
  readonly headers?: Readonly<Record<string, string>>;
  /** Strings and buffers are sent again after a 401; a stream never is (see above). */
  readonly body?: string | Buffer | StreamedBody;
  readonly signal?: AbortSignal;
}

function isStreamed(body: AuthorizedRequest["body"]): body is StreamedBody {
  return body !== undefined && typeof body !== "string" && !Buffer.isBuffer(body);
}

export class AuthorizedRequester {
  private readonly transport: HttpTransport;
  private readonly credentials: CredentialSource;
  private readonly tokens: BearerTokens;
  private scheme: Scheme | undefined;
  /** `GET /v2/` was asked for the scheme once; an anonymous registry is not asked again. */
  private probed = false;

  constructor(transport: HttpTransport, credentials: CredentialSource, tokens = new BearerTokens(transport)) {
    this.transport = transport;
    this.credentials = credentials;
    this.tokens = tokens;
  }

  /**
   * Sends the request, authenticating as the registry demands. Any final status other than 401
   * comes back for the caller to judge; a 401 after authenticating is an "unauthorized" error.
   */
  async send(request: AuthorizedRequest): Promise<TransportResponse> {
    const where = describeRequest(request.method, request.url);
    const streamed = isStreamed(request.body);
    if (streamed && this.scheme === undefined && !this.probed) await this.learnScheme(request);
    let authorization = await this.authorization(request.scope, request.signal);
    let response = await this.follow(request, authorization);
    if (response.statusCode !== 401) return response;

    const challenges = parseChallenges(response.headers["www-authenticate"]);
    await discard(response);
    if (isStreamed(request.body)) request.body.stream.destroy();
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params["realm"]);
    const basic = challenges.find((c) => c.scheme === "basic");
    let tokenRequest: TokenRequest | undefined;
    if (bearer) {
      const scheme: Scheme = { kind: "bearer", realm: bearer.params["realm"] ?? "", service: bearer.params["service"] };
      tokenRequest = { realm: scheme.realm, service: scheme.service, scope: request.scope ?? bearer.params["scope"] };
      // The token we sent was refused: it may have been revoked; ask for a new one, once.
      if (authorization?.startsWith("Bearer ")) this.tokens.forget(tokenRequest);
      this.scheme = scheme;
    } else if (basic) {
      this.scheme = { kind: "basic" };
      if (authorization?.startsWith("Basic ")) {
        throw new UpstreamError("unauthorized", `${where}: 401, the credential was refused`, { status: 401 });
      }
    } else {
      throw new UpstreamError("unauthorized", `${where}: 401 without a usable challenge`, { status: 401 });
    }
    if (streamed) {
      throw new UpstreamError("unauthorized", `${where}: 401 after the body was sent (a stream is not sent twice)`, {
        status: 401,
      });
    }
    authorization = await this.authorization(request.scope, request.signal, tokenRequest);
    if (authorization === undefined) {
      throw new UpstreamError("unauthorized", `${where}: 401, the registry demands a credential`, { status: 401 });
    }
    response = await this.follow(request, authorization);
    if (response.statusCode === 401) {
      await discard(response);
      throw new UpstreamError("unauthorized", `${where}: 401 after authenticating`, { status: 401 });
    }
    return response;
  }

  private async authorization(
    scope: string | undefined,
    signal: AbortSignal | undefined,
    tokenRequest?: TokenRequest,
  ): Promise<string | undefined> {
    const scheme = this.scheme;
    if (!scheme) return undefined;
    const credential = await this.credentials(signal);
    if (scheme.kind === "basic") return credential && basicAuthorization(credential);
    const tokenFor = tokenRequest ?? { realm: scheme.realm, service: scheme.service, scope };
    return `Bearer ${await this.tokens.get(tokenFor, credential)}`;
  }

  /**
   * `GET /v2/` without credentials, to learn the scheme before a stream goes out. A registry that
   * answers it without a challenge is taken as anonymous until a 401 says otherwise.
   */
  private async learnScheme(request: AuthorizedRequest): Promise<void> {
    this.probed = true;
    const path = request.url.pathname;
    const root = path.includes("/v2/") ? path.slice(0, path.indexOf("/v2/") + 4) : "/v2/";
    const url = new URL(root, request.url);
    const response = await this.transport.send(url, {
      method: "GET",
      headers: { "User-Agent": USER_AGENT },
      ...(request.signal && { signal: request.signal }),
    });
    const challenges = parseChallenges(response.headers["www-authenticate"]);
    await discard(response);
    if (response.statusCode !== 401) return;
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params["realm"]);
    if (bearer)
      this.scheme = { kind: "bearer", realm: bearer.params["realm"] ?? "", service: bearer.params["service"] };
    else if (challenges.some((c) => c.scheme === "basic")) this.scheme = { kind: "basic" };
  }

  /**
   * Sends, following the redirects of GET and HEAD (a registry does not redirect writes, and a
   * stream could not follow); the Authorization header goes to the first origin only.
   */
  private async follow(request: AuthorizedRequest, authorization: string | undefined): Promise<TransportResponse> {
    const origin = request.url.origin;
    let url = request.url;
    let method = request.method;
    const body = request.body;
    for (let hop = 0; ; hop++) {
      const response = await this.transport.send(url, {
        method,
        headers: {
          "User-Agent": USER_AGENT,
          ...request.headers,
          ...(isStreamed(body) && { "Content-Length": String(body.length) }),
          ...(authorization !== undefined && url.origin === origin && { Authorization: authorization }),
        },
        ...(body !== undefined && { body: isStreamed(body) ? body.stream : body }),
        ...(request.signal && { signal: request.signal }),
      });
      const location = response.headers["location"];
      if (method !== "GET" && method !== "HEAD") return response;
      if (!REDIRECTS.has(response.statusCode) || typeof location !== "string") return response;
      await discard(response);
      if (hop >= MAX_REDIRECTS) {
        throw new UpstreamError("protocol", `${describeRequest(method, request.url)}: too many redirects`);
      }
      const next = new URL(location, url);
      if (next.protocol !== "https:" && next.protocol !== "http:") {
        throw new UpstreamError("protocol", `${describeRequest(method, request.url)}: redirect to a non-HTTP URL`);
      }
      if (response.statusCode === 303) method = "GET";
      url = next;
    }
  }
}
