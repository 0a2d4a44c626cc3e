// Harbor's artifacts API under a repository: list (page, page_size, q, sort, with_tag,
// with_accessory…), get and delete by reference (a digest or a tag), and the additions (build
// history, chart files; vulnerabilities, empty until scanning exists). An artifact is a manifest
// of the repository; artifact-view.ts builds its JSON. Deleting goes through the same domain
// code as /v2's DELETE (content/manifest-service.ts): tags go with it, the blobs it alone used
// leave the project's quota, and an artifact an index needs is refused (412, as Harbor).

import type { IncomingMessage } from "node:http";
import type { BlobStore } from "../content/blob-store.ts";
import { parseDigest } from "../content/digest.ts";
import type { ManifestService } from "../content/manifest-service.ts";
import { HarborError, RegistryError } from "../http/errors.ts";
import { ImmutableTagError, immutableDeleteMessage } from "../immutability/immutable-tag-guard.ts";
import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import type { ArtifactRecord } from "../metadata/artifact-store.ts";
import type { ProjectRecord } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ApiAccess } from "./api-access.ts";
import { additionContent } from "./artifact-additions.ts";
import { additionHref, type ArtifactContext, type ArtifactOptions, type ArtifactView } from "./artifact-view.ts";
import type { AuditLog } from "./audit-log.ts";
import { artifactQuery } from "./content-queries.ts";
import { ok, paging, pathSegment, setPageHeaders } from "./harbor-http.ts";
import { pathProject, repositoryName } from "./repository-routes.ts";
import { DEFAULT_REPORT_MIMES, type ScanService } from "../scan/scan-service.ts";
import type { SbomOverview } from "../scan/sbom-overview.ts";
import { HARBOR_SBOM_ARTIFACT_TYPE } from "../content/accessories.ts";

const REPOSITORY_PATH = String.raw`^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/repositories\/(?<repository>[^/]+)`;
const ARTIFACTS = new RegExp(`${REPOSITORY_PATH}\\/artifacts\\/?$`);
const ARTIFACT = new RegExp(`${REPOSITORY_PATH}\\/artifacts\\/(?<reference>[^/]+)$`);
const ADDITION = new RegExp(`${REPOSITORY_PATH}\\/artifacts\\/(?<reference>[^/]+)\\/additions\\/(?<addition>[^/]+)$`);

export interface ArtifactRouteDeps {
  store: MetadataStore;
  access: ApiAccess;
  audit: AuditLog;
  manifests: ManifestService;
  blobs: BlobStore;
  view: ArtifactView;
  /** Scan overviews and reports; without it, artifacts show none. */
  scans?: Pick<ScanService, "overview" | "vulnerabilities">;
  /** SBOM overviews and the SBOM accessories they name. */
  sboms?: Pick<SbomOverview, "overview" | "sbomDigest">;
}

/** An SBOM larger than this is not served through the addition (it still is through /v2). */
const MAX_SBOM_BYTES = 64 * 1024 * 1024;

/** The report MIME types a request asks for (X-Accept-Vulnerabilities), Harbor's defaults otherwise. */
export function acceptedReportMimes(req: IncomingMessage): readonly string[] {
  const header = req.headers["x-accept-vulnerabilities"];
  const text = Array.isArray(header) ? header.join(",") : (header ?? "");
  const mimes = text
    .split(",")
    .map((mime) => mime.trim())
    .filter((mime) => mime !== "");
  return mimes.length > 0 ? mimes : DEFAULT_REPORT_MIMES;
}

/** A boolean query parameter as go-openapi reads one; absent gives `fallback`. */
export function flag(url: URL, name: string, fallback: boolean): boolean {
  const value = url.searchParams.get(name);
  if (value === null || value === "") return fallback;
  if (["true", "1", "yes", "y", "on"].includes(value.toLowerCase())) return true;
  if (["false", "0", "no", "n", "off"].includes(value.toLowerCase())) return false;
  throw new HarborError("BAD_REQUEST", `${name} must be true or false`);
}

/** What an artifact listing or get shows: Harbor's defaults, tags and accessories included. */
function artifactOptions(url: URL): ArtifactOptions {
  // with_label, with_signature and with_immutable_status are accepted: there are no labels to
  // show yet.
  for (const name of ["with_label", "with_signature", "with_immutable_status"]) {
    flag(url, name, false);
  }
  return { withTag: flag(url, "with_tag", true), withAccessory: flag(url, "with_accessory", true) };
}

/** The repository of the path with the ids artifact JSON needs; undefined when there is none. */
export async function artifactContext(
  store: MetadataStore,
  project: ProjectRecord,
  param: string | undefined,
): Promise<ArtifactContext | undefined> {
  const name = repositoryName(project, param);
  const repository = await store.artifacts.repository(name);
  return (
    repository && { projectId: project.id, projectName: project.name, repositoryId: repository.id, repository: name }
  );
}

