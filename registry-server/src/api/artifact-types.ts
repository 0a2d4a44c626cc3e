// How Harbor classifies an artifact from its media type (the config's media type of an image
// manifest, the manifest's for an index): its `type` (IMAGE, CHART, CNAB…, which Harbor's
// artifact processors decide), which additions it offers, and what its `extra_attrs` hold.
// Harbor's processors live in src/controller/artifact/processor/; this is their table.

import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST } from "../content/media-types.ts";

export const OCI_IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json";
export const DOCKER_IMAGE_CONFIG = "application/vnd.docker.container.image.v1+json";
export const HELM_CHART_CONFIG = "application/vnd.cncf.helm.config.v1+json";
/** The layer of a Helm chart holding its archive. */
export const HELM_CHART_CONTENT = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/** The media types each processor of Harbor's handles, by the type it gives. */
export const ARTIFACT_MEDIA_TYPES: Readonly<Record<string, readonly string[]>> = {
  IMAGE: [OCI_IMAGE_CONFIG, DOCKER_IMAGE_CONFIG, OCI_IMAGE_INDEX, DOCKER_MANIFEST_LIST],
  CHART: [HELM_CHART_CONFIG],
  CNAB: ["application/vnd.cnab.manifest.v1"],
  WASM: ["application/vnd.wasm.config.v1+json"],
  SBOM: ["application/vnd.goharbor.harbor.sbom.v1"],
  CNAI: ["application/vnd.cncf.model.config.v1+json"],
};

/** Harbor's default processor names other artifacts after their config media type. */
const CONFIG_TYPE = /^application\/vnd\.[^.]*\.(.*)\.config\.[^.]*\+json$/;

export function artifactTypeOf(mediaType: string): string {
  for (const [type, mediaTypes] of Object.entries(ARTIFACT_MEDIA_TYPES)) {
    if (mediaTypes.includes(mediaType)) return type;
  }
  const match = CONFIG_TYPE.exec(mediaType);
  return match?.[1] ? match[1].toUpperCase() : "UNKNOWN";
}

/** Harbor's annotation naming an index's artifact media type (CNAB bundles carry it). */
export const INDEX_MEDIA_TYPE_ANNOTATION = "org.opencontainers.artifactType";

/** The media type Harbor reports for a manifest: see the module's header. */
export function harborMediaType(record: {
  mediaType: string;
  configMediaType?: string;
  annotations?: Readonly<Record<string, string>>;
}): string {
  if (record.configMediaType !== undefined) return record.configMediaType;
  if (record.mediaType === OCI_IMAGE_INDEX || record.mediaType === DOCKER_MANIFEST_LIST) {
    const annotated = record.annotations?.[INDEX_MEDIA_TYPE_ANNOTATION];
    if (annotated) return annotated;
  }
  return record.mediaType;
}

/** Whether the manifest is an image manifest (it has a config and layers). */
export function isImageManifest(manifestMediaType: string): boolean {
  return manifestMediaType === OCI_IMAGE_MANIFEST || manifestMediaType === DOCKER_MANIFEST;
}

export type Addition = "build_history" | "values.yaml" | "readme.md" | "dependencies";

/** The additions Harbor offers for an artifact, as its processors list them. */
export function additionsOf(type: string, manifestMediaType: string): readonly Addition[] {
  if (!isImageManifest(manifestMediaType)) return [];
  if (type === "IMAGE") return ["build_history"];
  if (type === "CHART") return ["values.yaml", "readme.md", "dependencies"];
  return [];
}

/**
 * Harbor's `extra_attrs` from an artifact's config: for an image, its creation time,
 * architecture, OS, runtime config and author (else the author label); for a chart or another
 * artifact Harbor knows the type of, the whole config. Undefined when Harbor gives none.
 */
export function extraAttrsOf(type: string, config: Record<string, unknown>): Record<string, unknown> | undefined {
  if (type === "IMAGE") {
    const runtime = isRecord(config["config"]) ? config["config"] : undefined;
    const labels = runtime && isRecord(runtime["Labels"]) ? runtime["Labels"] : {};
    let author = typeof config["author"] === "string" ? config["author"] : "";
    for (const label of ["org.opencontainers.image.authors", "maintainer"]) {
      const value = labels[label];
      if (author === "" && typeof value === "string") author = value;
    }
    return {
      created: config["created"] ?? null,
      architecture: typeof config["architecture"] === "string" ? config["architecture"] : "",
      os: typeof config["os"] === "string" ? config["os"] : "",
      config: runtime ?? {},
      author,
    };
  }
  return type === "UNKNOWN" ? undefined : config;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
