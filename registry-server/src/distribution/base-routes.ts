// `GET /v2/`: the endpoint clients probe first. It answers 200 to an authenticated caller and
// 401 with a challenge otherwise, which is how `login` commands check credentials.

import type { AdminAuthenticator } from "../auth/admin-authenticator.ts";
import { basicCredentials } from "../auth/admin-authenticator.ts";
import { RegistryError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";

export const BASIC_REALM = "airlock";

export function addBaseRoutes(router: Router, authenticator: AdminAuthenticator): void {
  router.add("GET", /^\/v2\/?$/, async ({ req, res }) => {
    const principal = await authenticator.authenticate(basicCredentials(req));
    if (!principal) {
      res.setHeader("WWW-Authenticate", `Basic realm="${BASIC_REALM}"`);
      throw new RegistryError("UNAUTHORIZED", "authentication required");
    }
    sendJson(res, 200, {}, "application/json");
  });
}
