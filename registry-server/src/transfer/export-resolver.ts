// The first half of an export: every image's manifests, fetched and checked before any blob is
// written, so that the bundle's small entries (index, description, manifests) can come first
// and a missing image or platform fails the export before it has downloaded gigabytes.
// A multi-platform index is kept whole, or cut to the platforms asked for: one platform gives
// its image manifest (its digest preserved); several give a new index listing only them. With
// `sparseIndex`, the index itself is kept byte for byte (so its digest, which deployments pin)
// and only the chosen platforms' images come with it: a sparse index, for registries that take them.

import { digestOf } from "../content/digest.ts";
import { parseManifest, type Descriptor, type Platform } from "../content/manifest-parser.ts";
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST } from "../content/media-types.ts";
import { RegistryError } from "../http/errors.ts";
import type { UpstreamRegistry } from "../upstream/upstream-registry.ts";
import { platformText } from "./bundle-format.ts";
import { ExportError } from "./export-sources.ts";
import { formatReference, referenceToFetch, type ImageReference } from "./image-reference.ts";

const ACCEPT = [OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST];
const IMAGE_CONFIG_TYPES = new Set([
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
]);
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
const MAX_DEPTH = 8;

export interface BlobToFetch {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  readonly kind: "config" | "layer";
}

export interface ResolvedImage {
  readonly ref: ImageReference;
  /** `docker.io/library/nginx:1.25` */
  readonly source: string;
  readonly upstream: UpstreamRegistry;
  /** What index.json names for this image. */
  readonly top: { readonly digest: string; readonly mediaType: string; readonly size: number };
  /** The source's digest when only some platforms were kept in a new index or as one image. */
  readonly sourceDigest?: string;
  /** Children of the kept index left out (sparse index). */
  readonly omittedManifests?: readonly string[];
  /** Every manifest (top included), children before parents. */
  readonly manifests: Map<string, { mediaType: string; content: Buffer }>;
  readonly blobs: Map<string, BlobToFetch>;
  /** Configs already fetched (to learn a single image's platform). */
  readonly configs: Map<string, Buffer>;
  readonly platforms: string[];
  /** Bytes of all its manifests and blobs. */
  readonly size: number;
}

/** `os/architecture[/variant]`; without a variant, any variant of that architecture matches. */
export function matchesPlatform(platform: Platform | undefined, wanted: readonly string[]): boolean {
  if (wanted.length === 0) return true;
  if (!platform) return false;
  return wanted.some((text) => {
    const [os, architecture, variant] = text.split("/");
    return platform.os === os && platform.architecture === architecture && (!variant || platform.variant === variant);
  });
}

function parsed(content: Buffer, mediaType: string, where: string): ReturnType<typeof parseManifest> {
  try {
    return parseManifest(content, mediaType);
  } catch (err) {
    if (err instanceof RegistryError) throw new ExportError(`${where}: ${err.message}`);
    throw err;
  }
}

class ImageWalk {
  readonly manifests = new Map<string, { mediaType: string; content: Buffer }>();
  readonly blobs = new Map<string, BlobToFetch>();
  private readonly upstream: UpstreamRegistry;
  private readonly repository: string;
  private readonly source: string;

  constructor(upstream: UpstreamRegistry, repository: string, source: string) {
    this.upstream = upstream;
    this.repository = repository;
    this.source = source;
  }

  async fetch(reference: string): Promise<{ digest: string; mediaType: string; content: Buffer }> {
    const manifest = await this.upstream.getManifest(this.repository, reference, ACCEPT);
    if (!manifest) {
      const what = reference.includes(":") ? `manifest ${reference}` : "image";
      throw new ExportError(`${this.source}: ${what} not found on the registry`);
    }
    return manifest;
  }

  /** Records a manifest and everything below it. */
  async add(digest: string, mediaType: string, content: Buffer, depth: number): Promise<void> {
    if (this.manifests.has(digest)) return;
    if (depth > MAX_DEPTH) throw new ExportError(`${this.source}: indexes nested more than ${MAX_DEPTH} deep`);
    const manifest = parsed(content, mediaType, `${this.source} ${digest}`);
    for (const child of manifest.children) await this.addChild(child, depth + 1);
    manifest.blobs.forEach((d, i) => this.addBlob(d, i === 0 ? "config" : "layer"));
    this.manifests.set(digest, { mediaType: manifest.mediaType, content });
  }

  /** Records an index without its children: the caller adds those it keeps (a sparse index). */
  addIndexOnly(digest: string, mediaType: string, content: Buffer): void {
    this.manifests.set(digest, { mediaType, content });
  }

  async addChild(child: Descriptor, depth: number): Promise<void> {
    if (this.manifests.has(child.digest)) return;
    const fetched = await this.fetch(child.digest);
    await this.add(fetched.digest, fetched.mediaType, fetched.content, depth);
  }

  private addBlob(d: Descriptor, kind: "config" | "layer"): void {
    // Embedded content travels in its manifest; foreign layers are not the registry's to give.
    if (d.data !== undefined || (d.urls?.length ?? 0) > 0) return;
    if (!this.blobs.has(d.digest))
      this.blobs.set(d.digest, { digest: d.digest, size: d.size, mediaType: d.mediaType, kind });
  }
}

