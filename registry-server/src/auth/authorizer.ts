// Decides which of the requested scopes a principal gets in a token. The token endpoint asks; the
// authorizer never fails a request, it only grants less (Docker's token flow expects that).

import type { AccessEntry } from "./access-scope.ts";
import { expandActions } from "./access-scope.ts";
import type { Principal } from "./principal.ts";

export interface Authorizer {
  /**
   * The granted subset of `requested`: per entry, the requested actions (`*` expanded to every
   * action of its type) that the principal holds. Entries with nothing granted are left out.
   */
  authorize(principal: Principal | undefined, requested: AccessEntry[]): Promise<AccessEntry[]>;
}

/**
 * Intersects one requested entry with the actions the principal holds on that resource. Meant for
 * every authorizer: project roles will compute `held` per project and reuse this.
 */
export function grantEntry(requested: AccessEntry, held: readonly string[]): AccessEntry | undefined {
  const heldActions = expandActions(requested.type, held);
  const actions = expandActions(requested.type, requested.actions).filter((action) => heldActions.includes(action));
  return actions.length > 0 ? { type: requested.type, name: requested.name, actions } : undefined;
}