/**
 * The artifact a `{reference}` names: a digest (when it parses as one) or a tag, as Harbor's
 * controller reads it. Absent, or in no repository: 404 with Harbor's message.
 */
export async function resolveArtifact(
  store: MetadataStore,
  repository: string,
  param: string | undefined,
): Promise<ArtifactRecord> {
  let reference = param ?? "";
  try {
    reference = decodeURIComponent(reference);
  } catch {
    // Left as it is: it names nothing, and the lookup says so.
  }
  const digest = parseDigest(reference);
  if (typeof digest !== "string") {
    const found = await store.artifacts.artifact(repository, digest.text);
    if (!found) throw new HarborError("NOT_FOUND", `artifact ${repository}@${reference} not found`);
    return found;
  }
  const tag = await store.tags.get(repository, reference);
  const found = tag && (await store.artifacts.artifact(repository, tag.digest));
  if (!found) throw new HarborError("NOT_FOUND", `artifact ${repository}:${reference} not found`);
  return found;
}

/** The repository of the path, which must exist (404 otherwise). */
export async function contextOrNotFound(
  ctx: RequestContext,
  store: MetadataStore,
  project: ProjectRecord,
): Promise<ArtifactContext> {
  const context = await artifactContext(store, project, ctx.params["repository"]);
  if (!context) {
    throw new HarborError("NOT_FOUND", `repository ${repositoryName(project, ctx.params["repository"])} not found`);
  }
  return context;
}

