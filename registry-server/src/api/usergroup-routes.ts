// Harbor's user groups (/api/v2.0/usergroups). Groups come from an LDAP, OIDC or HTTP auth proxy
// back end, and this registry authenticates its own accounts only (auth_mode db_auth), so there
// are none: listings and searches answer an empty list, as Harbor does when no group exists,
// single groups are not found, and creating one is refused with the reason.

import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import type { ApiAccess } from "./api-access.ts";
import { paging, setPageHeaders } from "./harbor-http.ts";

export function addUsergroupRoutes(router: Router, deps: { access: ApiAccess }): void {
  const { access } = deps;

  router.add("usergroup_list", "GET", /^\/api\/v2\.0\/usergroups\/?$/, async (ctx) => {
    await access.requireCaller(ctx.req);
    const page = paging(ctx.url);
    setPageHeaders(ctx.res, ctx.url, page, 0);
    sendJson(ctx.res, 200, []);
  });

  router.add("usergroup_search", "GET", /^\/api\/v2\.0\/usergroups\/search\/?$/, async (ctx) => {
    await access.requireCaller(ctx.req);
    const page = paging(ctx.url);
    setPageHeaders(ctx.res, ctx.url, page, 0);
    sendJson(ctx.res, 200, []);
  });

  router.add("usergroup_create", "POST", /^\/api\/v2\.0\/usergroups\/?$/, async (ctx) => {
    await access.requireSysadmin(ctx.req);
    throw new HarborError(
      "BAD_REQUEST",
      "user groups need an LDAP, OIDC or HTTP auth proxy back end: this registry has its own accounts only (db_auth)",
    );
  });

  router.add("usergroup_item", ["GET", "PUT", "DELETE"], /^\/api\/v2\.0\/usergroups\/(?<id>\d+)$/, async (ctx) => {
    await access.requireCaller(ctx.req);
    throw new HarborError("NOT_FOUND", `user group ${ctx.params["id"]} not found`);
  });
}
