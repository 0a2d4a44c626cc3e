// Parses and validates a pushed manifest: JSON, a known media type consistent with the request's
// Content-Type, schemaVersion 2, well-formed descriptors. What it references is returned for the
// caller to check against the repository; nothing here touches storage.

import { RegistryError } from "../http/errors.ts";
import { digestOf, parseDigest } from "./digest.ts";
import {
  DOCKER_SCHEMA1,
  MANIFEST_KINDS,
  MEDIA_TYPE_PATTERN,
  OCI_IMAGE_INDEX,
  OCI_IMAGE_MANIFEST,
  type ManifestKind,
} from "./media-types.ts";

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly urls?: readonly string[];
  /** Embedded content (base64), when the descriptor carries it. */
  readonly data?: string;
  readonly artifactType?: string;
  /** The platform of an index entry, when it names one. */
  readonly platform?: Platform;
}

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface ParsedManifest {
  readonly mediaType: string;
  readonly kind: ManifestKind;
  /** Config and layers of an image manifest. */
  readonly blobs: readonly Descriptor[];
  /** Child manifests of an index. */
  readonly children: readonly Descriptor[];
  readonly subject?: Descriptor;
  /** The artifact type the referrers API reports for this manifest. */
  readonly artifactType?: string;
  readonly annotations?: Record<string, string>;
}

function invalid(message: string): RegistryError {
  return new RegistryError("MANIFEST_INVALID", `manifest invalid: ${message}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === "string")) {
    throw invalid(`${where} must map strings to strings`);
  }
  return value as Record<string, string>;
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} is not a descriptor`);
  const { mediaType, digest, size, urls, data, artifactType } = value;
  if (typeof mediaType !== "string" || !MEDIA_TYPE_PATTERN.test(mediaType))
    throw invalid(`${where}.mediaType is missing or malformed`);
  if (typeof digest !== "string" || typeof parseDigest(digest) === "string")
    throw invalid(`${where}.digest is missing, malformed or unsupported`);
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)
    throw invalid(`${where}.size must be a non-negative integer`);
  if (urls !== undefined && !(Array.isArray(urls) && urls.every((u) => typeof u === "string")))
    throw invalid(`${where}.urls must be a list of strings`);
  if (data !== undefined && (typeof data !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)))
    throw invalid(`${where}.data must be base64`);
  if (artifactType !== undefined && (typeof artifactType !== "string" || !MEDIA_TYPE_PATTERN.test(artifactType)))
    throw invalid(`${where}.artifactType is malformed`);
  stringMap(value["annotations"], `${where}.annotations`);
  if (data !== undefined) {
    // Embedded data is a copy of the content: it must be exactly what the descriptor names.
    const bytes = Buffer.from(data, "base64");
    const parsed = parseDigest(digest);
    if (typeof parsed === "string" || bytes.length !== size || digestOf(parsed.algorithm, bytes) !== digest) {
      throw invalid(`${where}.data does not match its digest and size`);
    }
  }
  const platform = platformOf(value["platform"]);
  return {
    mediaType,
    digest,
    size,
    ...(urls !== undefined && { urls: urls }),
    ...(data !== undefined && { data }),
    ...(artifactType !== undefined && { artifactType }),
    ...(platform && { platform }),
  };
}

/** An index entry's platform; undefined when absent or incomplete (it is informative only). */
function platformOf(value: unknown): Platform | undefined {
  if (!isObject(value)) return undefined;
  const { os, architecture, variant } = value;
  if (typeof os !== "string" || typeof architecture !== "string") return undefined;
  return { os, architecture, ...(typeof variant === "string" && { variant }) };
}

function descriptors(value: unknown, where: string): Descriptor[] {
  if (!Array.isArray(value)) throw invalid(`${where} must be a list of descriptors`);
  return value.map((item, i) => descriptor(item, `${where}[${i}]`));
}

/** The media type without parameters, lower-cased; undefined when absent or generic. */
function declaredType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  return type && type !== "application/json" && type !== "application/octet-stream" ? type : undefined;
}

export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw invalid("not valid JSON");
  }
  if (!isObject(json)) throw invalid("not a JSON object");

  const headerType = declaredType(contentType);
  const bodyType = json["mediaType"];
  if (bodyType !== undefined && typeof bodyType !== "string") throw invalid("mediaType must be a string");
  if (bodyType !== undefined && headerType !== undefined && bodyType !== headerType) {
    throw invalid(`mediaType ${bodyType} does not match Content-Type ${headerType}`);
  }
  // OCI manifests may leave mediaType out; then the Content-Type or the shape tells.
  const mediaType = bodyType ?? headerType ?? ("manifests" in json ? OCI_IMAGE_INDEX : OCI_IMAGE_MANIFEST);
  if (DOCKER_SCHEMA1.includes(mediaType)) throw invalid("Docker schema 1 manifests are not supported");
  const kind = MANIFEST_KINDS[mediaType];
  if (!kind) throw invalid(`unsupported manifest media type ${mediaType}`);
  if (json["schemaVersion"] !== 2) throw invalid("schemaVersion must be 2");

  const annotations = stringMap(json["annotations"], "annotations");
  const subject = json["subject"] === undefined ? undefined : descriptor(json["subject"], "subject");
  const artifactTypeField = json["artifactType"];
  if (
    artifactTypeField !== undefined &&
    (typeof artifactTypeField !== "string" || !MEDIA_TYPE_PATTERN.test(artifactTypeField))
  ) {
    throw invalid("artifactType is malformed");
  }
  const common = {
    mediaType,
    kind,
    ...(subject && { subject }),
    ...(annotations && { annotations }),
  };

  if (kind === "index") {
    return {
      ...common,
      blobs: [],
      children: descriptors(json["manifests"], "manifests"),
      ...(artifactTypeField !== undefined && { artifactType: artifactTypeField }),
    };
  }
  const config = descriptor(json["config"], "config");
  const layers =
    json["layers"] === undefined && mediaType === OCI_IMAGE_MANIFEST ? [] : descriptors(json["layers"], "layers");
  return {
    ...common,
    blobs: [config, ...layers],
    children: [],
    artifactType: artifactTypeField ?? config.mediaType,
  };
}
