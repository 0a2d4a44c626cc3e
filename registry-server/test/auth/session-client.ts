// The portal's side of a session, for the session tests: signing in through Harbor's form, then
// calling the management API with the cookie (and the CSRF token when asked), over fetch with
// bounded waits, the way a browser would but with the headers under the test's control.

import { expect } from "vitest";
import type { Credentials } from "../api/harbor-client.ts";

const REQUEST_TIMEOUT_MS = 10_000;
/** What the sign-in must set, exactly: attributes, order and lifetime (12 h). */
export const SESSION_COOKIE_PATTERN =
  /^sid=([A-Za-z0-9_-]{43}); Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=43200$/;

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

export interface Session {
  /** The `sid` value. */
  id: string;
  /** The `Cookie` header that carries it. */
  cookie: string;
  csrfToken: string;
}

async function reply(response: Response): Promise<Reply> {
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** POST /c/login with a form body (or the body and type given). */
export async function postLogin(
  base: string,
  credentials: Credentials,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const form = new URLSearchParams({ principal: credentials.username, password: credentials.password });
  return reply(
    await fetch(`${base}/c/login`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...options.headers },
      body: options.body ?? form.toString(),
      redirect: "manual",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    }),
  );
}

/** Signs in and checks Harbor's success reply; the session it gave. */
export async function signIn(
  base: string,
  credentials: Credentials,
  headers: Record<string, string> = {},
): Promise<Session> {
  const answer = await postLogin(base, credentials, { headers });
  expect(answer.status, answer.text).toBe(200);
  expect(answer.text).toBe("");
  expect(answer.headers.get("cache-control")).toBe("no-store");
  const cookies = answer.headers.getSetCookie();
  expect(cookies).toHaveLength(1);
  const match = SESSION_COOKIE_PATTERN.exec(cookies[0] ?? "");
  expect(match, cookies[0]).not.toBeNull();
  const csrfToken = answer.headers.get("x-harbor-csrf-token") ?? "";
  expect(csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const id = match?.[1] ?? "";
  return { id, cookie: `sid=${id}`, csrfToken };
}

/**
 * A call to `path` (under /api/v2.0 unless it starts with "/c/" or "/v2") through the session;
 * `csrf` is the token header to send, "session" meaning the session's own.
 */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { session?: Session; csrf?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.session) headers["Cookie"] = options.session.cookie;
  if (options.csrf !== undefined) {
    headers["X-Harbor-CSRF-Token"] = options.csrf === "session" ? (options.session?.csrfToken ?? "") : options.csrf;
  }
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  const raw = path.startsWith("/c/") || path.startsWith("/v2");
  return reply(
    await fetch(`${base}${raw ? "" : "/api/v2.0"}${path}`, {
      method,
      headers,
      ...(body !== undefined && { body }),
      redirect: "manual",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    }),
  );
}

/** The user the session is signed in as (users/current), or the status when it is not. */
export async function currentUser(base: string, session: Session): Promise<string | number> {
  const answer = await call(base, "GET", "/users/current", { session });
  if (answer.status !== 200) return answer.status;
  return (JSON.parse(answer.text) as { username: string }).username;
}

/** Harbor's error JSON's code and message. */
export function harborError(answer: Reply): { status: number; code?: string; message?: string } {
  const body = JSON.parse(answer.text) as { errors?: Array<{ code?: string; message?: string }> };
  const [error] = body.errors ?? [];
  return {
    status: answer.status,
    ...(error?.code && { code: error.code }),
    ...(error?.message && { message: error.message }),
  };
}
