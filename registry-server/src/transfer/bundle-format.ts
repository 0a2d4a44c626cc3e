// The air-gap bundle: one tar holding an OCI image layout, plus `airlock-bundle.json` saying what
// it holds. Entries are ordered so that a reader of the stream knows every manifest before the
// large blobs arrive:
//
//   oci-layout                      {"imageLayoutVersion": "1.0.0"}
//   index.json                      one entry per image: ref.name = tag, io.containerd.image.name
//                                   = the full source reference (containerd's and Docker's key)
//   airlock-bundle.json             sources, digests, media types, platforms, bytes, the children a
//                                   sparse index leaves out; tool, time
//   blobs/, blobs/sha256/           directories
//   blobs/<alg>/<hex>               every manifest and index, then every config, then layers
//
// Images named only by digest carry no ref.name. Any OCI-layout reader (skopeo's `oci-archive:`,
// containerd's and Docker's import) can read the bundle; the importer also reads theirs.

import { z } from "zod";
import { parseDigest } from "../content/digest.ts";
import { OCI_IMAGE_INDEX } from "../content/media-types.ts";

export const OCI_LAYOUT_FILE = "oci-layout";
export const INDEX_FILE = "index.json";
export const BUNDLE_FILE = "airlock-bundle.json";
export const OCI_LAYOUT = { imageLayoutVersion: "1.0.0" };
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
export const IMAGE_NAME_ANNOTATION = "io.containerd.image.name";

export interface BundleImage {
  /** The reference as given, completed: `docker.io/library/nginx:1.25`. */
  readonly source: string;
  /** What the bundle holds for it: the source's digest, or that of the platforms chosen. */
  readonly digest: string;
  readonly media_type: string;
  /** `os/architecture[/variant]` of the images it holds (empty for non-image artifacts). */
  readonly platforms: readonly string[];
  /** Bytes of its manifests, configs and layers (shared blobs counted for each image). */
  readonly size: number;
  /** The source's digest, when the bundle holds only some of its platforms in a new index. */
  readonly source_digest?: string;
  /**
   * With `--sparse-index`: the children of its index (kept byte for byte, so its digest is the
   * source's) that the bundle leaves out. Importing it needs a registry that takes sparse indexes.
   */
  readonly omitted_manifests?: readonly string[];
}

export interface BundleDescription {
  readonly format: "airlock-bundle";
  readonly version: 1;
  readonly created: string;
  readonly tool: { readonly name: string; readonly version: string };
  readonly images: readonly BundleImage[];
  /** Distinct blobs (manifests included) and their total bytes: the bundle's payload. */
  readonly blobs: number;
  readonly size: number;
}

export const bundleDescriptionSchema = z.object({
  format: z.literal("airlock-bundle"),
  version: z.literal(1),
  created: z.string(),
  tool: z.object({ name: z.string(), version: z.string() }),
  images: z.array(
    z.object({
      source: z.string(),
      digest: z.string(),
      media_type: z.string(),
      platforms: z.array(z.string()),
      size: z.number().int().nonnegative(),
      source_digest: z.string().optional(),
      omitted_manifests: z.array(z.string()).optional(),
    }),
  ),
  blobs: z.number().int().nonnegative(),
  size: z.number().int().nonnegative(),
});

export interface IndexEntry {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
}

export const layoutIndexSchema = z.object({
  schemaVersion: z.literal(2),
  manifests: z.array(
    z.object({
      mediaType: z.string().optional(),
      digest: z.string().refine((d) => typeof parseDigest(d) !== "string", "a sha256 or sha512 digest"),
      size: z.number().int().nonnegative(),
      annotations: z.record(z.string(), z.string()).optional(),
    }),
  ),
});

/** The layout's index.json. */
export function layoutIndex(entries: readonly IndexEntry[]): Buffer {
  return Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_IMAGE_INDEX, manifests: entries }, undefined, 2),
  );
}

/** `blobs/sha256/<hex>` for a digest. */
export function blobPath(digest: string): string {
  const colon = digest.indexOf(":");
  return `blobs/${digest.slice(0, colon)}/${digest.slice(colon + 1)}`;
}

/** The digest a `blobs/<alg>/<hex>` path names, or undefined for any other path. */
export function digestOfPath(name: string): string | undefined {
  const match = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(name);
  if (!match) return undefined;
  const digest = `${match[1]}:${match[2]}`;
  return typeof parseDigest(digest) === "string" ? undefined : digest;
}

export function platformText(platform: { os: string; architecture: string; variant?: string }): string {
  return `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ""}`;
}
