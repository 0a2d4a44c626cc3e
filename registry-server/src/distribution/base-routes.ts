// `GET /v2/`: the endpoint clients probe first. It answers 200 to any authenticated caller and
// 401 with a Bearer challenge otherwise, which is how `login` commands discover the token
// endpoint and check credentials.

import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";

export function addBaseRoutes(router: Router, requireAuthenticated: (ctx: RequestContext) => Promise<void>): void {
  router.add("base", "GET", /^\/v2\/?$/, async (ctx) => {
    await requireAuthenticated(ctx);
    sendJson(ctx.res, 200, {}, "application/json");
  });
}
