// Amazon ECR's credential: registries take HTTP basic auth as "AWS" with a password that
// GetAuthorizationToken hands out for 12 hours, in exchange for a request signed (SigV4) with the
// endpoint's access key id and secret access key. The token is cached until shortly before it
// expires, and concurrent requests share one exchange.

import { signAwsRequest, type AwsCredentials } from "./aws-sigv4.ts";
import type { BasicCredential } from "./bearer-tokens.ts";
import { discard, readBody, type HttpTransport } from "./http-transport.ts";
import { describeRequest, statusFailure, transportFailure } from "./upstream-failures.ts";
import { UpstreamError } from "./upstream-registry.ts";

const TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";
/** Renew this long before the token expires. */
const RENEW_MARGIN_MS = 5 * 60_000;
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** The region of a registry URL `https://<account>.dkr.ecr.<region>.amazonaws.com` (or `.com.cn`). */
export function ecrRegion(url: string): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return undefined;
  }
  return /^\d{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(host)?.[1];
}

export function ecrApiUrl(region: string): string {
  return `https://api.ecr.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}/`;
}

export interface EcrCredentialOptions {
  readonly region: string;
  /** GetAuthorizationToken's URL; ECR's regional API by default (tests point it at loopback). */
  readonly apiUrl?: string;
  readonly now?: () => number;
}

export class EcrCredentials {
  private readonly transport: HttpTransport;
  private readonly aws: AwsCredentials;
  private readonly options: EcrCredentialOptions;
  private cached: { credential: BasicCredential; renewAt: number } | undefined;
  private pending: Promise<BasicCredential> | undefined;

  constructor(transport: HttpTransport, aws: AwsCredentials, options: EcrCredentialOptions) {
    this.transport = transport;
    this.aws = aws;
    this.options = options;
  }

  async get(): Promise<BasicCredential> {
    const now = (this.options.now ?? Date.now)();
    if (this.cached && this.cached.renewAt > now) return this.cached.credential;
    this.pending ??= this.exchange().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async exchange(): Promise<BasicCredential> {
    const now = (this.options.now ?? Date.now)();
    const url = new URL(this.options.apiUrl ?? ecrApiUrl(this.options.region));
    const where = `ECR ${describeRequest("POST", url)}`;
    const body = "{}";
    const headers = { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET };
    const signed = signAwsRequest(
      { method: "POST", url, headers, body },
      this.aws,
      this.options.region,
      "ecr",
      new Date(now),
    );
    const response = await this.transport.send(url, { method: "POST", headers: { ...headers, ...signed }, body });
    let text: string;
    try {
      const read = await readBody(response.body, MAX_RESPONSE_BYTES);
      if (read === "too-large") throw new UpstreamError("protocol", `${where}: answer too large`);
      text = read.toString("utf8");
    } catch (err) {
      await discard(response);
      throw transportFailure(err, where);
    }
    if (response.statusCode !== 200) throw ecrFailure(response.statusCode, response.headers, text, where);
    const data = parseAuthorization(text, where);
    const decoded = Buffer.from(data.token, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 1) throw new UpstreamError("protocol", `${where}: malformed authorization token`);
    const credential = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    this.cached = { credential, renewAt: Math.max(now, data.expiresAtMs - RENEW_MARGIN_MS) };
    return credential;
  }
}

function parseAuthorization(text: string, where: string): { token: string; expiresAtMs: number } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UpstreamError("protocol", `${where}: answer is not JSON`);
  }
  const first = (json as { authorizationData?: { authorizationToken?: unknown; expiresAt?: unknown }[] })
    ?.authorizationData?.[0];
  if (typeof first?.authorizationToken !== "string") {
    throw new UpstreamError("protocol", `${where}: no authorization token`);
  }
  // JSON 1.1 timestamps are epoch seconds; without one, assume ECR's documented 12 hours.
  const expiresAtMs = typeof first.expiresAt === "number" ? first.expiresAt * 1000 : Date.now() + 12 * 3_600_000;
  return { token: first.authorizationToken, expiresAtMs };
}

/** AWS answers most refusals with 400 and a `__type`: sort them into our kinds. */
function ecrFailure(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  text: string,
  where: string,
): UpstreamError {
  let type = "";
  try {
    const value = (JSON.parse(text) as { __type?: unknown }).__type;
    if (typeof value === "string") type = value;
  } catch {
    // Not JSON: the status says enough.
  }
  const name = type.split("#").pop() ?? "";
  if (/Throttl|TooManyRequests|LimitExceeded/.test(name)) {
    return new UpstreamError("rate-limited", `${where}: ${name}`, { status });
  }
  if (
    /UnrecognizedClient|InvalidSignature|AccessDenied|SignatureDoesNotMatch|ExpiredToken|InvalidClientToken/.test(name)
  ) {
    return new UpstreamError("unauthorized", `${where}: ${name}`, { status });
  }
  return statusFailure(status, headers, name ? `${where} (${name})` : where);
}
