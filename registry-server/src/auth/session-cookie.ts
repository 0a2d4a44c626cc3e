// The portal's session cookie, `sid` as Harbor names it: a random id of 32 bytes (base64url), the
// only copy of which is the browser's (the database keeps its SHA-256: session-store.ts).
// `HttpOnly` (no script reads it), `Secure` (never sent over plain HTTP but to a loopback
// address, which browsers treat as secure), `SameSite=Strict` (never sent with a request another
// site starts), `Path=/`, and `Max-Age` the session's absolute lifetime.

import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const SESSION_COOKIE = "sid";

const ID_BYTES = 32;
/** What `newSessionId` makes: anything else in a cookie is not ours and is never looked up. */
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const ATTRIBUTES = "Path=/; HttpOnly; Secure; SameSite=Strict";

export function newSessionId(): string {
  return randomBytes(ID_BYTES).toString("base64url");
}

/** What the store knows a session by. */
export function hashSessionId(id: string): string {
  return createHash("sha256").update(id, "utf8").digest("hex");
}

/** The session id the request's cookies carry, when one has the shape of ours. */
export function sessionIdOf(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const pair of header.split(";")) {
    const equals = pair.indexOf("=");
    if (equals < 0 || pair.slice(0, equals).trim() !== SESSION_COOKIE) continue;
    const value = pair.slice(equals + 1).trim();
    if (ID_PATTERN.test(value)) return value;
  }
  return undefined;
}

/** The Set-Cookie value that gives the browser its session for `maxAgeSeconds`. */
export function sessionCookie(id: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${id}; ${ATTRIBUTES}; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`;
}

/** The Set-Cookie value that makes the browser forget its session. */
export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; ${ATTRIBUTES}; Max-Age=0`;
}
