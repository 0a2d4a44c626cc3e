// Harbor's audit log APIs, over one log:
// - /api/v2.0/audit-logs (the administrator) and /api/v2.0/projects/{project}/logs (the project's
//   members): Harbor's first audit API, entries {id, username, resource, resource_type,
//   operation, op_time};
// - /api/v2.0/auditlog-exts (the administrator sees all, a user the projects they administer),
//   /api/v2.0/projects/{project}/auditlog-exts and /api/v2.0/auditlog-exts/events: Harbor 2.13's,
//   whose entries add `operation_description` and `operation_result`, and whose event types
//   (`create_artifact`, `pull_artifact`, `update_configure`…) are what the audit settings and the
//   purge job name.
// Newest first, with `q` filters on username, resource (substring), resource_type and operation
// (exact, or `{a b}` lists) and op_time ranges (`op_time=[2024-01-01 00:00:00~2024-01-31 23:59:59]`,
// either bound may be left out).

import { isSysadmin } from "../auth/principal.ts";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import { ROLES, type AuditFilter, type AuditRecord } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { AUDIT_EVENT_TYPES } from "../settings/system-settings.ts";
import { ANY_ROLE, holdsSystemPermission, type ApiAccess } from "./api-access.ts";
import { anyOf, paging, parseQuery, queryTime, setPageHeaders, time, UNPAGED_LIMIT } from "./harbor-http.ts";
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

function auditExtJson(entry: AuditRecord): Record<string, unknown> {
  return {
    ...auditJson(entry),
    // Harbor's wording for the events it records itself.
    operation_description: `${entry.operation} ${entry.resourceType} with name: ${entry.resource}`,
    operation_result: entry.success,
  };
}

function filterFrom(url: URL): AuditFilter {
  const query = parseQuery(url, { ranges: ["op_time"] });
  const exact = (key: string): string | undefined => query.get(key)?.value;
  const opTime = query.get("op_time");
  if (opTime && !opTime.range) throw new HarborError("BAD_REQUEST", "op_time takes a range: op_time=[from~to]");
  const operations = anyOf(query.get("operation"));
  const resourceTypes = anyOf(query.get("resource_type"));
  const from = opTime?.range?.from;
  const to = opTime?.range?.to;
  return {
    ...(from !== undefined && { from: queryTime(from, "op_time") }),
    ...(to !== undefined && { to: queryTime(to, "op_time") }),
    ...(exact("username") !== undefined && { username: exact("username") }),
    ...(operations !== undefined && { operations }),
    ...(resourceTypes !== undefined && { resourceTypes }),
    ...(exact("resource") !== undefined && { resource: exact("resource") }),
  };
}

export function addAuditRoutes(router: Router, deps: { store: MetadataStore; access: ApiAccess }): void {
  const { store, access } = deps;

  async function list(
    ctx: RequestContext,
    filter: AuditFilter,
    shape: (entry: AuditRecord) => Record<string, unknown>,
  ): Promise<void> {
    const page = paging(ctx.url);
    const listing = await store.audit.list({ ...filterFrom(ctx.url), ...filter }, page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, listing.items.map(shape));
  }

  /** The project of `{project}` whose log the caller may read (any role, as Harbor's log list). */
  async function projectLog(ctx: RequestContext): Promise<AuditFilter> {
    const { project } = await visibleProject(ctx, { identity: store, access });
    await access.requireRole(ctx.req, project, ANY_ROLE);
    return { projectId: project.id };
  }

  router.add("audit_list", "GET", /^\/api\/v2\.0\/audit-logs\/?$/, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "audit-log", "list");
    await list(ctx, {}, auditJson);
  });

  router.add("project_audit_list", "GET", /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/logs\/?$/, async (ctx) => {
    await list(ctx, await projectLog(ctx), auditJson);
  });

  router.add("audit_ext_list", "GET", /^\/api\/v2\.0\/auditlog-exts\/?$/, async (ctx) => {
    const caller = await access.requireCaller(ctx.req);
    if (isSysadmin(caller) || holdsSystemPermission(caller, "audit-log", "list")) {
      await list(ctx, {}, auditExtJson);
      return;
    }
    // Anyone else: the logs of the projects they administer, as Harbor answers.
    const projectIds: number[] = [];
    if (caller.kind === "user") {
      const mine = await store.projects.list({ memberUserId: caller.userId }, { offset: 0, limit: UNPAGED_LIMIT });
      for (const project of mine.items) {
        if ((await store.members.roleOf(project.id, caller.userId)) === ROLES.projectAdmin) projectIds.push(project.id);
      }
    }
    await list(ctx, { projectIds }, auditExtJson);
  });

  router.add("audit_ext_events", "GET", /^\/api\/v2\.0\/auditlog-exts\/events\/?$/, async (ctx) => {
    await access.requireCaller(ctx.req);
    sendJson(
      ctx.res,
      200,
      AUDIT_EVENT_TYPES.map((type) => ({ event_type: type })),
    );
  });

  router.add(
    "project_audit_ext_list",
    "GET",
    /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/auditlog-exts\/?$/,
    async (ctx) => {
      await list(ctx, await projectLog(ctx), auditExtJson);
    },
  );
}
