// The CSRF token of a session, in Harbor's protocol: the portal reads it from the
// `X-Harbor-CSRF-Token` response header and sends it back in the same header with every change
// (POST, PUT, PATCH, DELETE) it makes through its session. A page of another site can make the
// browser send the session cookie (were it not SameSite), but it cannot read a response header
// of this origin, so it cannot send the token.
//
// The token is an HMAC of the session id under a server key, not a stored random value: nothing
// to store or look up, and the same token on every worker and replica that shares the key
// (derived from the secret-box key, which replicas already share: secret-box.ts). It changes
// with the session, so a new sign-in gives a new token. Harbor's gorilla/csrf tokens are masked
// differently on each response; a client only ever echoes the last one it saw, which works with
// a fixed token too.

import { createHmac, timingSafeEqual } from "node:crypto";

export const CSRF_HEADER = "X-Harbor-CSRF-Token";

/** The HKDF purpose under which the token key is derived from the secret-box key. */
export const CSRF_KEY_PURPOSE = "airlock portal csrf token v1";

export class CsrfTokens {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length < 32) throw new Error("a CSRF token key has at least 32 bytes");
    this.key = key;
  }

  /** The token of the session whose id is `sessionId`: 43 base64url characters. */
  tokenFor(sessionId: string): string {
    return createHmac("sha256", this.key).update(`csrf\0${sessionId}`).digest("base64url");
  }

  /** Whether `given` is the session's token, compared in constant time. */
  matches(sessionId: string, given: string | undefined): boolean {
    if (given === undefined) return false;
    const expected = Buffer.from(this.tokenFor(sessionId), "utf8");
    const actual = Buffer.from(given, "utf8");
    // The length of a token is public (always 43): comparing it first reveals nothing.
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
