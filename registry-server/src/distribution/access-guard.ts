// What the /v2 routes ask of authentication and authorization: "may this request do these
// actions?", answered with a 401 challenge or a 403 when it may not. The implementation lives
// in auth/; routes only state the access they need.

import type { AccessEntry } from "../auth/access-scope.ts";
import type { RequestContext } from "../http/router.ts";

export interface AccessGuard {
  /** Throws UNAUTHORIZED (with a challenge) or DENIED unless the request may do all of `requested`. */
  require(ctx: RequestContext, requested: AccessEntry[]): Promise<void>;
  /** The subset of `requested` the request may do (nothing is thrown). */
  granted(ctx: RequestContext, requested: AccessEntry[]): Promise<AccessEntry[]>;
  /** Who the caller is, for the audit log: a user or robot name, or "anonymous". */
  subject(ctx: RequestContext): Promise<string>;
}

export function pull(name: string): AccessEntry {
  return { type: "repository", name, actions: ["pull"] };
}

export function push(name: string): AccessEntry {
  return { type: "repository", name, actions: ["pull", "push"] };
}

export function remove(name: string): AccessEntry {
  return { type: "repository", name, actions: ["delete"] };
}

export const CATALOG: AccessEntry = { type: "registry", name: "catalog", actions: ["*"] };
