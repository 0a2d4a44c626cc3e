// Routes a request to a handler by method and path. Patterns are regular expressions with named
// groups because repository names contain slashes (`/v2/<name>/manifests/<reference>`). Each
// route keeps the literal text its pattern must start with, and a path is tried against the
// patterns whose text it starts with only: the registry has some 150 routes, most under
// /api/v2.0, and running every pattern on each /v2 request was a tenth of a manifest GET.

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
  /** What every path the pattern matches starts with ("" when that cannot be told). */
  prefix: string;
  handler: Handler;
  /** The handler behind the guards, made once. */
  guardedHandler: Handler | undefined;
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
    for (const route of this.routes) route.guardedHandler = undefined;
    return this;
  }

  /** The route's handler behind the guards. */
  private guarded(route: Route): Handler {
    if (this.guards.length === 0) return route.handler;
    route.guardedHandler ??= async (ctx) => {
      for (const check of this.guards) await check(ctx, route.name);
      await route.handler(ctx);
    };
    return route.guardedHandler;
  }

  /**
   * Adds a route; a GET route answers HEAD too unless HEAD has its own route. `name` labels the
   * route in metrics and logs (a bounded set, unlike paths): lowercase words joined by "_".
   */
  add(name: string, methods: string | string[], pattern: RegExp, handler: Handler): this {
    const list = Array.isArray(methods) ? methods : [methods];
    this.routes.push({
      methods: new Set(list.map((m) => m.toUpperCase())),
      pattern,
      prefix: literalPrefix(pattern),
      handler,
      guardedHandler: undefined,
      name,
    });
    return this;
  }

  match(method: string, pathname: string): RouteMatch {
    const allowed = new Set<string>();
    let headFallback: RouteMatch | undefined;
    for (const route of this.routes) {
      if (!pathname.startsWith(route.prefix)) continue;
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

/** Characters that make the pattern text at their place something other than itself. */
const SPECIAL = new Set(["(", ")", "[", "]", "{", "}", ".", "*", "+", "?", "|", "$", "^"]);
/** Escapes that stand for their character (`\/`, `\.`); others (`\d`) are classes. */
const LITERAL_ESCAPES = /^[/.\-_:@~]$/;

/**
 * The literal text every string `pattern` matches starts with: the characters after its `^` up
 * to the first one that is not plain text (a group, a class, an optional character). "" when
 * the pattern is not anchored, ignores case, or has an alternative (`|`) outside any group.
 */
export function literalPrefix(pattern: RegExp): string {
  const source = pattern.source;
  if (!source.startsWith("^") || pattern.flags.includes("i") || hasTopLevelAlternative(source)) return "";
  let prefix = "";
  for (let i = 1; i < source.length;) {
    let char = source[i] as string;
    let width = 1;
    if (char === "\\") {
      const escaped = source[i + 1];
      if (escaped === undefined || !LITERAL_ESCAPES.test(escaped)) break;
      char = escaped;
      width = 2;
    } else if (SPECIAL.has(char)) {
      break;
    }
    // A character that may be absent or repeated ("/?", "a*", "a{0,2}") is not a sure prefix.
    const next = source[i + width];
    if (next === "?" || next === "*" || next === "{") break;
    prefix += char;
    if (next === "+") break;
    i += width;
  }
  return prefix;
}

function hasTopLevelAlternative(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (char === "\\") {
      i++;
    } else if (inClass) {
      if (char === "]") inClass = false;
    } else if (char === "[") {
      inClass = true;
    } else if (char === "(") {
      depth++;
    } else if (char === ")") {
      depth--;
    } else if (char === "|" && depth === 0) {
      return true;
    }
  }
  return false;
}
