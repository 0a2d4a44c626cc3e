// An SBOM scan's result as Harbor 2.11+ keeps it (src/pkg/scan/sbom): the SBOM document the
// scanner sent is pushed into the scanned repository as an OCI image manifest whose config media
// type is Harbor's SBOM type and whose `subject` is the scanned manifest, so it is a referrer
// (the `/v2/<name>/referrers/<digest>` API lists it) and Harbor's accessory of type
// `harbor.sbom`. Its layer is the document's JSON (one layer, media type `…layer.v1.tar`, as
// Harbor writes it), its annotations Harbor's. What the scan report keeps is Harbor's SBOM summary
// (start and end time, duration, the accessory's repository and digest, the status, the scanner),
// not the document: the accessory holds that.
//
// It is written through the registry's own content services, like any push: the blobs are
// committed under the project's quota, and the manifest put checks and claims them against a
// garbage collection under way (a collection that removed one makes the put fail, and the write is
// tried once more). The accessory the same scanner made before is deleted once the new one is in,
// so an artifact never lacks its SBOM while it is regenerated; SBOMs of other scanners stay.

import { digestOf, parseDigest, type ParsedDigest } from "../content/digest.ts";
import { HARBOR_SBOM_ARTIFACT_TYPE, accessoryType } from "../content/accessories.ts";
import type { BlobStore } from "../content/blob-store.ts";
import type { ManifestService } from "../content/manifest-service.ts";
import { OCI_IMAGE_MANIFEST } from "../content/media-types.ts";
import { RegistryError } from "../http/errors.ts";
import type { Logger } from "../logger.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ScanOutcome } from "../metadata/scan-store.ts";
import type { ScannedReport } from "./scan-job.ts";
import { CYCLONEDX_JSON, SBOM_REPORT_MIME, SPDX_JSON } from "./scanner-adapter.ts";

/** The layer media type Harbor gives the SBOM document (go-containerregistry's static layer). */
export const SBOM_LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar";

/** Harbor's SBOM summary (sbom/model.Summary), stored as the SBOM report's text. */
export interface SbomSummary {
  readonly start_time: string;
  readonly end_time: string;
  /** Seconds. */
  readonly duration: number;
  readonly sbom_repository: string;
  readonly sbom_digest: string;
  readonly scan_status: string;
  readonly scanner?: { name: string; vendor: string; version: string };
  /** Beyond Harbor: the document's format (application/spdx+json, application/vnd.cyclonedx+json). */
  readonly media_type?: string;
}

function sha256Digest(data: Buffer): string {
  return digestOf("sha256", data);
}

function parsed(digest: string): ParsedDigest {
  const result = parseDigest(digest);
  if (typeof result === "string") throw new Error(`digest ${digest} does not parse`);
  return result;
}

/** RFC 3339 in UTC, seconds only, as Go's time.RFC3339 writes it. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function description(mediaType: string): string {
  return mediaType === CYCLONEDX_JSON ? "CycloneDX JSON SBOM" : "SPDX JSON SBOM";
}

/** The accessory's three parts: the document's layer, the config, the manifest. */
export function sbomArtifact(
  document: unknown,
  mediaType: string,
  subject: { digest: string; mediaType: string; size: number },
  created: Date,
): { layer: Buffer; config: Buffer; manifest: Buffer } {
  const layer = Buffer.from(JSON.stringify(document));
  const layerDigest = sha256Digest(layer);
  const at = rfc3339(created);
  // The config go-containerregistry writes for one layer appended to an empty image.
  const config = Buffer.from(
    JSON.stringify({
      architecture: "",
      created: "0001-01-01T00:00:00Z",
      history: [{ created: at, author: "harbor", created_by: "harbor" }],
      os: "",
      rootfs: { type: "layers", diff_ids: [layerDigest] },
      config: {},
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_IMAGE_MANIFEST,
      config: { mediaType: HARBOR_SBOM_ARTIFACT_TYPE, size: config.length, digest: sha256Digest(config) },
      layers: [{ mediaType: SBOM_LAYER_MEDIA_TYPE, size: layer.length, digest: layerDigest }],
      annotations: {
        created: at,
        "created-by": "Harbor",
        "org.opencontainers.artifact.created": at,
        "org.opencontainers.artifact.description": description(mediaType),
      },
      subject: { mediaType: subject.mediaType, size: subject.size, digest: subject.digest },
    }),
  );
  return { layer, config, manifest };
}

