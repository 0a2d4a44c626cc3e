// The portal's browser sessions: signing a user in and out, finding the session a request
// presents, and authenticating a management API request through it, as Harbor's session security
// context does, CSRF check included.
//
// - Sessions are rows of the database (metadata/session-store.ts), so that every worker and every
//   replica knows them: a sign-out, a revocation or an expiry counts everywhere at once.
// - A session ends when unused for the `session_timeout` setting (Harbor's, minutes, default 60),
//   and 12 hours after sign-in whatever the activity. Its last-seen time is written at most once
//   a minute, so that a busy page does not make every request a write.
// - Ended rows are purged at each sign-in, the only moment rows are added, and a session found
//   ended is deleted on the spot: the table cannot grow without sign-ins, and each user holds at
//   most MAX_SESSIONS_PER_USER (the oldest dropped), so signing in again and again cannot fill it.
// - Each sign-in makes a new id (no fixation) and ends the session the browser presented.
// - Unsafe methods authenticated by a session must carry the session's CSRF token (csrf-token.ts);
//   Basic credentials, which no other site can make a browser send, are checked first and need
//   none (Harbor orders them before the session too).
// - The principal is read from the users table on each request: a deleted user's sessions are
//   gone with the row, and a changed administrator flag counts at once.

import type { IncomingMessage } from "node:http";
import { HarborError } from "../http/errors.ts";
import type { Guard } from "../http/router.ts";
import type { IdentityAreas } from "../metadata/identity-store.ts";
import type { SessionMetadata } from "../metadata/session-store.ts";
import { userPrincipal } from "./credential-authenticator.ts";
import { CSRF_HEADER, type CsrfTokens } from "./csrf-token.ts";
import type { Principal } from "./principal.ts";
import { hashSessionId, newSessionId, sessionCookie, sessionIdOf } from "./session-cookie.ts";

/** The absolute lifetime of a session, whatever its activity. */
export const SESSION_LIFETIME_MS = 12 * 3_600_000;
/** Sessions a user may hold at once; signing in beyond ends their oldest. */
export const MAX_SESSIONS_PER_USER = 50;
/** The last-seen time is written at most this often per session. */
export const TOUCH_INTERVAL_MS = 60_000;

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** A request with an Authorization header authenticates by it alone: its cookie is not looked at. */
function usesSession(req: IncomingMessage): boolean {
  return req.headers.authorization === undefined;
}

/** A valid session presented by a request. */
export interface ActiveSession {
  readonly principal: Principal;
  readonly sessionId: string;
  readonly csrfToken: string;
}

export interface SignedIn {
  /** The Set-Cookie value. */
  readonly cookie: string;
  readonly csrfToken: string;
}

export interface SessionServiceOptions {
  store: { sessions: SessionMetadata } & Pick<IdentityAreas, "users">;
  csrf: CsrfTokens;
  /** The idle timeout in minutes (the `session_timeout` setting). */
  idleTimeoutMinutes: () => Promise<number>;
  /** Milliseconds since the epoch; tests move it hours ahead. */
  now?: () => number;
}

export class SessionService {
  private readonly sessions: SessionMetadata;
  private readonly users: IdentityAreas["users"];
  private readonly csrf: CsrfTokens;
  private readonly idleTimeoutMinutes: () => Promise<number>;
  private readonly now: () => number;
  /** Each request's session, looked up once however many parts ask. */
  private readonly resolved = new WeakMap<IncomingMessage, Promise<ActiveSession | undefined>>();

  constructor(options: SessionServiceOptions) {
    this.sessions = options.store.sessions;
    this.users = options.store.users;
    this.csrf = options.csrf;
    this.idleTimeoutMinutes = options.idleTimeoutMinutes;
    this.now = options.now ?? Date.now;
  }

