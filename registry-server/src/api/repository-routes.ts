// Harbor's repositories API: a project's repositories (list with page, page_size, q and sort;
// get; update the description; delete with every artifact and tag, so that the project can be
// deleted) and the repositories of every project the caller may see (`GET /repositories`).
// Repository names in paths are without their project and URL-encoded twice when they have
// slashes (`a%252Fb`), as Harbor expects; once (`a%2Fb`) is accepted too. The artifacts and tags
// under a repository are in artifact-routes.ts and tag-routes.ts.

import { immutableDeleteMessage, type ImmutableTagGuard } from "../immutability/immutable-tag-guard.ts";
import { z } from "zod";
import { isSysadmin, type Principal } from "../auth/principal.ts";
import { eventArtifact } from "../events/manifest-events.ts";
import type { EventArtifact, EventPublisher } from "../events/registry-events.ts";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import type { RepositoryRecord } from "../metadata/artifact-store.ts";
import type { ProjectRecord } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ApiAccess } from "./api-access.ts";
import type { AuditLog } from "./audit-log.ts";
import { repositoryQuery } from "./content-queries.ts";
import { ok, paging, readJson, setPageHeaders, time } from "./harbor-http.ts";
import { visibleProject } from "./project-routes.ts";

const PROJECT_REPOSITORIES = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/repositories\/?$/;
const REPOSITORY = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/repositories\/(?<repository>[^/]+)$/;
const ALL_REPOSITORIES = /^\/api\/v2\.0\/repositories\/?$/;
/** Projects a non-administrator's `GET /repositories` looks through, of each kind. */
const MAX_PROJECTS = 10_000;

/** Swagger `Repository`: only `description` is read; the rest (clients echo it all back) is ignored. */
const repositoryBody = z.object({ description: z.string().optional() });

export interface RepositoryRouteDeps {
  store: MetadataStore;
  access: ApiAccess;
  audit: AuditLog;
  /** Refuses deleting a repository holding a tag an immutable rule protects. */
  immutability?: ImmutableTagGuard;
  /** Told of each artifact a repository's deletion removes (webhooks, replication). */
  events?: EventPublisher;
}

/** Artifacts told of when a repository is deleted; beyond, the deletion goes on untold (logged). */
const MAX_DELETION_EVENTS = 10_000;
const PAGE = 500;

/** The repository's artifacts with their tags, as its deletion's events name them. */
async function artifactsOf(store: MetadataStore, repository: string): Promise<EventArtifact[]> {
  const tags = new Map<string, string[]>();
  for (let offset = 0; offset < MAX_DELETION_EVENTS; offset += PAGE) {
    const page = await store.artifacts.tags(repository, { sort: [] }, { offset, limit: PAGE });
    for (const tag of page.items) tags.set(tag.digest, [...(tags.get(tag.digest) ?? []), tag.name]);
    if (page.items.length < PAGE) break;
  }
  const found: EventArtifact[] = [];
  for (let offset = 0; offset < MAX_DELETION_EVENTS; offset += PAGE) {
    const page = await store.artifacts.artifacts(repository, { sort: [] }, { offset, limit: PAGE });
    for (const record of page.items) found.push(eventArtifact(repository, record, tags.get(record.digest) ?? []));
    if (page.items.length < PAGE) break;
  }
  return found;
}

/** The full name from the path's project and `{repository_name}` (decoded twice: `a%252Fb` is `a/b`). */
export function repositoryName(project: ProjectRecord, param: string | undefined): string {
  let name = param ?? "";
  try {
    name = decodeURIComponent(decodeURIComponent(name));
  } catch {
    throw new HarborError("BAD_REQUEST", `invalid repository name ${JSON.stringify(param)}`);
  }
  return `${project.name}/${name}`;
}

/** The project of the path, which the caller must see (404 for none, 401/403 for not allowed). */
export async function pathProject(
  ctx: RequestContext,
  deps: { store: MetadataStore; access: ApiAccess },
): Promise<ProjectRecord> {
  return (await visibleProject(ctx, { identity: deps.store, access: deps.access })).project;
}

/**
 * Harbor's artifact count: the artifacts its listing shows (tagged, or in no index), accessories
 * left out.
 */
async function artifactCount(store: MetadataStore, repository: string): Promise<number> {
  return (await store.artifacts.artifacts(repository, { sort: [] }, { offset: 0, limit: 0 })).total;
}

async function repositoryJson(
  store: MetadataStore,
  repository: RepositoryRecord,
  projectId: number,
): Promise<Record<string, unknown>> {
  return {
    id: repository.id,
    project_id: projectId,
    name: repository.name,
    ...(repository.description !== "" && { description: repository.description }),
    artifact_count: await artifactCount(store, repository.name),
    // Pulls are not counted yet (retention will): Harbor's value for a repository never pulled.
    pull_count: 0,
    creation_time: time(repository.createdAt),
    update_time: time(repository.updatedAt),
  };
}