export function addArtifactRoutes(router: Router, deps: ArtifactRouteDeps): void {
  const { store, access, audit, manifests, blobs, view } = deps;

  /** Harbor's `scan_overview`, left out when the artifact has no report. */
  async function addScanOverview(
    json: Record<string, unknown>,
    context: ArtifactContext,
    record: ArtifactRecord,
    mimes: readonly string[],
  ): Promise<void> {
    const overview = await deps.scans?.overview(
      {
        projectId: context.projectId,
        repository: context.repository,
        digest: record.digest,
        mediaType: record.mediaType,
      },
      mimes,
    );
    if (overview) json["scan_overview"] = overview;
  }

  /**
   * Harbor's `sbom_overview` (with_sbom_overview=true), left out without an SBOM report, and the
   * `sbom` addition's link to the SBOM accessory it names.
   */
  async function addSbomOverview(
    json: Record<string, unknown>,
    context: ArtifactContext,
    record: ArtifactRecord,
  ): Promise<void> {
    if (!deps.sboms) return;
    const target = {
      projectId: context.projectId,
      repository: context.repository,
      digest: record.digest,
      mediaType: record.mediaType,
    };
    const overview = await deps.sboms.overview(target);
    if (!overview) return;
    json["sbom_overview"] = overview;
    const digest = typeof overview["sbom_digest"] === "string" ? overview["sbom_digest"] : undefined;
    if (digest !== undefined && (await store.artifacts.artifact(context.repository, digest))) {
      const links = (json["addition_links"] as Record<string, unknown> | undefined) ?? {};
      json["addition_links"] = { ...links, sbom: { href: additionHref(context, digest, "sbom"), absolute: false } };
    }
  }

  /**
   * The `sbom` addition: the SBOM document of an SBOM accessory (Harbor's SBOM processor) or,
   * beyond Harbor, of the artifact's own SBOM accessory; undefined for any other artifact.
   */
  async function sbomAddition(
    context: ArtifactContext,
    record: ArtifactRecord,
  ): Promise<{ contentType: string; body: Buffer } | undefined> {
    let accessory: ArtifactRecord | undefined = record;
    if (record.configMediaType !== HARBOR_SBOM_ARTIFACT_TYPE) {
      const digest = await deps.sboms?.sbomDigest({
        projectId: context.projectId,
        repository: context.repository,
        digest: record.digest,
        mediaType: record.mediaType,
      });
      accessory = digest === undefined ? undefined : await store.artifacts.artifact(context.repository, digest);
      if (!accessory) return undefined;
    }
    const loaded = await view.load(context.repository, accessory);
    const layers = loaded?.json?.["layers"];
    // Harbor's SBOM artifact has exactly one layer.
    const layer = Array.isArray(layers) && layers.length === 1 ? (layers[0] as Record<string, unknown>) : undefined;
    const blob =
      typeof layer?.["digest"] === "string" ? await blobs.stat(context.repository, layer["digest"]) : undefined;
    if (!blob) throw new HarborError("NOT_FOUND", "The sbom is not found");
    if (blob.size > MAX_SBOM_BYTES) {
      throw new HarborError("BAD_REQUEST", `the sbom is larger than ${MAX_SBOM_BYTES} bytes: pull ${blob.digest}`);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of await blobs.open(blob)) chunks.push(chunk as Buffer);
    return { contentType: HARBOR_SBOM_ARTIFACT_TYPE, body: Buffer.concat(chunks) };
  }

  router.add("artifact_list", "GET", ARTIFACTS, async (ctx) => {
    const project = await pathProject(ctx, deps);
    await access.requirePermission(ctx.req, project, "artifact", "list");
    const options = artifactOptions(ctx.url);
    const page = paging(ctx.url);
    const context = await artifactContext(store, project, ctx.params["repository"]);
    // As Harbor: a repository that does not exist lists no artifacts.
    if (!context) {
      artifactQuery(ctx.url, { projectId: project.id, repositoryId: 0, repository: "" });
      setPageHeaders(ctx.res, ctx.url, page, 0);
      sendJson(ctx.res, 200, []);
      return;
    }
    const listing = await store.artifacts.artifacts(context.repository, artifactQuery(ctx.url, context), page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    const body = [];
    const withScanOverview = flag(ctx.url, "with_scan_overview", false);
    const withSbomOverview = flag(ctx.url, "with_sbom_overview", false);
    for (const record of listing.items) {
      const json = await view.json(context, record, options);
      if (json && withScanOverview) await addScanOverview(json, context, record, acceptedReportMimes(ctx.req));
      if (json && withSbomOverview) await addSbomOverview(json, context, record);
      if (json) body.push(json);
    }
    sendJson(ctx.res, 200, body);
  });

  router.add("artifact_get", "GET", ARTIFACT, async (ctx) => {
    const project = await pathProject(ctx, deps);
    await access.requirePermission(ctx.req, project, "artifact", "read");
    const options = artifactOptions(ctx.url);
    const context = await contextOrNotFound(ctx, store, project);
    const record = await resolveArtifact(store, context.repository, ctx.params["reference"]);
    const json = await view.json(context, record, options);
    if (!json) throw new HarborError("NOT_FOUND", `artifact ${context.repository}@${record.digest} not found`);
    if (flag(ctx.url, "with_scan_overview", false)) {
      await addScanOverview(json, context, record, acceptedReportMimes(ctx.req));
    }
    if (flag(ctx.url, "with_sbom_overview", false)) await addSbomOverview(json, context, record);
    sendJson(ctx.res, 200, json);
  });

  router.add("artifact_delete", "DELETE", ARTIFACT, async (ctx) => {
    const project = await pathProject(ctx, deps);
    const caller = await access.requirePermission(ctx.req, project, "artifact", "delete");
    const context = await contextOrNotFound(ctx, store, project);
    const record = await resolveArtifact(store, context.repository, ctx.params["reference"]);
    const digest = parseDigest(record.digest);
    if (typeof digest === "string") throw new Error(`stored digest ${record.digest} does not parse`);
    let success = false;
    try {
      await manifests.delete(context.repository, { kind: "digest", digest }, caller?.username ?? "anonymous");
      success = true;
    } catch (err) {
      throw harborError(err, context.repository, record.digest);
    } finally {
      audit.record({
        username: caller?.username ?? "anonymous",
        resource: `${context.repository}@${record.digest}`,
        resourceType: "artifact",
        operation: "delete",
        success,
        project: project.name,
      });
    }
    ok(ctx.res);
  });

  router.add("artifact_addition", "GET", ADDITION, async (ctx) => {
    const project = await pathProject(ctx, deps);
    await access.requirePermission(ctx.req, project, "artifact-addition", "read");
    const context = await contextOrNotFound(ctx, store, project);
    const record = await resolveArtifact(store, context.repository, ctx.params["reference"]);
    const name = pathSegment(ctx.params["addition"]);
    // Harbor answers the scan reports it has, by mime type ({} without any).
    const sbom = name.toLowerCase() === "sbom" ? await sbomAddition(context, record) : undefined;
    const addition = sbom
      ? sbom
      : name.toLowerCase() === "vulnerabilities"
        ? {
            contentType: "application/json",
            body: Buffer.from(
              JSON.stringify(
                (await deps.scans?.vulnerabilities(
                  {
                    projectId: project.id,
                    repository: context.repository,
                    digest: record.digest,
                    mediaType: record.mediaType,
                  },
                  acceptedReportMimes(ctx.req),
                )) ?? {},
              ),
            ),
          }
        : await additionContent({ view, blobs }, context.repository, record, name);
    ctx.res.statusCode = 200;
    ctx.res.setHeader("Content-Type", addition.contentType);
    ctx.res.setHeader("Content-Length", addition.body.length);
    ctx.res.end(addition.body);
  });
}

/** The domain's refusal of a delete in Harbor's terms. */
function harborError(err: unknown, repository: string, digest: string): unknown {
  if (err instanceof ImmutableTagError) return new HarborError("PRECONDITION", immutableDeleteMessage(err.tag));
  if (!(err instanceof RegistryError)) return err;
  if (err.status === 412) return new HarborError("PRECONDITION", err.message);
  if (err.code === "MANIFEST_UNKNOWN" || err.code === "NAME_UNKNOWN") {
    return new HarborError("NOT_FOUND", `artifact ${repository}@${digest} not found`);
  }
  return err;
}