  /**
   * Starts a session for the user, ending the one `req` presented (when it did); purges the
   * sessions that have ended.
   */
  async signIn(userId: number, req: IncomingMessage): Promise<SignedIn> {
    const now = this.now();
    await this.sessions.purge(new Date(now), new Date(now - (await this.idleMs())));
    const previous = sessionIdOf(req);
    if (previous !== undefined) await this.sessions.delete(hashSessionId(previous));
    const id = newSessionId();
    await this.sessions.create(
      {
        idHash: hashSessionId(id),
        userId,
        createdAt: new Date(now),
        expiresAt: new Date(now + SESSION_LIFETIME_MS),
      },
      MAX_SESSIONS_PER_USER,
    );
    return { cookie: sessionCookie(id, SESSION_LIFETIME_MS / 1000), csrfToken: this.csrf.tokenFor(id) };
  }

  /** Ends the session `req` presents, if any. */
  async signOut(req: IncomingMessage): Promise<void> {
    const id = sessionIdOf(req);
    if (id !== undefined) await this.sessions.delete(hashSessionId(id));
  }

  /** Ends every session of the user but the one `keep` presents (a password change made through it). */
  async revokeUser(userId: number, keep?: IncomingMessage): Promise<number> {
    const kept = keep && sessionIdOf(keep);
    return this.sessions.deleteForUser(userId, kept === undefined ? undefined : hashSessionId(kept));
  }

  /** The valid session `req` presents; undefined when none (absent, unknown, ended, its user gone). */
  resolve(req: IncomingMessage): Promise<ActiveSession | undefined> {
    let found = this.resolved.get(req);
    if (!found) {
      found = this.load(req);
      this.resolved.set(req, found);
    }
    return found;
  }

  /**
   * The principal of the session `req` presents, for the management API; undefined when none.
   * A change (an unsafe method) must carry the session's CSRF token: Harbor's 403 otherwise.
   */
  async authenticate(req: IncomingMessage): Promise<Principal | undefined> {
    if (!usesSession(req)) return undefined;
    const session = await this.resolve(req);
    if (!session) return undefined;
    if (SAFE_METHODS.has((req.method ?? "GET").toUpperCase())) return session.principal;
    const header = req.headers[CSRF_HEADER.toLowerCase()];
    const given = Array.isArray(header) ? header[0] : header;
    // gorilla/csrf's failure reasons, which Harbor answers with.
    if (given === undefined || given === "") throw new HarborError("FORBIDDEN", "CSRF token not found in request");
    if (!this.csrf.matches(session.sessionId, given)) throw new HarborError("FORBIDDEN", "CSRF token invalid");
    return session.principal;
  }

  /**
   * Sends the CSRF token on every management API response to a request authenticated by its
   * session (refusals included), as Harbor does: the portal learns it after a reload from any
   * call, `users/current` first. Requests with an Authorization header are not authenticated by
   * their session and get none.
   */
  tokenGuard(): Guard {
    return async (ctx) => {
      if (!ctx.url.pathname.startsWith("/api/") || !usesSession(ctx.req)) return;
      const session = await this.resolve(ctx.req);
      if (session) ctx.res.setHeader(CSRF_HEADER, session.csrfToken);
    };
  }

  private async load(req: IncomingMessage): Promise<ActiveSession | undefined> {
    const id = sessionIdOf(req);
    if (id === undefined) return undefined;
    const idHash = hashSessionId(id);
    const record = await this.sessions.get(idHash);
    if (!record) return undefined;
    const now = this.now();
    const idle = now - record.lastSeenAt.getTime() >= (await this.idleMs());
    if (idle || record.expiresAt.getTime() <= now) {
      await this.sessions.delete(idHash);
      return undefined;
    }
    const user = await this.users.get(record.userId);
    if (!user) return undefined;
    if (now - record.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS) await this.sessions.touch(idHash, new Date(now));
    return { principal: userPrincipal(user), sessionId: id, csrfToken: this.csrf.tokenFor(id) };
  }

  private async idleMs(): Promise<number> {
    return Math.max(1, await this.idleTimeoutMinutes()) * 60_000;
  }
}
