// Harbor's project metadata API, /api/v2.0/projects/{project}/metadatas[/{meta_name}]: read all
// or one value; add, change or remove one (as Harbor's handler, a write carries exactly one known
// key, its value checked and normalised by project-metadata.ts). Reading is for whoever may see
// the project; writing for its administrators.

import { z } from "zod";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import { ADMIN_ROLES } from "./api-access.ts";
import { ok, pathSegment, readJson } from "./harbor-http.ts";
import { applicableMetadata, METADATA_KEYS, normaliseMetadataValue } from "./project-metadata.ts";
import { visibleProject, type ProjectRouteDeps } from "./project-routes.ts";

const METADATAS = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/metadatas\/?$/;
const METADATA = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/metadatas\/(?<name>[^/]+)$/;
const bodySchema = z.record(z.string(), z.unknown());

export function addProjectMetadataRoutes(router: Router, deps: ProjectRouteDeps): void {
  const { identity, access } = deps;

  /** The one key and normalised value of a write, checked against `name` when the path has one. */
  async function oneEntry(ctx: RequestContext, name?: string): Promise<[string, string]> {
    const entries = Object.entries(await readJson(ctx.req, bodySchema));
    const [entry] = entries;
    if (!entry || entries.length !== 1) throw new HarborError("BAD_REQUEST", "exactly one metadata key is expected");
    const [key, value] = entry;
    if (name !== undefined && key !== name) {
      throw new HarborError("BAD_REQUEST", `the body's key ${key} is not the path's ${name}`);
    }
    if (!METADATA_KEYS.includes(key)) throw new HarborError("BAD_REQUEST", `invalid metadata key ${key}`);
    const normalised = normaliseMetadataValue(key, value);
    if (normalised === undefined) throw new HarborError("BAD_REQUEST", `invalid metadata.${key}: a value is needed`);
    return [key, normalised];
  }

  async function write(ctx: RequestContext, change: (metadata: Record<string, string>) => void): Promise<void> {
    const { project } = await visibleProject(ctx, deps);
    await access.requireRole(ctx.req, project, ADMIN_ROLES);
    const metadata = { ...project.metadata };
    change(metadata);
    await identity.projects.update(
      project.id,
      { metadata: applicableMetadata(metadata, project.registryId !== undefined) },
      new Date(),
    );
    ok(ctx.res);
  }

  router.add("project_metadata_list", "GET", METADATAS, async (ctx) => {
    const { project } = await visibleProject(ctx, deps);
    sendJson(ctx.res, 200, project.metadata);
  });

  router.add("project_metadata_add", "POST", METADATAS, async (ctx) => {
    const [key, value] = await oneEntry(ctx);
    await write(ctx, (metadata) => {
      metadata[key] = value;
    });
  });

  router.add("project_metadata_get", "GET", METADATA, async (ctx) => {
    const { project } = await visibleProject(ctx, deps);
    const name = pathSegment(ctx.params["name"]);
    const value = project.metadata[name];
    if (value === undefined) throw new HarborError("NOT_FOUND", `metadata ${name} not found`);
    sendJson(ctx.res, 200, { [name]: value });
  });

  router.add("project_metadata_update", "PUT", METADATA, async (ctx) => {
    const [key, value] = await oneEntry(ctx, pathSegment(ctx.params["name"]));
    await write(ctx, (metadata) => {
      metadata[key] = value;
    });
  });

  router.add("project_metadata_delete", "DELETE", METADATA, async (ctx) => {
    const name = pathSegment(ctx.params["name"]);
    await write(ctx, (metadata) => {
      if (metadata[name] === undefined) throw new HarborError("NOT_FOUND", `metadata ${name} not found`);
      delete metadata[name];
    });
  });
}
