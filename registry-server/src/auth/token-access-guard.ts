// Decides /v2 access per request. A request carries a Docker bearer token (its `access` claim
// says what it may do), HTTP basic credentials (the authorizer decides), or nothing. When access
// is missing, anonymous and bearer callers get a 401 with a Bearer challenge naming the scopes to
// ask the token endpoint for (so login flows work); a basic-auth caller that is known but lacks
// access gets 403 DENIED.

import type { IncomingMessage } from "node:http";
import type { AccessGuard } from "../distribution/access-guard.ts";
import { RegistryError } from "../http/errors.ts";
import type { RequestContext } from "../http/router.ts";
import { allows, expandActions, formatScope, type AccessEntry } from "./access-scope.ts";
import { basicCredentials, type Principal } from "./principal.ts";
import type { Authorizer } from "./authorizer.ts";
import { bearerChallenge, tokenRealm } from "./bearer-challenge.ts";
import type { TokenService } from "./token-service.ts";

export type Caller =
  | { kind: "anonymous" }
  | { kind: "bearer"; subject: string; access: AccessEntry[] }
  | { kind: "invalid-token" }
  | { kind: "basic"; principal: Principal }
  | { kind: "invalid-basic" };

export interface TokenAccessGuardOptions {
  tokens: TokenService;
  authorizer: Authorizer;
  /** Checks basic credentials; undefined when they are wrong. */
  authenticateBasic: (req: IncomingMessage) => Promise<Principal | undefined>;
  service: string;
  /** The token endpoint URL to advertise; derived from each request when not set. */
  realm?: string;
}

/** Identifies the caller once per request (the result is cached on the request). */
const callers = new WeakMap<IncomingMessage, Promise<Caller>>();

export class TokenAccessGuard implements AccessGuard {
  private readonly options: TokenAccessGuardOptions;

  constructor(options: TokenAccessGuardOptions) {
    this.options = options;
  }

  identify(req: IncomingMessage): Promise<Caller> {
    let caller = callers.get(req);
    if (!caller) {
      caller = this.identifyUncached(req);
      callers.set(req, caller);
    }
    return caller;
  }

  async granted(ctx: RequestContext, requested: AccessEntry[]): Promise<AccessEntry[]> {
    const caller = await this.identify(ctx.req);
    switch (caller.kind) {
      case "bearer":
        return requested.flatMap((entry) => {
          const actions = expandActions(entry.type, entry.actions).filter((a) =>
            allows(caller.access, entry.type, entry.name, a),
          );
          return actions.length > 0 ? [{ ...entry, actions }] : [];
        });
      case "basic":
        return this.options.authorizer.authorize(caller.principal, requested);
      case "anonymous":
        return this.options.authorizer.authorize(undefined, requested);
      default:
        // Credentials that do not check out are refused, not downgraded to anonymous access:
        // a disabled robot must notice it is disabled.
        return [];
    }
  }

  async require(ctx: RequestContext, requested: AccessEntry[]): Promise<void> {
    const granted = await this.granted(ctx, requested);
    const missing = requested.filter((entry) =>
      expandActions(entry.type, entry.actions).some((a) => !allows(granted, entry.type, entry.name, a)),
    );
    if (missing.length === 0) return;
    const caller = await this.identify(ctx.req);
    if (caller.kind === "basic") {
      throw new RegistryError("DENIED", "requested access to the resource is denied", {
        detail: missing.map(formatScope),
      });
    }
    throw this.unauthorized(
      ctx.req,
      missing,
      caller.kind === "invalid-token" ? "invalid_token" : caller.kind === "bearer" ? "insufficient_scope" : undefined,
    );
  }

  async subject(ctx: RequestContext): Promise<string> {
    const caller = await this.identify(ctx.req);
    if (caller.kind === "bearer") return caller.subject || "anonymous";
    return caller.kind === "basic" ? caller.principal.username : "anonymous";
  }

  /** Any authenticated caller (GET /v2/ asks no more). */
  async requireAuthenticated(ctx: RequestContext): Promise<void> {
    const caller = await this.identify(ctx.req);
    if (caller.kind === "bearer" || caller.kind === "basic") return;
    throw this.unauthorized(ctx.req, [], caller.kind === "invalid-token" ? "invalid_token" : undefined);
  }

  private unauthorized(
    req: IncomingMessage,
    scopes: AccessEntry[],
    error?: "insufficient_scope" | "invalid_token",
  ): RegistryError {
    const { service, realm } = this.options;
    return new RegistryError("UNAUTHORIZED", "authentication required", {
      headers: {
        "WWW-Authenticate": bearerChallenge({
          realm: tokenRealm(req, realm),
          service,
          scopes,
          ...(error && { error }),
        }),
      },
      ...(scopes.length > 0 && { detail: scopes.map(formatScope) }),
    });
  }

  private async identifyUncached(req: IncomingMessage): Promise<Caller> {
    const header = req.headers.authorization;
    if (!header) return { kind: "anonymous" };
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (bearer?.[1]) {
      const claims = this.options.tokens.verify(bearer[1]);
      return claims ? { kind: "bearer", subject: claims.sub, access: claims.access } : { kind: "invalid-token" };
    }
    if (!basicCredentials(req)) return { kind: "invalid-basic" };
    const principal = await this.options.authenticateBasic(req);
    return principal ? { kind: "basic", principal } : { kind: "invalid-basic" };
  }
}