async function existingRepository(store: MetadataStore, name: string): Promise<RepositoryRecord> {
  const repository = await store.artifacts.repository(name);
  if (!repository) throw new HarborError("NOT_FOUND", `repository ${name} not found`);
  return repository;
}

/**
 * The projects whose repositories `GET /repositories` shows, by name and id: every one for the
 * administrator (undefined); the public ones and the caller's own for a user; the public ones
 * for a robot or an anonymous caller, as Harbor does.
 */
async function visibleProjects(
  store: MetadataStore,
  caller: Principal | undefined,
): Promise<Map<string, number> | undefined> {
  if (isSysadmin(caller)) return undefined;
  const window = { offset: 0, limit: MAX_PROJECTS };
  const found = [...(await store.projects.list({ public: true }, window)).items];
  if (caller?.kind === "user")
    found.push(...(await store.projects.list({ memberUserId: caller.userId }, window)).items);
  return new Map(found.map((p) => [p.name, p.id]));
}

export function addRepositoryRoutes(router: Router, deps: RepositoryRouteDeps): void {
  const { store, access, audit } = deps;

  router.add("repository_list", "GET", PROJECT_REPOSITORIES, async (ctx) => {
    const project = await pathProject(ctx, deps);
    await access.requirePermission(ctx.req, project, "repository", "list");
    const page = paging(ctx.url);
    const listing = await store.artifacts.repositories(repositoryQuery(ctx.url, [project.name]), page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    const body = [];
    for (const repository of listing.items) body.push(await repositoryJson(store, repository, project.id));
    sendJson(ctx.res, 200, body);
  });

  router.add("repository_list_all", "GET", ALL_REPOSITORIES, async (ctx) => {
    const caller = await access.caller(ctx.req);
    const projects = await visibleProjects(store, caller);
    const page = paging(ctx.url);
    const listing = await store.artifacts.repositories(
      repositoryQuery(ctx.url, projects && [...projects.keys()]),
      page,
    );
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    const ids = new Map(projects);
    const body = [];
    for (const repository of listing.items) {
      const projectName = repository.name.slice(0, repository.name.indexOf("/"));
      if (!ids.has(projectName)) ids.set(projectName, (await store.projects.getByName(projectName))?.id ?? 0);
      body.push(await repositoryJson(store, repository, ids.get(projectName) ?? 0));
    }
    sendJson(ctx.res, 200, body);
  });

  // Harbor checks the list permission here, not read: whoever lists a project's repositories may
  // look at one.
  router.add("repository_get", "GET", REPOSITORY, async (ctx) => {
    const project = await pathProject(ctx, deps);
    await access.requirePermission(ctx.req, project, "repository", "list");
    const repository = await existingRepository(store, repositoryName(project, ctx.params["repository"]));
    sendJson(ctx.res, 200, await repositoryJson(store, repository, project.id));
  });

  router.add("repository_update", "PUT", REPOSITORY, async (ctx) => {
    const project = await pathProject(ctx, deps);
    const caller = await access.requirePermission(ctx.req, project, "repository", "update");
    const name = repositoryName(project, ctx.params["repository"]);
    await existingRepository(store, name);
    const body = await readJson(ctx.req, repositoryBody);
    // As Harbor: the description is set to what the body says, empty when it says nothing.
    if (!(await store.artifacts.describeRepository(name, body.description ?? "", new Date()))) {
      throw new HarborError("NOT_FOUND", `repository ${name} not found`);
    }
    audit.record({
      username: caller?.username ?? "anonymous",
      resource: name,
      resourceType: "repository",
      operation: "update",
      success: true,
      project: project.name,
    });
    ok(ctx.res);
  });

  router.add("repository_delete", "DELETE", REPOSITORY, async (ctx) => {
    const project = await pathProject(ctx, deps);
    const caller = await access.requirePermission(ctx.req, project, "repository", "delete");
    const name = repositoryName(project, ctx.params["repository"]);
    const immutableTag = await deps.immutability?.immutableTag(name, await store.tags.list(name, {}));
    if (immutableTag !== undefined) throw new HarborError("PRECONDITION", immutableDeleteMessage(immutableTag));
    const deleting = deps.events ? await artifactsOf(store, name) : [];
    if (!(await store.repositories.delete(name))) throw new HarborError("NOT_FOUND", `repository ${name} not found`);
    const occurredAt = new Date();
    for (const artifact of deleting) {
      deps.events?.publish({
        type: "DELETE_ARTIFACT",
        occurredAt,
        operator: caller?.username ?? "anonymous",
        artifact,
      });
    }
    audit.record({
      username: caller?.username ?? "anonymous",
      resource: name,
      resourceType: "repository",
      operation: "delete",
      success: true,
      project: project.name,
    });
    ok(ctx.res);
  });
}
