// Harbor's audit log API: /api/v2.0/audit-logs (the administrator) and
// /api/v2.0/projects/{project_name_or_id}/logs (the project's members), newest first, with
// `q` filters on username, resource, resource_type, operation and op_time ranges
// (`op_time=[2024-01-01 00:00:00~2024-01-31 23:59:59]`, either bound may be left out).

import type { Router } from "../http/router.ts";
import type { AuditFilter, AuditRecord } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { ANY_ROLE, type ApiAccess } from "./api-access.ts";
import { sendJson } from "../http/respond.ts";
import { HarborError } from "../http/errors.ts";
import { paging, parseQuery, queryTime, setPageHeaders, time } from "./harbor-http.ts";
import { visibleProject } from "./project-routes.ts";

function auditJson(entry: AuditRecord): Record<string, unknown> {
  return {
    id: entry.id,
    username: entry.username,
    resource: entry.resource,
    resource_type: entry.resourceType,
    operation: entry.operation,
    op_time: time(entry.opTime),
  };
}

function filterFrom(url: URL): AuditFilter {
  const query = parseQuery(url, { ranges: ["op_time"] });
  const exact = (key: string): string | undefined => query.get(key)?.value;
  const opTime = query.get("op_time");
  if (opTime && !opTime.range) throw new HarborError("BAD_REQUEST", "op_time takes a range: op_time=[from~to]");
  const from = opTime?.range?.from;
  const to = opTime?.range?.to;
  return {
    ...(from !== undefined && { from: queryTime(from, "op_time") }),
    ...(to !== undefined && { to: queryTime(to, "op_time") }),
    ...(exact("username") !== undefined && { username: exact("username") }),
    ...(exact("operation") !== undefined && { operation: exact("operation") }),
    ...(exact("resource_type") !== undefined && { resourceType: exact("resource_type") }),
    ...(exact("resource") !== undefined && { resource: exact("resource") }),
  };
}

export function addAuditRoutes(router: Router, deps: { store: MetadataStore; access: ApiAccess }): void {
  const { store, access } = deps;

  router.add("audit_list", "GET", /^\/api\/v2\.0\/audit-logs\/?$/, async (ctx) => {
    await access.requireSysadmin(ctx.req);
    const page = paging(ctx.url);
    const listing = await store.audit.list(filterFrom(ctx.url), page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, listing.items.map(auditJson));
  });

  router.add("project_audit_list", "GET", /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/logs\/?$/, async (ctx) => {
    const { project } = await visibleProject(ctx, { identity: store, access });
    await access.requireRole(ctx.req, project, ANY_ROLE);
    const page = paging(ctx.url);
    const listing = await store.audit.list({ ...filterFrom(ctx.url), projectId: project.id }, page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, listing.items.map(auditJson));
  });
}
