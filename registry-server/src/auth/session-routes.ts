// Harbor's sign-in endpoints for the portal (core/controllers/base.go, routed in server/route.go):
// `POST /c/login` with the form fields `principal` and `password`, and `GET /c/log_out`.
//
// As Harbor: 200 with an empty body and the `sid` cookie on success, 401 with an empty body for
// anything else (wrong credentials, an unknown user, a robot account, which cannot sign in, a
// body that is not a form: Harbor reads form fields only, so JSON carries no principal); the
// CSRF token in `X-Harbor-CSRF-Token` on the sign-in reply; log out answers 200 whether or not
// there was a session, on GET only (405 otherwise).
//
// Beyond Harbor: failed sign-ins count in the login throttle like failed basic logins, and a
// throttled one is a 429 with Retry-After (Harbor's lock answers 401); the credentials are read
// from the body only, never from the query string (which Harbor's form reading would accept, and
// which lands in proxies' logs); the body is bounded (413); the reply is `Cache-Control: no-store`.
// Harbor asks a CSRF token of the sign-in itself (gorilla/csrf guards /c/ paths), which a
// browser gets from an earlier reply; here, with no session yet to derive a token from, a
// sign-in a browser says another site started (`Sec-Fetch-Site: cross-site` or `same-site`, or
// an `Origin` that is not the request's host) is refused with Harbor's 403 instead, so that no
// other site can sign a browser in to an account of its choosing.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { ClientAddressOf } from "../http/client-address.ts";
import { HarborError } from "../http/errors.ts";
import type { Router } from "../http/router.ts";
import type { Authentication } from "./credential-authenticator.ts";
import { CSRF_HEADER } from "./csrf-token.ts";
import type { Credentials } from "./principal.ts";
import { clearedSessionCookie } from "./session-cookie.ts";
import type { SessionService } from "./session-service.ts";

/** Far above a form of a name and a password; refuses a body sent to fill memory. */
export const MAX_LOGIN_BODY_BYTES = 8 * 1024;

export interface SessionRoutesDeps {
  credentials: { authenticate(credentials: Credentials, address: string): Promise<Authentication> };
  sessions: SessionService;
  clientAddress: ClientAddressOf;
}

function noStore(res: ServerResponse): void {
  res.setHeader("Cache-Control", "no-store");
}

/** Harbor's refusal of a sign-in: 401, empty. */
function unauthorized(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  noStore(res);
  res.statusCode = 401;
  res.setHeader("Content-Length", "0");
  res.end();
}

function ok(res: ServerResponse): void {
  res.statusCode = 200;
  res.setHeader("Content-Length", "0");
  res.end();
}

/** Whether the browser says another site started the request (Fetch Metadata, else Origin). */
function crossSite(req: IncomingMessage): boolean {
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined) return site === "cross-site" || site === "same-site";
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    // "null" (a sandboxed frame, a redirect across origins) or garbage: not this site.
    return true;
  }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_LOGIN_BODY_BYTES) throw new HarborError("PAYLOAD_TOO_LARGE", "the sign-in form is too large");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_LOGIN_BODY_BYTES) throw new HarborError("PAYLOAD_TOO_LARGE", "the sign-in form is too large");
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

export function addSessionRoutes(router: Router, deps: SessionRoutesDeps): void {
  const { credentials, sessions, clientAddress } = deps;

  router.add("session_login", "POST", /^\/c\/login$/, async (ctx) => {
    const { req, res } = ctx;
    if (crossSite(req)) throw new HarborError("FORBIDDEN", "a sign-in started by another site is refused");
    const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded") return unauthorized(req, res);
    const form = await readForm(req);
    const principal = form.get("principal") ?? "";
    const password = form.get("password") ?? "";
    if (principal === "" || password === "") return unauthorized(req, res);

    const result = await credentials.authenticate({ username: principal, password }, clientAddress(req));
    if (result.outcome === "throttled") {
      throw new HarborError("TOO_MANY_REQUESTS", "too many failed logins: try again later", {
        headers: { "Retry-After": String(result.retryAfterSeconds), "Cache-Control": "no-store" },
      });
    }
    // Robots authenticate to the APIs; they do not sign in, as in Harbor.
    if (result.outcome !== "authenticated" || result.principal.kind !== "user") return unauthorized(req, res);

    const signedIn = await sessions.signIn(result.principal.userId, req);
    noStore(res);
    res.setHeader("Set-Cookie", signedIn.cookie);
    res.setHeader(CSRF_HEADER, signedIn.csrfToken);
    ok(res);
  });

  router.add("session_logout", "GET", /^\/c\/log_out$/, async (ctx) => {
    await sessions.signOut(ctx.req);
    noStore(ctx.res);
    ctx.res.setHeader("Set-Cookie", clearedSessionCookie());
    ok(ctx.res);
  });
}
