// Harbor's projects API: /api/v2.0/projects (list, create, head), /projects/{project_name_or_id}
// (get, update, delete), its summary and its metadata (/metadatas). Metadata values are strings
// ("true"), as Harbor sends them (project-metadata.ts); `storage_limit` sets the quota of a new
// project (0 or absent: the system default), later changed through /quotas as in Harbor;
// `registry_id` marks a proxy-cache project. Unknown fields are ignored, as Harbor's decoding
// ignores them.

import { DEFAULT_PROXY_EXPIRY_DAYS, proxyExpiryPolicy, type RetentionService } from "../retention/retention-service.ts";
import { z } from "zod";
import { isSysadmin, type Principal } from "../auth/principal.ts";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import { ConflictError, ROLES, type ProjectRecord } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { SystemSettings } from "../settings/system-settings.ts";
import { ADMIN_ROLES, ANY_ROLE, holdsSystemPermission, type ApiAccess } from "./api-access.ts";
import { allowlistJson, parseAllowlist } from "../scan/cve-allowlist.ts";
import { applicableMetadata, normaliseMetadata, shownMetadata } from "./project-metadata.ts";
import {
  created,
  nameOrId,
  ok,
  paging,
  parseQuery,
  readJson,
  setPageHeaders,
  time,
  UNPAGED_LIMIT,
} from "./harbor-http.ts";

export const PROJECT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const projectReqSchema = z.object({
  project_name: z
    .string()
    .min(1)
    .max(255)
    .regex(PROJECT_NAME, "lowercase letters, digits and . _ - separators")
    .optional(),
  public: z.boolean().optional(),
  // Checked by project-metadata.ts: unknown keys dropped, known ones normalised.
  metadata: z.unknown().optional(),
  storage_limit: z.number().int().min(-1).nullish(),
  registry_id: z.number().int().min(1).nullable().optional(),
  cve_allowlist: z.unknown().optional(),
});

export interface ProjectRouteDeps {
  identity: MetadataStore;
  access: ApiAccess;
  /** Gives a new proxy-cache project Harbor's default expiry policy. */
  retention?: Pick<RetentionService, "create">;
}

/** What project creation reads of the system settings. */
type CreationSettings = Pick<
  SystemSettings,
  "projectCreationRestriction" | "quotaPerProjectEnable" | "storagePerProject"
>;

const PROJECTS = /^\/api\/v2\.0\/projects\/?$/;
const PROJECT = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)$/;
const SUMMARY = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/summary$/;
/** Projects a non-administrator's listing looks through. */
const MAX_SCANNED = 10_000;

/** Finds `{project_name_or_id}` and checks the caller may see it (404 otherwise, like a miss). */
export async function visibleProject(
  ctx: RequestContext,
  deps: ProjectRouteDeps,
): Promise<{ project: ProjectRecord; caller: Principal | undefined }> {
  const caller = await deps.access.caller(ctx.req);
  const key = nameOrId(ctx.req, ctx.params["project"] ?? "");
  const project =
    "id" in key ? await deps.identity.projects.get(key.id) : await deps.identity.projects.getByName(key.name);
  if (!project) throw new HarborError("NOT_FOUND", "project not found");
  if (!(await deps.access.canSee(caller, project))) {
    if (!caller) throw new HarborError("UNAUTHORIZED", "authentication required");
    throw new HarborError("FORBIDDEN", "forbidden");
  }
  return { project, caller };
}

/** Harbor's rules for `registry_id`: the administrator's decision, naming an existing endpoint. */
async function requireProxyRegistry(deps: ProjectRouteDeps, caller: Principal, registryId: number): Promise<void> {
  if (!isSysadmin(caller)) {
    throw new HarborError("FORBIDDEN", "only the system administrator may set a proxy cache's registry");
  }
  if (!(await deps.identity.registries.get(registryId))) {
    throw new HarborError("BAD_REQUEST", `registry ${registryId} not found`);
  }
}

export async function projectJson(
  deps: ProjectRouteDeps,
  project: ProjectRecord,
  caller: Principal | undefined,
): Promise<Record<string, unknown>> {
  const owner = await deps.identity.users.get(project.ownerId);
  const role = await deps.access.roleIn(caller, project);
  const memberRole =
    caller?.kind === "user" ? await deps.identity.members.roleOf(project.id, caller.userId) : undefined;
  const currentRole = memberRole ?? (isSysadmin(caller) ? undefined : role);
  return {
    project_id: project.id,
    owner_id: project.ownerId,
    name: project.name,
    ...(project.registryId !== undefined && { registry_id: project.registryId }),
    creation_time: time(project.createdAt),
    update_time: time(project.updatedAt),
    deleted: false,
    owner_name: owner?.username ?? "",
    togglable: true,
    ...(currentRole !== undefined && { current_user_role_id: currentRole, current_user_role_ids: [currentRole] }),
    repo_count: await deps.identity.projects.repositoryCount(project.name),
    metadata: shownMetadata(project.metadata),
  };
}

