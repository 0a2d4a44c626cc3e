// Harbor's scan API under an artifact: POST …/artifacts/{reference}/scan (202; `scan_type`
// "vulnerability" or, Harbor 2.11+, "sbom"), POST …/scan/stop, and GET …/scan/{report_id}/log
// (the log of the job task that wrote the report; an index's reports joined by "|" give their
// logs one after the other). The scans themselves are scan/scan-service.ts's.

import { z } from "zod";
import { HarborError } from "../http/errors.ts";
import type { RequestContext, Router } from "../http/router.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ScanService, ScanTarget } from "../scan/scan-service.ts";
import type { ApiAccess } from "./api-access.ts";
import { contextOrNotFound, resolveArtifact } from "./artifact-routes.ts";
import { pathSegment, readJson } from "./harbor-http.ts";
import { pathProject } from "./repository-routes.ts";

const ARTIFACT_PATH = String.raw`^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/repositories\/(?<repository>[^/]+)\/artifacts\/(?<reference>[^/]+)`;
const SCAN = new RegExp(`${ARTIFACT_PATH}\\/scan$`);
const STOP = new RegExp(`${ARTIFACT_PATH}\\/scan\\/stop$`);
const LOG = new RegExp(`${ARTIFACT_PATH}\\/scan\\/(?<report>[^/]+)\\/log$`);

/** Reports whose logs one request joins (an index's children). */
const MAX_LOGS = 64;

// Unknown fields are ignored, as Harbor's decoding does; no body is a vulnerability scan.
const scanTypeSchema = z
  .object({ scan_type: z.enum(["vulnerability", "sbom"]).nullish() })
  .passthrough()
  .nullable();

export interface ScanRouteDeps {
  readonly store: MetadataStore;
  readonly access: ApiAccess;
  readonly scans: ScanService;
}

async function artifactTarget(ctx: RequestContext, deps: ScanRouteDeps, action: "create" | "stop" | "read") {
  const project = await pathProject(ctx, deps);
  const caller = await deps.access.requirePermission(ctx.req, project, "scan", action);
  const context = await contextOrNotFound(ctx, deps.store, project);
  const record = await resolveArtifact(deps.store, context.repository, ctx.params["reference"]);
  const target: ScanTarget = {
    projectId: project.id,
    artifactId: record.id,
    repository: context.repository,
    digest: record.digest,
    mediaType: record.mediaType,
  };
  return { project, caller, target };
}

function accepted(ctx: RequestContext): void {
  ctx.res.statusCode = 202;
  ctx.res.setHeader("Content-Length", "0");
  ctx.res.end();
}

export function addScanRoutes(router: Router, deps: ScanRouteDeps): void {
  router.add("scan_artifact", "POST", SCAN, async (ctx) => {
    const { target } = await artifactTarget(ctx, deps, "create");
    const body = await readJson(ctx.req, scanTypeSchema);
    await deps.scans.scan(target, body?.scan_type ?? "vulnerability", "MANUAL");
    accepted(ctx);
  });

  router.add("scan_stop", "POST", STOP, async (ctx) => {
    const { target } = await artifactTarget(ctx, deps, "stop");
    const body = await readJson(ctx.req, scanTypeSchema);
    await deps.scans.stop(target, body?.scan_type ?? "vulnerability");
    accepted(ctx);
  });

  router.add("scan_log", "GET", LOG, async (ctx) => {
    const { target } = await artifactTarget(ctx, deps, "read");
    const ids = pathSegment(ctx.params["report"])
      .split("|")
      .filter((id) => id !== "")
      .slice(0, MAX_LOGS);
    const logs: Array<{ id: string; text: string }> = [];
    for (const id of ids) {
      const report = await deps.store.scanReports.get(id);
      if (report?.executionId === undefined) continue;
      // Only the reports of the artifact in the path (or of its children): ids are not secrets.
      const own = await deps.scans.reportsOf(target, [report.mimeType], { anyScanner: true });
      if (!own.some((r) => r.uuid === id)) continue;
      logs.push({ id, text: await deps.store.jobs.log(report.executionId, report.taskId) });
    }
    if (logs.length === 0)
      throw new HarborError("NOT_FOUND", `report with uuid ${ctx.params["report"]} does not exist`);
    const text =
      logs.length === 1
        ? logs[0]!.text
        : logs.map((log) => `---------- Logs of report ${log.id} ----------\n${log.text}`).join("\n\n\n\n");
    const body = Buffer.from(text);
    ctx.res.statusCode = 200;
    ctx.res.setHeader("Content-Type", "text/plain; charset=utf-8");
    ctx.res.setHeader("Content-Length", body.length);
    ctx.res.end(body);
  });
}
