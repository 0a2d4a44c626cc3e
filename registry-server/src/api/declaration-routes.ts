// Beyond Harbor: which Pulumi stack declared an object of the registry, so that the portal can
// show it and warn before a change by hand that the stack's `pulumi refresh` would report as
// drift. The Pulumi providers write them (components/registry/declaration.ts).
//
// - GET /declarations?kind=&key= lists what the caller may see (both filters optional), with
//   Harbor's paging (`page`, `page_size`, `X-Total-Count`, `Link`);
// - PUT /declarations/{kind}/{key} `{ stack, resource }` records or replaces one: 201 when new
//   (with its Location), 200 when replaced; 404 when the object does not exist;
// - DELETE /declarations/{kind}/{key}: 200, or 404 when there is none.
//
// A declaration is seen as its object is: one inside a project by whoever may see the project
// (ApiAccess.canSee), a system one by the administrator; it is written by whoever may change the
// object: the project's `project:update` (its administrators), or the administrator. Kinds and
// keys are declared-object.ts's.

import { z } from "zod";
import { isSysadmin, type Principal } from "../auth/principal.ts";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import type { DeclarationRecord } from "../metadata/declaration-store.ts";
import type { ProjectRecord } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { SystemSettings } from "../settings/system-settings.ts";
import type { ApiAccess } from "./api-access.ts";
import {
  checkResource,
  checkStack,
  declaredKind,
  declaredObjectExists,
  declaredScope,
  MAX_KEY_LENGTH,
  type DeclaredKind,
  type DeclaredScope,
} from "./declared-object.ts";
import { created, ok, paging, pathSegment, readJson, setPageHeaders, time } from "./harbor-http.ts";

const DECLARATIONS = /^\/api\/v2\.0\/declarations\/?$/;
// The key may hold `/` (`<project>/<name>`), sent as it is or as %2F.
const DECLARATION = /^\/api\/v2\.0\/declarations\/(?<kind>[^/]+)\/(?<key>.+)$/;
/** Projects a non-administrator's listing looks through (as the project listing does). */
const MAX_SCANNED = 10_000;

const declarationReqSchema = z.object({ stack: z.unknown(), resource: z.unknown() });

export interface DeclarationRouteDeps {
  store: MetadataStore;
  access: ApiAccess;
  settings: { current(): Promise<Pick<SystemSettings, "robotNamePrefix">> };
}

function declarationJson(record: DeclarationRecord): Record<string, unknown> {
  return {
    kind: record.kind,
    key: record.key,
    stack: record.stack,
    resource: record.resource,
    update_time: time(record.updatedAt),
  };
}

export function addDeclarationRoutes(router: Router, deps: DeclarationRouteDeps): void {
  const { store, access, settings } = deps;

  /** The ids of the projects the caller may see (public ones, their own, a robot's). */
  async function visibleProjectIds(caller: Principal | undefined): Promise<number[]> {
    const window = { offset: 0, limit: MAX_SCANNED };
    if (caller?.kind === "user") {
      const [open, own] = await Promise.all([
        store.projects.list({ public: true }, window),
        store.projects.list({ memberUserId: caller.userId }, window),
      ]);
      return [...new Set([...open.items, ...own.items].map((p) => p.id))];
    }
    if (caller?.kind === "robot") {
      // A robot's visibility is in its permissions: no query per project.
      const ids: number[] = [];
      for (const project of (await store.projects.list({}, window)).items) {
        if (await access.canSee(caller, project)) ids.push(project.id);
      }
      return ids;
    }
    return (await store.projects.list({ public: true }, window)).items.map((p) => p.id);
  }

  /**
   * The object's project (undefined for a system object) once the caller is allowed to change its
   * declaration; 404 when the project does not exist, 401/403 when the caller may not.
   */
  async function authorizeWrite(ctx: RequestContext, scope: DeclaredScope): Promise<ProjectRecord | undefined> {
    if ("system" in scope) {
      await access.requireSysadmin(ctx.req);
      return undefined;
    }
    const caller = await access.caller(ctx.req);
    const project = await store.projects.getByName(scope.project);
    // A project the caller may not see is answered as one that does not exist.
    if (!project || !(await access.canSee(caller, project))) {
      if (!caller) throw new HarborError("UNAUTHORIZED", "authentication required");
      throw new HarborError("NOT_FOUND", `project ${scope.project} not found`);
    }
    if (!(await access.can(caller, project, "project", "update"))) {
      if (!caller) throw new HarborError("UNAUTHORIZED", "authentication required");
      throw new HarborError("FORBIDDEN", `forbidden: no update permission on project ${project.name}`);
    }
    return project;
  }

  async function target(ctx: RequestContext): Promise<{ kind: DeclaredKind; key: string; scope: DeclaredScope }> {
    const kind = declaredKind(pathSegment(ctx.params["kind"]));
    const key = pathSegment(ctx.params["key"]);
    const scope = declaredScope(kind, key, (await settings.current()).robotNamePrefix);
    return { kind, key, scope };
  }

  router.add("declaration_list", "GET", DECLARATIONS, async (ctx) => {
    const caller = await access.caller(ctx.req);
    const page = paging(ctx.url);
    const kindParam = ctx.url.searchParams.get("kind");
    const key = ctx.url.searchParams.get("key") ?? undefined;
    const kind = kindParam === null || kindParam === "" ? undefined : declaredKind(kindParam);
    if (key !== undefined && key.length > MAX_KEY_LENGTH) {
      throw new HarborError("BAD_REQUEST", `invalid key: at most ${MAX_KEY_LENGTH} characters`);
    }
    const filter = {
      ...(kind !== undefined && { kind }),
      ...(key !== undefined && key !== "" && { key }),
      // Others see the declarations of the projects they see; system objects are the administrator's.
      ...(!isSysadmin(caller) && { projectIds: await visibleProjectIds(caller) }),
    };
    const listing = await store.declarations.list(filter, page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, listing.items.map(declarationJson));
  });

  router.add("declaration_put", "PUT", DECLARATION, async (ctx) => {
    const { kind, key, scope } = await target(ctx);
    const project = await authorizeWrite(ctx, scope);
    const body = await readJson(ctx.req, declarationReqSchema);
    const stack = checkStack(body.stack);
    const resource = checkResource(body.resource);
    const robotPrefix = (await settings.current()).robotNamePrefix;
    if (!(await declaredObjectExists(store, kind, key, project, robotPrefix))) {
      throw new HarborError("NOT_FOUND", `${kind} ${key} not found`);
    }
    const written = await store.declarations.put(
      { kind, key, ...(project && { projectId: project.id }), stack, resource },
      new Date(),
    );
    if (!written) throw new HarborError("NOT_FOUND", `project ${"project" in scope ? scope.project : ""} not found`);
    if (written.created) created(ctx.res, ctx.url.pathname);
    else ok(ctx.res);
  });

  router.add("declaration_delete", "DELETE", DECLARATION, async (ctx) => {
    const { kind, key, scope } = await target(ctx);
    await authorizeWrite(ctx, scope);
    if (!(await store.declarations.delete(kind, key))) {
      throw new HarborError("NOT_FOUND", `no declaration of ${kind} ${key}`);
    }
    ok(ctx.res);
  });
}
