// Harbor's quotas API: one storage quota per project (its id is the project's), read and set by
// the administrator. `used` counts each distinct blob of the project once.

import { z } from "zod";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import type { ProjectRecord } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ApiAccess } from "./api-access.ts";
import { ok, paging, readJson, setPageHeaders, time } from "./harbor-http.ts";

const quotaUpdateSchema = z.object({ hard: z.strictObject({ storage: z.number().int().min(-1) }) });

export function addQuotaRoutes(router: Router, deps: { store: MetadataStore; access: ApiAccess }): void {
  const { store, access } = deps;

  async function quotaJson(project: ProjectRecord): Promise<Record<string, unknown>> {
    const owner = await store.users.get(project.ownerId);
    return {
      id: project.id,
      ref: { id: project.id, name: project.name, owner_name: owner?.username ?? "" },
      hard: { storage: project.storageLimit },
      used: { storage: await store.projects.storageUsed(project.name) },
      creation_time: time(project.createdAt),
      update_time: time(project.updatedAt),
    };
  }

  router.add("quota_list", "GET", /^\/api\/v2\.0\/quotas\/?$/, async (ctx) => {
    await access.requireSysadmin(ctx.req);
    const page = paging(ctx.url);
    const reference = ctx.url.searchParams.get("reference");
    const referenceId = ctx.url.searchParams.get("reference_id");
    if (reference !== null && reference !== "project")
      throw new HarborError("BAD_REQUEST", "only project quotas exist");
    if (referenceId !== null) {
      const project = /^\d+$/.test(referenceId) ? await store.projects.get(Number(referenceId)) : undefined;
      const items = project ? [await quotaJson(project)] : [];
      setPageHeaders(ctx.res, ctx.url, page, items.length);
      sendJson(ctx.res, 200, items);
      return;
    }
    const listing = await store.projects.list({}, page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, await Promise.all(listing.items.map(quotaJson)));
  });

  router.add("quota_get", "GET", /^\/api\/v2\.0\/quotas\/(?<id>\d+)$/, async (ctx) => {
    await access.requireSysadmin(ctx.req);
    const project = await store.projects.get(Number(ctx.params["id"]));
    if (!project) throw new HarborError("NOT_FOUND", "quota not found");
    sendJson(ctx.res, 200, await quotaJson(project));
  });

  router.add("quota_update", "PUT", /^\/api\/v2\.0\/quotas\/(?<id>\d+)$/, async (ctx) => {
    await access.requireSysadmin(ctx.req);
    const body = await readJson(ctx.req, quotaUpdateSchema);
    const updated = await store.projects.update(
      Number(ctx.params["id"]),
      { storageLimit: body.hard.storage },
      new Date(),
    );
    if (!updated) throw new HarborError("NOT_FOUND", "quota not found");
    ok(ctx.res);
  });
}
