// Amazon ECR's credential: registries take HTTP basic auth as "AWS" with a password that
// GetAuthorizationToken hands out for 12 hours, in exchange for a request signed (SigV4) with the
// endpoint's access key id and secret access key. The token is cached until shortly before it
// expires, and concurrent requests share one exchange. The call itself is ecr-api.ts's.

import type { BasicCredential } from "./bearer-tokens.ts";
import type { EcrApi } from "./ecr-api.ts";
import { UpstreamError } from "./upstream-registry.ts";

/** Renew this long before the token expires. */
const RENEW_MARGIN_MS = 5 * 60_000;

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

export class EcrCredentials {
  private readonly api: EcrApi;
  private readonly now: () => number;
  private cached: { credential: BasicCredential; renewAt: number } | undefined;
  private pending: Promise<BasicCredential> | undefined;

  constructor(api: EcrApi, now: () => number = Date.now) {
    this.api = api;
    this.now = now;
  }

  async get(): Promise<BasicCredential> {
    const now = this.now();
    if (this.cached && this.cached.renewAt > now) return this.cached.credential;
    this.pending ??= this.exchange().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async exchange(): Promise<BasicCredential> {
    const now = this.now();
    const where = "ECR GetAuthorizationToken";
    const data = parseAuthorization(await this.api.call("GetAuthorizationToken", {}), where);
    const decoded = Buffer.from(data.token, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 1) throw new UpstreamError("protocol", `${where}: malformed authorization token`);
    const credential = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    this.cached = { credential, renewAt: Math.max(now, data.expiresAtMs - RENEW_MARGIN_MS) };
    return credential;
  }
}

function parseAuthorization(json: unknown, where: string): { token: string; expiresAtMs: number } {
  const first = (json as { authorizationData?: { authorizationToken?: unknown; expiresAt?: unknown }[] })
    ?.authorizationData?.[0];
  if (typeof first?.authorizationToken !== "string") {
    throw new UpstreamError("protocol", `${where}: no authorization token`);
  }
  // JSON 1.1 timestamps are epoch seconds; without one, assume ECR's documented 12 hours.
  const expiresAtMs = typeof first.expiresAt === "number" ? first.expiresAt * 1000 : Date.now() + 12 * 3_600_000;
  return { token: first.authorizationToken, expiresAtMs };
}
