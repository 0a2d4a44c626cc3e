// The token endpoint of Docker's token authentication, at Harbor's path `/service/token`. GET is
// the classic flow (docker, podman, skopeo, crane, oras: basic credentials, or none for anonymous
// pulls); POST is the OAuth2 password grant containerd tries first. Both answer with a signed
// token holding whatever the authorizer grants, which may be less than asked, or nothing.

import type { IncomingMessage, ServerResponse } from "node:http";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import type { AccessEntry } from "./access-scope.ts";
import { parseScopes } from "./access-scope.ts";
import type { Principal } from "./principal.ts";
import type { Authorizer } from "./authorizer.ts";
import type { TokenService } from "./token-service.ts";

export interface TokenRouteDeps {
  tokens: TokenService;
  authorizer: Authorizer;
  /** Authenticates the request's `Authorization: Basic` credentials; undefined when absent or wrong. */
  authenticate: (req: IncomingMessage) => Promise<Principal | undefined>;
  /** This registry's service name: the `service` clients must ask for and the tokens' audience. */
  service: string;
  /** How long a new token lives, in seconds (the `token_expiration` setting); the service's own when absent. */
  ttlSeconds?: () => Promise<number>;
}

const TOKEN_PATH = /^\/service\/token$/;
/** A form holds credentials and a few scopes; anything larger is not a token request. */
const MAX_FORM_BYTES = 8 * 1024;
const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded";
const BASIC_REALM = "airlock";

type OAuthErrorCode = "invalid_request" | "invalid_grant" | "unsupported_grant_type";

async function issueToken(
  res: ServerResponse,
  deps: TokenRouteDeps,
  principal: Principal | undefined,
  requested: AccessEntry[],
): Promise<void> {
  const granted = await deps.authorizer.authorize(principal, requested);
  const issued = deps.tokens.issue(principal?.username ?? "", granted, await deps.ttlSeconds?.());
  // Tokens are credentials: no cache may keep them (RFC 6749, section 5.1).
  res.setHeader("Cache-Control", "no-store");
  res.setHeader("Pragma", "no-cache");
  sendJson(res, 200, {
    token: issued.token,
    access_token: issued.token,
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt.toISOString(),
  });
}

function sendOAuthError(res: ServerResponse, status: number, error: OAuthErrorCode, description: string): void {
  res.setHeader("Cache-Control", "no-store");
  sendJson(res, status, { error, error_description: description });
}

function presentsBasicCredentials(req: IncomingMessage): boolean {
  return /^\s*basic(?:\s|$)/i.test(req.headers.authorization ?? "");
}

/**
 * The password grant carries its credentials in the form. Presenting them as a Basic header on a
 * view of the request lets the one `authenticate` function serve both flows.
 */
function withBasicCredentials(req: IncomingMessage, username: string, password: string): IncomingMessage {
  const authorization = `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
  return Object.create(req, { headers: { value: { ...req.headers, authorization } } }) as IncomingMessage;
}

/** The body, or undefined when it exceeds the limit (the rest is then left unread). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        resolve(undefined);
      } else chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => onError(new Error("request closed before its body was read"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

export function addTokenRoutes(router: Router, deps: TokenRouteDeps): void {
  router.add("token", "GET", TOKEN_PATH, async ({ req, res, url }) => {
    const service = url.searchParams.get("service");
    if (service !== null && service !== deps.service) throw new HarborError("BAD_REQUEST", "unknown service");
    // `account` only repeats the user name of the credentials; the credentials decide.
    const principal = await deps.authenticate(req);
    // No credentials means an anonymous token; wrong ones must fail, so `login` reports them.
    if (!principal && presentsBasicCredentials(req)) {
      res.setHeader("WWW-Authenticate", `Basic realm="${BASIC_REALM}"`);
      throw new HarborError("UNAUTHORIZED", "invalid username or password");
    }
    await issueToken(res, deps, principal, parseScopes(url.searchParams.getAll("scope")));
  });

  router.add("token", "POST", TOKEN_PATH, async ({ req, res }) => {
    const contentType = req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
    if (contentType !== FORM_CONTENT_TYPE) {
      return sendOAuthError(res, 400, "invalid_request", `the body must be ${FORM_CONTENT_TYPE}`);
    }
    const body =
      Number(req.headers["content-length"] ?? 0) > MAX_FORM_BYTES ? undefined : await readBody(req, MAX_FORM_BYTES);
    if (!body) {
      res.setHeader("Connection", "close");
      return sendOAuthError(res, 413, "invalid_request", "the form is too large");
    }
    const form = new URLSearchParams(body.toString("utf8"));

    const service = form.get("service");
    if (service !== null && service !== deps.service)
      return sendOAuthError(res, 400, "invalid_request", "unknown service");
    const grantType = form.get("grant_type");
    if (grantType === null) return sendOAuthError(res, 400, "invalid_request", "grant_type is required");
    // Refresh tokens are never issued, so the password grant is the only one.
    if (grantType !== "password") {
      return sendOAuthError(res, 400, "unsupported_grant_type", "only the password grant is supported");
    }
    const username = form.get("username");
    const password = form.get("password");
    if (!username || password === null) {
      return sendOAuthError(res, 400, "invalid_request", "username and password are required");
    }
    const principal = username.includes(":")
      ? undefined
      : await deps.authenticate(withBasicCredentials(req, username, password));
    if (!principal) return sendOAuthError(res, 400, "invalid_grant", "invalid username or password");
    await issueToken(res, deps, principal, parseScopes(form.getAll("scope")));
  });
}