/** The platform an image config states, when it is an image's config. */
function configPlatform(config: Buffer): Platform | undefined {
  try {
    const value = JSON.parse(config.toString("utf8")) as { os?: unknown; architecture?: unknown; variant?: unknown };
    if (typeof value.os !== "string" || typeof value.architecture !== "string") return undefined;
    return {
      os: value.os,
      architecture: value.architecture,
      ...(typeof value.variant === "string" && { variant: value.variant }),
    };
  } catch {
    return undefined;
  }
}

async function fetchConfig(
  upstream: UpstreamRegistry,
  repository: string,
  config: Descriptor,
  source: string,
): Promise<Buffer> {
  const blob = await upstream.getBlob(repository, config.digest);
  if (!blob) throw new ExportError(`${source}: config ${config.digest} not found on the registry`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of blob.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_CONFIG_BYTES) {
      blob.body.destroy();
      throw new ExportError(`${source}: config ${config.digest} is larger than ${MAX_CONFIG_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  const algorithm = config.digest.startsWith("sha512:") ? "sha512" : "sha256";
  if (digestOf(algorithm, bytes) !== config.digest) {
    throw new ExportError(`${source}: config ${config.digest} does not match its digest`);
  }
  return bytes;
}

export async function resolveImage(
  ref: ImageReference,
  upstream: UpstreamRegistry,
  platforms: readonly string[],
  options: { sparseIndex?: boolean } = {},
): Promise<ResolvedImage> {
  const source = formatReference(ref);
  const walk = new ImageWalk(upstream, ref.repository, source);
  const root = await walk.fetch(referenceToFetch(ref));
  if (ref.digest !== undefined && root.digest !== ref.digest) {
    throw new ExportError(`${source}: the registry answered ${root.digest}`);
  }
  const rootManifest = parsed(root.content, root.mediaType, source);
  let top = { digest: root.digest, mediaType: rootManifest.mediaType, size: root.content.length };
  let sourceDigest: string | undefined;
  let omittedManifests: string[] | undefined;
  let found: string[] = [];
  const configs = new Map<string, Buffer>();

  if (rootManifest.kind === "index") {
    const chosen = rootManifest.children.filter((c) => matchesPlatform(c.platform, platforms));
    if (chosen.length === 0) {
      const offered = rootManifest.children.flatMap((c) => (c.platform ? [platformText(c.platform)] : []));
      throw new ExportError(
        `${source}: none of ${platforms.join(", ")} in its index (it has ${offered.join(", ") || "no platform"})`,
      );
    }
    found = chosen.flatMap((c) => (c.platform ? [platformText(c.platform)] : []));
    if (chosen.length === rootManifest.children.length) {
      await walk.add(root.digest, root.mediaType, root.content, 0);
    } else if (options.sparseIndex) {
      for (const child of chosen) await walk.addChild(child, 1);
      walk.addIndexOnly(root.digest, rootManifest.mediaType, root.content);
      const kept = new Set(chosen.map((c) => c.digest));
      omittedManifests = [...new Set(rootManifest.children.map((c) => c.digest).filter((d) => !kept.has(d)))];
    } else if (chosen.length === 1 && chosen[0]) {
      await walk.addChild(chosen[0], 1);
      const child = walk.manifests.get(chosen[0].digest);
      top = {
        digest: chosen[0].digest,
        mediaType: child?.mediaType ?? chosen[0].mediaType,
        size: child?.content.length ?? 0,
      };
      sourceDigest = root.digest;
    } else {
      // A new index of the chosen entries, the rest of the original kept as it was.
      const original = JSON.parse(root.content.toString("utf8")) as { manifests: Array<{ digest: string }> };
      const keep = new Set(chosen.map((c) => c.digest));
      const content = Buffer.from(
        JSON.stringify({ ...original, manifests: original.manifests.filter((m) => keep.has(m.digest)) }),
      );
      const digest = digestOf("sha256", content);
      await walk.add(digest, root.mediaType, content, 0);
      top = { digest, mediaType: rootManifest.mediaType, size: content.length };
      sourceDigest = root.digest;
    }
  } else {
    const config = rootManifest.blobs[0];
    if (config && IMAGE_CONFIG_TYPES.has(config.mediaType) && config.size <= MAX_CONFIG_BYTES) {
      const bytes = await fetchConfig(upstream, ref.repository, config, source);
      configs.set(config.digest, bytes);
      const platform = configPlatform(bytes);
      if (platform) found = [platformText(platform)];
      if (!matchesPlatform(platform, platforms)) {
        throw new ExportError(`${source}: it is ${found[0] ?? "of no stated platform"}, not ${platforms.join(" or ")}`);
      }
    }
    await walk.add(root.digest, root.mediaType, root.content, 0);
  }
  let size = 0;
  for (const manifest of walk.manifests.values()) size += manifest.content.length;
  for (const blob of walk.blobs.values()) size += blob.size;
  return {
    ref,
    source,
    upstream,
    top,
    ...(sourceDigest !== undefined && { sourceDigest }),
    ...(omittedManifests !== undefined && { omittedManifests }),
    manifests: walk.manifests,
    blobs: walk.blobs,
    configs,
    platforms: found,
    size,
  };
}