/** The SBOM summary of a report's text, when it is one. */
export function parseSbomSummary(text: string | undefined): Partial<SbomSummary> | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === "object" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export interface SbomAccessoriesDeps {
  readonly store: Pick<MetadataStore, "manifests" | "scanReports">;
  readonly manifests: Pick<ManifestService, "push" | "delete">;
  readonly blobs: Pick<BlobStore, "writeBytes">;
  readonly log: Logger;
  readonly now?: () => number;
}

export class SbomAccessories {
  private readonly deps: SbomAccessoriesDeps;
  private readonly now: () => number;

  constructor(deps: SbomAccessoriesDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  /** The scan job's PostScan: SBOM reports become accessories, others pass unchanged. */
  readonly postScan = async (scanned: ScannedReport): Promise<ScanOutcome> => {
    if (scanned.report.mimeType !== SBOM_REPORT_MIME) return scanned.outcome;
    const body = scanned.body as { sbom?: unknown; media_type?: unknown } | null;
    const document = body?.sbom;
    if (document === null || typeof document !== "object") {
      throw new Error("the scanner's SBOM report holds no SBOM document");
    }
    const mediaType = typeof body?.media_type === "string" ? body.media_type : SPDX_JSON;
    const subject = await this.deps.store.manifests.get(scanned.repository, scanned.manifest.digest);
    if (!subject) throw new Error(`${scanned.repository}@${scanned.manifest.digest} is no longer in the repository`);
    const digest = await this.attach(
      scanned.repository,
      { digest: subject.digest, mediaType: subject.mediaType, size: subject.size },
      document,
      mediaType,
    );
    await this.replacePrevious(scanned, digest);
    const end = new Date(this.now());
    const summary: SbomSummary = {
      start_time: scanned.startedAt.toISOString(),
      end_time: end.toISOString(),
      duration: Math.floor((end.getTime() - scanned.startedAt.getTime()) / 1_000),
      sbom_repository: scanned.repository,
      sbom_digest: digest,
      scan_status: "Success",
      ...(scanned.outcome.scanner && { scanner: { ...scanned.outcome.scanner } }),
      media_type: mediaType,
    };
    return { ...scanned.outcome, report: JSON.stringify(summary) };
  };

  /** Pushes the SBOM as a referrer of `subject`; its manifest's digest. */
  async attach(
    repository: string,
    subject: { digest: string; mediaType: string; size: number },
    document: unknown,
    mediaType: string,
  ): Promise<string> {
    const parts = sbomArtifact(document, mediaType, subject, new Date(this.now()));
    const digest = sha256Digest(parts.manifest);
    for (let attempt = 1; ; attempt++) {
      await this.deps.blobs.writeBytes(repository, sha256Digest(parts.layer), parts.layer);
      await this.deps.blobs.writeBytes(repository, sha256Digest(parts.config), parts.config);
      try {
        await this.deps.manifests.push(
          repository,
          { kind: "digest", digest: parsed(digest) },
          parts.manifest,
          OCI_IMAGE_MANIFEST,
          [],
        );
        return digest;
      } catch (error) {
        // A garbage collection took a blob between its write and the put: once more.
        if (attempt < 2 && error instanceof RegistryError && error.code === "MANIFEST_BLOB_UNKNOWN") continue;
        throw error;
      }
    }
  }

  /**
   * Deletes the subject's other `harbor.sbom` accessories, except those another scanner's
   * current SBOM report names.
   */
  private async replacePrevious(scanned: ScannedReport, keep: string): Promise<void> {
    const { repository } = scanned;
    const others = await this.deps.store.scanReports.forDigests([scanned.manifest.digest], {
      mimeTypes: [SBOM_REPORT_MIME],
    });
    const kept = new Set([keep]);
    for (const report of others) {
      if (report.registrationUuid === scanned.report.registrationUuid || report.status !== "Success") continue;
      const summary = parseSbomSummary(await this.deps.store.scanReports.reportText(report.uuid));
      if (typeof summary?.sbom_digest === "string") kept.add(summary.sbom_digest);
    }
    for (const referrer of await this.deps.store.manifests.referrers(repository, scanned.manifest.digest)) {
      if (accessoryType(referrer.artifactType) !== "harbor.sbom" || kept.has(referrer.digest)) continue;
      try {
        await this.deps.manifests.delete(repository, { kind: "digest", digest: parsed(referrer.digest) });
      } catch (err) {
        // Deleted meanwhile, or refused: the new SBOM is in either way.
        this.deps.log.warn({ err, repository, digest: referrer.digest }, "could not delete a previous SBOM");
      }
    }
  }
}