export function addProjectRoutes(
  router: Router,
  deps: ProjectRouteDeps & { settings: { current(): Promise<CreationSettings> } },
): void {
  const { identity, access, settings } = deps;

  router.add("project_list", "GET", PROJECTS, async (ctx) => {
    const caller = await access.caller(ctx.req);
    const page = paging(ctx.url);
    const query = parseQuery(ctx.url);
    const name = ctx.url.searchParams.get("name") ?? query.get("name")?.value;
    const publicParam = ctx.url.searchParams.get("public") ?? query.get("public")?.value;
    const wantPublic = publicParam === undefined || publicParam === null ? undefined : publicParam === "true";
    // Anonymous callers see public projects; users the public ones and their own; robots those
    // their permissions name; the administrator all.
    const filter = {
      ...(name ? { name } : {}),
      ...(wantPublic !== undefined && { public: wantPublic }),
    };
    let listing;
    if (isSysadmin(caller)) {
      listing = await identity.projects.list(filter, page);
    } else if (!caller || wantPublic === true) {
      listing = await identity.projects.list({ ...filter, public: true }, page);
    } else {
      // Public projects plus the caller's own: filtered here, over at most MAX_SCANNED projects.
      const candidates = await identity.projects.list(filter, { offset: 0, limit: MAX_SCANNED });
      const visible: ProjectRecord[] = [];
      for (const project of candidates.items) if (await access.canSee(caller, project)) visible.push(project);
      listing = { items: visible.slice(page.offset, page.offset + page.limit), total: visible.length };
    }
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, await Promise.all(listing.items.map((p) => projectJson(deps, p, caller))));
  });

  router.add("project_head", "HEAD", PROJECTS, async (ctx) => {
    const name = ctx.url.searchParams.get("project_name");
    if (!name) throw new HarborError("BAD_REQUEST", "project_name is required");
    await access.caller(ctx.req);
    const exists = (await identity.projects.getByName(name)) !== undefined;
    ctx.res.statusCode = exists ? 200 : 404;
    ctx.res.end();
  });

  router.add("project_create", "POST", PROJECTS, async (ctx) => {
    const caller = await access.requireCaller(ctx.req);
    const system = await settings.current();
    // Users may create projects unless only the administrator may; robots only at system level
    // with the project create permission (their projects belong to the administrator).
    if (caller.kind === "robot" && !holdsSystemPermission(caller, "project", "create")) {
      throw new HarborError("FORBIDDEN", "Only system level robot can create project");
    }
    if (system.projectCreationRestriction === "adminonly" && !isSysadmin(caller) && caller.kind === "user") {
      throw new HarborError("FORBIDDEN", "Only system admin can create project");
    }
    const body = await readJson(ctx.req, projectReqSchema);
    if (!body.project_name) throw new HarborError("BAD_REQUEST", "invalid project_name: required");
    if (body.registry_id != null) await requireProxyRegistry(deps, caller, body.registry_id);
    const given = normaliseMetadata(body.metadata);
    if (given["retention_id"] !== undefined) {
      throw new HarborError(
        "BAD_REQUEST",
        "the retention_id in the request's payload when creating a project should be omitted, alternatively passing an empty string",
      );
    }
    const metadata: Record<string, string> = {
      public: "false",
      ...applicableMetadata(given, body.registry_id != null),
    };
    if (body.public != null && given["public"] === undefined) metadata["public"] = String(body.public);
    // Harbor's rule: the system default unless the administrator gives a limit other than 0;
    // no limit at all while per-project quotas are off.
    const storageLimit = !system.quotaPerProjectEnable
      ? -1
      : body.storage_limit == null || body.storage_limit === 0 || !isSysadmin(caller)
        ? system.storagePerProject
        : body.storage_limit;
    const ownerId = caller.kind === "user" ? caller.userId : await firstAdministrator();
    const allowlist = body.cve_allowlist == null ? undefined : parseAllowlist(body.cve_allowlist);
    const now = new Date();
    let project: ProjectRecord;
    try {
      project = await identity.transaction(async (tx) => {
        const made = await tx.projects.create(
          {
            name: body.project_name ?? "",
            ownerId,
            metadata,
            storageLimit,
            ...(body.registry_id !== undefined && body.registry_id !== null && { registryId: body.registry_id }),
          },
          now,
        );
        await tx.members.add(made.id, ownerId, ROLES.projectAdmin, now);
        if (allowlist) await tx.cveAllowlists.put(made.id, allowlist.items, allowlist.expiresAt, now);
        return made;
      });
    } catch (err) {
      if (err instanceof ConflictError)
        throw new HarborError("CONFLICT", `project ${body.project_name} already exists`);
      throw err;
    }
    // Harbor gives every proxy-cache project an expiry: what was not pulled for 7 days goes.
    if (project.registryId !== undefined) {
      await deps.retention?.create(project, proxyExpiryPolicy(project.id, DEFAULT_PROXY_EXPIRY_DAYS));
    }
    created(ctx.res, `/api/v2.0/projects/${project.id}`);
  });

  /** The owner of a project a robot creates: the first administrator, as in Harbor. */
  async function firstAdministrator(): Promise<number> {
    const users = await identity.users.list({}, { offset: 0, limit: UNPAGED_LIMIT });
    const admin = users.items.find((user) => user.sysadmin);
    if (!admin) throw new HarborError("INTERNAL_SERVER_ERROR", "cannot create project as no system admin found");
    return admin.id;
  }

  router.add("project_get", "GET", PROJECT, async (ctx) => {
    const { project, caller } = await visibleProject(ctx, deps);
    sendJson(ctx.res, 200, {
      ...(await projectJson(deps, project, caller)),
      cve_allowlist: allowlistJson(await identity.cveAllowlists.get(project.id), project.id),
    });
  });

  router.add("project_update", "PUT", PROJECT, async (ctx) => {
    const { project } = await visibleProject(ctx, deps);
    await access.requireRole(ctx.req, project, ADMIN_ROLES);
    const body = await readJson(ctx.req, projectReqSchema);
    if (body.project_name !== undefined && body.project_name !== project.name) {
      throw new HarborError("BAD_REQUEST", "a project cannot be renamed");
    }
    // A proxy-cache project may be pointed at another endpoint; a plain project stays plain.
    const registryId = body.registry_id ?? undefined;
    if (registryId !== undefined && registryId !== project.registryId) {
      await requireProxyRegistry(deps, await access.requireCaller(ctx.req), registryId);
      if (project.registryId === undefined) {
        throw new HarborError("BAD_REQUEST", "a project that is not a proxy cache cannot become one");
      }
    }
    const given = normaliseMetadata(body.metadata);
    const retentionId = given["retention_id"];
    if (retentionId !== undefined && retentionId !== project.metadata["retention_id"]) {
      throw new HarborError(
        "BAD_REQUEST",
        "the retention_id in the request's payload when updating a project should be omitted, alternatively passing the one that has already been associated to this project",
      );
    }
    const metadata: Record<string, string> = {
      ...project.metadata,
      ...applicableMetadata(given, project.registryId !== undefined),
    };
    if (body.public != null && given["public"] === undefined) metadata["public"] = String(body.public);
    const allowlist = body.cve_allowlist == null ? undefined : parseAllowlist(body.cve_allowlist);
    // storage_limit is ignored here, as in Harbor: the quota changes through /quotas.
    const now = new Date();
    await identity.transaction(async (tx) => {
      await tx.projects.update(project.id, { metadata, ...(registryId !== undefined && { registryId }) }, now);
      if (allowlist) await tx.cveAllowlists.put(project.id, allowlist.items, allowlist.expiresAt, now);
    });
    ok(ctx.res);
  });

  router.add("project_delete", "DELETE", PROJECT, async (ctx) => {
    const { project } = await visibleProject(ctx, deps);
    await access.requireRole(ctx.req, project, ADMIN_ROLES);
    if ((await identity.projects.repositoryCount(project.name)) > 0) {
      throw new HarborError("PRECONDITION", `project ${project.name} still has repositories: delete them first`);
    }
    await identity.transaction(async (tx) => {
      await tx.projects.delete(project.id);
      await tx.cveAllowlists.delete(project.id);
    });
    ok(ctx.res);
  });

  router.add("project_summary", "GET", SUMMARY, async (ctx) => {
    const { project } = await visibleProject(ctx, deps);
    await access.requireRole(ctx.req, project, ANY_ROLE);
    const members = await identity.members.list(project.id);
    const count = (role: number): number => members.filter((m) => m.roleId === role).length;
    sendJson(ctx.res, 200, {
      repo_count: await identity.projects.repositoryCount(project.name),
      project_admin_count: count(ROLES.projectAdmin),
      maintainer_count: count(ROLES.maintainer),
      developer_count: count(ROLES.developer),
      guest_count: count(ROLES.guest),
      limited_guest_count: count(ROLES.limitedGuest),
      quota: {
        hard: { storage: project.storageLimit },
        used: { storage: await identity.projects.storageUsed(project.name) },
      },
    });
  });
}
