// Pins, Airlock's own (Harbor has none): `PUT` and `DELETE`
// /api/v2.0/projects/{p}/repositories/{r}/artifacts/{reference}/pin pin an artifact (a tag or a
// digest) or release it. A pinned artifact is kept whatever retention or a proxy cache's expiry
// say, as what a preheat fetched is. `GET` answers {"pinned": bool, "reasons": [...]}. Pinning
// decides what retention may remove, so it needs the `tag-retention` update permission.

import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import type { LifecycleAreas } from "../metadata/lifecycle-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ApiAccess } from "./api-access.ts";
import { contextOrNotFound, resolveArtifact } from "./artifact-routes.ts";
import { ok } from "./harbor-http.ts";
import { pathProject } from "./repository-routes.ts";

const PIN =
  /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/repositories\/(?<repository>[^/]+)\/artifacts\/(?<reference>[^/]+)\/pin\/?$/;

export interface PinRouteDeps {
  store: MetadataStore & Pick<LifecycleAreas, "lifecycle">;
  access: ApiAccess;
}

export function addPinRoutes(router: Router, deps: PinRouteDeps): void {
  const { store, access } = deps;

  async function artifactOf(ctx: RequestContext, action: "read" | "update") {
    const project = await pathProject(ctx, deps);
    await access.requirePermission(ctx.req, project, "tag-retention", action);
    const context = await contextOrNotFound(ctx, store, project);
    const record = await resolveArtifact(store, context.repository, ctx.params["reference"]);
    return { repository: context.repository, digest: record.digest };
  }

  router.add("artifact_pin_get", "GET", PIN, async (ctx) => {
    const key = await artifactOf(ctx, "read");
    const artifact = (await store.lifecycle.artifacts(key.repository)).find((each) => each.digest === key.digest);
    const reasons = artifact?.pins ?? [];
    sendJson(ctx.res, 200, { pinned: reasons.length > 0, reasons });
  });

  router.add("artifact_pin", "PUT", PIN, async (ctx) => {
    await store.lifecycle.pin(await artifactOf(ctx, "update"), "api", new Date());
    ok(ctx.res);
  });

  router.add("artifact_unpin", "DELETE", PIN, async (ctx) => {
    await store.lifecycle.unpin(await artifactOf(ctx, "update"), "api");
    ok(ctx.res);
  });
}
