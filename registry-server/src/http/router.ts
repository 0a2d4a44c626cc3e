// Routes a request to a handler by method and path. Patterns are regular expressions with named
// groups because repository names contain slashes (`/v2/<name>/manifests/<reference>`).

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../logger.ts";

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  readonly requestId: string;
  readonly log: Logger;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

/**
 * A check every matched request passes before its handler runs (the read-only mode): it throws
 * the error to answer, in the protocol of the request's path. `route` is the route's name.
 */
export type Guard = (ctx: RequestContext, route: string) => Promise<void> | void;

interface Route {
  methods: ReadonlySet<string>;
  pattern: RegExp;
  handler: Handler;
  name: string;
}

export type RouteMatch =
  | { kind: "found"; handler: Handler; params: Record<string, string>; name: string }
  | { kind: "method-not-allowed"; allowed: string[] }
  | { kind: "not-found" };

export class Router {
  private readonly routes: Route[] = [];
  private readonly guards: Guard[] = [];

  /** Adds a guard run before the handler of every route, in the order guards were added. */
  guard(check: Guard): this {
    this.guards.push(check);
    return this;
  }

  /** The route's handler behind the guards. */
  private guarded(route: Route): Handler {
    if (this.guards.length === 0) return route.handler;
    return async (ctx) => {
      for (const check of this.guards) await check(ctx, route.name);
      await route.handler(ctx);
    };
  }

  /**
   * Adds a route; a GET route answers HEAD too unless HEAD has its own route. `name` labels the
   * route in metrics and logs (a bounded set, unlike paths): lowercase words joined by "_".
   */
  add(name: string, methods: string | string[], pattern: RegExp, handler: Handler): this {
    const list = Array.isArray(methods) ? methods : [methods];
    this.routes.push({ methods: new Set(list.map((m) => m.toUpperCase())), pattern, handler, name });
    return this;
  }

  match(method: string, pathname: string): RouteMatch {
    const allowed = new Set<string>();
    let headFallback: RouteMatch | undefined;
    for (const route of this.routes) {
      const groups = route.pattern.exec(pathname);
      if (!groups) continue;
      const params = { ...groups.groups };
      const found = { kind: "found" as const, handler: this.guarded(route), params, name: route.name };
      if (route.methods.has(method)) return found;
      if (method === "HEAD" && route.methods.has("GET")) headFallback ??= found;
      for (const m of route.methods) allowed.add(m);
    }
    if (headFallback) return headFallback;
    if (allowed.size > 0) {
      if (allowed.has("GET")) allowed.add("HEAD");
      return { kind: "method-not-allowed", allowed: [...allowed].sort() };
    }
    return { kind: "not-found" };
  }
}
