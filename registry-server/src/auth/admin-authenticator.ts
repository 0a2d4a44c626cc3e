// Authenticates HTTP basic credentials against the admin account. Verified credentials are
// remembered for a few minutes (by a SHA-256 of the pair, never the password itself) so that
// clients sending basic auth on every request do not pay the slow hash each time.

import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { verifyPassword } from "./password-hash.ts";

export interface Principal {
  readonly username: string;
  readonly kind: "admin";
}

export interface Credentials {
  username: string;
  password: string;
}

const VERIFIED_TTL_MS = 5 * 60 * 1000;
const VERIFIED_MAX_ENTRIES = 1024;

/** Parses `Authorization: Basic …`; undefined when absent or malformed. */
export function basicCredentials(req: IncomingMessage): Credentials | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sameText(a: string, b: string): boolean {
  const left = createHash("sha256").update(a).digest();
  const right = createHash("sha256").update(b).digest();
  return timingSafeEqual(left, right);
}

export class AdminAuthenticator {
  private readonly verified = new Map<string, number>();
  private readonly username: string;
  private readonly passwordHash: string;
  private readonly now: () => number;

  constructor(admin: { username: string; passwordHash: string }, now: () => number = Date.now) {
    this.username = admin.username;
    this.passwordHash = admin.passwordHash;
    this.now = now;
  }

  async authenticate(credentials: Credentials | undefined): Promise<Principal | undefined> {
    if (!credentials) return undefined;
    const key = createHash("sha256").update(`${credentials.username}\0${credentials.password}`).digest("hex");
    const expiry = this.verified.get(key);
    if (expiry !== undefined && expiry > this.now()) return { username: this.username, kind: "admin" };

    // Hash even for an unknown user name, so timing does not reveal which names exist.
    const passwordMatches = await verifyPassword(credentials.password, this.passwordHash);
    if (!sameText(credentials.username, this.username) || !passwordMatches) return undefined;

    if (this.verified.size >= VERIFIED_MAX_ENTRIES) this.verified.clear();
    this.verified.set(key, this.now() + VERIFIED_TTL_MS);
    return { username: this.username, kind: "admin" };
  }
}
