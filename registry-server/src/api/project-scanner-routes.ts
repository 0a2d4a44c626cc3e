// Harbor's project scanner API (the scanner part of src/server/v2.0/handler/project.go):
// `/projects/{project_name_or_id}/scanner` shows the project's scanner, or the system default
// when the project chose none (or chose one since deleted), and PUT `{uuid}` chooses one;
// `/scanner/candidates` lists the registrations to choose from. The choice is kept as Harbor keeps
// it, the project metadata entry `projectScanner` (which /projects does not show, as Harbor's
// typed metadata does not). Reading is for the project's members (Harbor's "scanner" read, every
// role); choosing and listing candidates for its administrators ("scanner" create).

import { z } from "zod";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { PROJECT_SCANNER_KEY, type ScannerRegistry } from "../scan/scanner-registry.ts";
import type { ApiAccess } from "./api-access.ts";
import { ok, paging, readJson, setPageHeaders } from "./harbor-http.ts";
import { pathProject } from "./repository-routes.ts";
import { probedScannerJson, scannerFilter } from "./scanner-routes.ts";

const SCANNER = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/scanner$/;
const CANDIDATES = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/scanner\/candidates$/;
const projectScannerSchema = z.object({ uuid: z.string().trim().min(1).max(64) });

export interface ProjectScannerRouteDeps {
  store: MetadataStore;
  access: ApiAccess;
  scanners: ScannerRegistry;
}

export function addProjectScannerRoutes(router: Router, deps: ProjectScannerRouteDeps): void {
  const { store, access, scanners } = deps;

  router.add("project_scanner_get", "GET", SCANNER, async (ctx) => {
    await access.requireCaller(ctx.req);
    const project = await pathProject(ctx, deps);
    await access.requirePermission(ctx.req, project, "scanner", "read");
    const registration = await scanners.projectRegistration(project.id);
    // No scanner at all: Harbor's Terraform provider reads a 404 as "none".
    if (!registration) throw new HarborError("NOT_FOUND", "no scanner is registered for this project");
    // As Harbor, with what the adapter says of itself (its capabilities).
    sendJson(ctx.res, 200, await probedScannerJson(scanners, registration));
  });

  router.add("project_scanner_set", "PUT", SCANNER, async (ctx) => {
    await access.requireCaller(ctx.req);
    const project = await pathProject(ctx, deps);
    await access.requirePermission(ctx.req, project, "scanner", "create");
    const { uuid } = await readJson(ctx.req, projectScannerSchema);
    await store.transaction(async (tx) => {
      // Checked in the same transaction as the write: not a registration deleted meanwhile.
      if (!(await tx.scanners.get(uuid))) throw new HarborError("NOT_FOUND", `scanner ${uuid} not found`);
      const current = await tx.projects.get(project.id);
      if (!current) throw new HarborError("NOT_FOUND", "project not found");
      if (current.metadata[PROJECT_SCANNER_KEY] === uuid) return;
      await tx.projects.update(
        project.id,
        { metadata: { ...current.metadata, [PROJECT_SCANNER_KEY]: uuid } },
        new Date(),
      );
    });
    ok(ctx.res);
  });

  router.add("project_scanner_candidates", "GET", CANDIDATES, async (ctx) => {
    await access.requireCaller(ctx.req);
    const project = await pathProject(ctx, deps);
    await access.requirePermission(ctx.req, project, "scanner", "create");
    const page = paging(ctx.url);
    const listing = await store.scanners.list(scannerFilter(ctx.url, { legacy: false }), page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, await Promise.all(listing.items.map((record) => probedScannerJson(scanners, record))));
  });
}
