// Preheating a proxy-cache project (our own API, not Harbor's: Harbor's "preheat" feeds P2P
// networks, it does not warm its cache). Starting a job answers 201 with the job's URL, as
// Harbor's creations do; the job reports progress per image until it has finished.
//   POST /api/v2.0/projects/{project_name}/preheat        {"images": [...], "platforms": [...]}
//   GET  /api/v2.0/projects/{project_name}/preheat        the project's jobs, newest first
//   GET  /api/v2.0/projects/{project_name}/preheat/{id}   one job

import { z } from "zod";
import { HarborError, RegistryError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import { ROLES, type ProjectMetadataArea, type ProjectRecord } from "../metadata/identity-store.ts";
import type { PreheatJob, Preheater } from "../proxy/preheat.ts";
import type { ApiAccess } from "./api-access.ts";
import { created, pathSegment, readJson, time } from "./harbor-http.ts";

const MAX_IMAGES = 1000;
const preheatSchema = z.strictObject({
  images: z.array(z.string().min(1).max(512)).min(1).max(MAX_IMAGES),
  platforms: z
    .array(z.string().regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, 'expected "os/architecture[/variant]"'))
    .default([]),
});

const PREHEAT = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/preheat/;
const JOBS = new RegExp(`${PREHEAT.source}\\/?$`);
const JOB = new RegExp(`${PREHEAT.source}\\/(?<id>\\d{1,15})$`);

export function jobJson(job: PreheatJob): Record<string, unknown> {
  const count = (status: string): number => job.items.filter((i) => i.status === status).length;
  return {
    id: job.id,
    project_name: job.project,
    status: job.status,
    creation_time: time(job.createdAt),
    ...(job.finishedAt && { end_time: time(job.finishedAt) }),
    summary: {
      total: job.items.length,
      fetched: count("fetched"),
      present: count("present"),
      failed: count("failed"),
      pending: count("pending") + count("running"),
      bytes_fetched: job.items.reduce((sum, i) => sum + i.bytesFetched, 0),
    },
    images: job.items.map((i) => ({
      image: i.image,
      status: i.status,
      ...(i.digest !== undefined && { digest: i.digest }),
      manifests: i.manifests,
      blobs: i.blobs,
      bytes_fetched: i.bytesFetched,
      attempts: i.attempts,
      ...(i.error !== undefined && { error: i.error }),
    })),
  };
}

export function addPreheatRoutes(
  router: Router,
  deps: { projects: ProjectMetadataArea; access: ApiAccess; preheater: Preheater },
): void {
  const { projects, access, preheater } = deps;

  async function proxyProject(ctx: RequestContext): Promise<ProjectRecord> {
    const name = pathSegment(ctx.params["project"]);
    const project = await projects.getByName(name);
    if (!project) throw new HarborError("NOT_FOUND", `project ${name} not found`);
    await access.requireRole(ctx.req, project, [ROLES.projectAdmin, ROLES.maintainer]);
    if (project.registryId === undefined) {
      throw new HarborError("BAD_REQUEST", `project ${name} is not a proxy-cache project: there is nothing to preheat`);
    }
    return project;
  }

  router.add("preheat_start", "POST", JOBS, async (ctx) => {
    const project = await proxyProject(ctx);
    const body = await readJson(ctx.req, preheatSchema);
    let started;
    try {
      started = await preheater.start(project, body);
    } catch (err) {
      if (err instanceof RegistryError) throw new HarborError("BAD_REQUEST", err.message);
      throw err;
    }
    created(ctx.res, `/api/v2.0/projects/${project.name}/preheat/${started.id}`);
  });

  router.add("preheat_list", "GET", JOBS, async (ctx) => {
    const project = await proxyProject(ctx);
    sendJson(ctx.res, 200, (await preheater.list(project)).map(jobJson));
  });

  router.add("preheat_get", "GET", JOB, async (ctx) => {
    const project = await proxyProject(ctx);
    const job = await preheater.get(project, Number(ctx.params["id"]));
    if (!job) throw new HarborError("NOT_FOUND", "preheat job not found");
    sendJson(ctx.res, 200, jobJson(job));
  });
}
