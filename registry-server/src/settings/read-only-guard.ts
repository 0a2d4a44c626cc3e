// Harbor's read-only mode (the `read_only` setting): while it is on, every request that could
// change something is refused, in the protocol of its path, with Harbor's words. What stays open:
// reads (GET, HEAD, OPTIONS), the configuration update that turns the mode off, token requests
// and the portal's sign-in (a login changes nothing). Pulls through a proxy-cache project are reads too, as in
// Harbor, even though the cache stores what it fetched.

import { HarborError, RegistryError } from "../http/errors.ts";
import type { Guard } from "../http/router.ts";
import type { SystemSettings } from "./system-settings.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Routes (by name) that stay open in read-only mode. */
const ALWAYS_OPEN = new Set(["configuration_update", "token", "session_login"]);
export const READ_ONLY_MESSAGE = "The system is in read only mode. Any modification is prohibited.";

export function readOnlyGuard(settings: { current(): Promise<SystemSettings> }): Guard {
  return async (ctx, route) => {
    const method = (ctx.req.method ?? "GET").toUpperCase();
    if (SAFE_METHODS.has(method) || ALWAYS_OPEN.has(route)) return;
    if (!(await settings.current()).readOnly) return;
    const path = ctx.url.pathname;
    throw path === "/v2" || path.startsWith("/v2/")
      ? new RegistryError("DENIED", READ_ONLY_MESSAGE)
      : new HarborError("DENIED", READ_ONLY_MESSAGE);
  };
}
