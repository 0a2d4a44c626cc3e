// Harbor's Artifact JSON (swagger `Artifact`, with `Tag`, `Reference`, `Accessory` and
// `AdditionLink`) for a manifest of a repository, assembled as Harbor's artifact controller does:
// the type and media type from the config's media type, the size of the manifest with what it
// references, an index's references to its children, the image's `extra_attrs` read from its
// config, the additions whose data is here, the tags, and the accessories (referrers, and
// cosign's `sha256-<hex>.sig` tags). Fields follow Harbor's Go encoding: empty strings and
// numbers are left out, lists that are empty are `null`, times never set are Go's zero time.
//
// Cost per artifact: the manifest's bytes and, for an index, each child's (for the size and the
// references), one config read (cached by digest, content/config-reader.ts), one query for its
// tags and two for its accessories.

import type { ImmutableTagGuard } from "../immutability/immutable-tag-guard.ts";
import type { ConfigReader } from "../content/config-reader.ts";
import { findAccessories } from "../content/accessories.ts";
import { DOCKER_MANIFEST_LIST, OCI_IMAGE_INDEX } from "../content/media-types.ts";
import type { ArtifactRecord, TagEntry } from "../metadata/artifact-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import {
  additionsOf,
  artifactTypeOf,
  extraAttrsOf,
  harborMediaType,
  HELM_CHART_CONTENT,
  isImageManifest,
  isRecord,
  type Addition,
} from "./artifact-types.ts";
import { time } from "./harbor-http.ts";

/** Go's zero time as Harbor writes it: the pull time of an artifact never pulled (or not tracked). */
export const ZERO_TIME = "0001-01-01T00:00:00.000Z";

/** Tags shown with one artifact; Harbor shows them all, this bounds the answer's size. */
const MAX_TAGS = 10_000;
/** Index nesting followed for sizes: indexes of indexes exist, deeper ones would be hostile. */
const MAX_DEPTH = 4;

export interface ArtifactOptions {
  readonly withTag: boolean;
  readonly withAccessory: boolean;
}

export interface ArtifactContext {
  readonly projectId: number;
  readonly projectName: string;
  readonly repositoryId: number;
  /** The full name, `<project>/<rest>`. */
  readonly repository: string;
}

/** A manifest as stored: its record and, when parseable, its JSON. */
interface Loaded {
  readonly record: ArtifactRecord;
  readonly bytes: number;
  readonly json: Record<string, unknown> | undefined;
}

interface Descriptor {
  readonly digest: string;
  readonly size: number;
  readonly mediaType?: string;
  readonly platform?: Record<string, unknown>;
  readonly annotations?: Record<string, string>;
  readonly urls?: string[];
}

function descriptors(value: unknown): Descriptor[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item): Descriptor[] => {
    if (!isRecord(item) || typeof item["digest"] !== "string") return [];
    return [
      {
        digest: item["digest"],
        size: typeof item["size"] === "number" ? item["size"] : 0,
        ...(typeof item["mediaType"] === "string" && { mediaType: item["mediaType"] }),
        ...(isRecord(item["platform"]) && { platform: item["platform"] }),
        ...(isRecord(item["annotations"]) && { annotations: item["annotations"] as Record<string, string> }),
        ...(Array.isArray(item["urls"]) && { urls: item["urls"].filter((u): u is string => typeof u === "string") }),
      },
    ];
  });
}

function isIndex(mediaType: string): boolean {
  return mediaType === OCI_IMAGE_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

/**
 * The swagger names the platform's version fields `'os.version'` (quotes included), which Go's
 * JSON encoder refuses as a key and replaces by the field's name: Harbor sends, and its Go client
 * reads, `OsVersion` and `OsFeatures`.
 */
function platformJson(platform: Record<string, unknown>): Record<string, unknown> {
  const text = (key: string): string | undefined => (typeof platform[key] === "string" ? platform[key] : undefined);
  const features = Array.isArray(platform["os.features"]) ? platform["os.features"] : undefined;
  return {
    ...(text("architecture") && { architecture: text("architecture") }),
    ...(text("os") && { os: text("os") }),
    ...(text("os.version") && { OsVersion: text("os.version") }),
    OsFeatures: features ?? null,
    ...(text("variant") && { variant: text("variant") }),
  };
}

export function tagJson(tag: TagEntry, repositoryId: number, immutable = false): Record<string, unknown> {
  return {
    id: tag.id,
    repository_id: repositoryId,
    artifact_id: tag.artifactId,
    name: tag.name,
    push_time: time(tag.updatedAt),
    pull_time: ZERO_TIME,
    immutable,
  };
}

/** Harbor's link to an addition: the repository's slashes encoded twice, as in every API path. */
export function additionHref(context: ArtifactContext, digest: string, addition: Addition | "sbom"): string {
  const rest = context.repository.slice(context.projectName.length + 1).replaceAll("/", "%252F");
  return `/api/v2.0/projects/${context.projectName}/repositories/${rest}/artifacts/${digest}/additions/${addition}`;
}

/** The blob of a chart manifest holding the chart's archive. */
export function chartLayer(manifest: Record<string, unknown>): Descriptor | undefined {
  const layers = descriptors(manifest["layers"]);
  return layers.find((l) => l.mediaType === HELM_CHART_CONTENT) ?? layers[0];
}

export class ArtifactView {
  private readonly store: MetadataStore;
  private readonly configs: ConfigReader;
  private readonly immutability: Pick<ImmutableTagGuard, "immutableTags"> | undefined;

  constructor(store: MetadataStore, configs: ConfigReader, immutability?: Pick<ImmutableTagGuard, "immutableTags">) {
    this.store = store;
    this.configs = configs;
    this.immutability = immutability;
  }

  /** Harbor's Artifact JSON; undefined when the manifest went meanwhile. */
  async json(
    context: ArtifactContext,
    record: ArtifactRecord,
    options: ArtifactOptions,
  ): Promise<Record<string, unknown> | undefined> {
    const loaded = await this.load(context.repository, record);
    if (!loaded) return undefined;
    const mediaType = harborMediaType(record);
    const type = artifactTypeOf(mediaType);
    const manifest = loaded.json ?? {};
    const details = await this.details(context, record, manifest, type);
    const references = isIndex(record.mediaType) ? await this.references(context.repository, record, manifest) : null;
    return {
      id: record.id,
      type,
      media_type: mediaType,
      manifest_media_type: record.mediaType,
      ...(record.artifactType !== undefined && { artifact_type: record.artifactType }),
      project_id: context.projectId,
      repository_id: context.repositoryId,
      repository_name: context.repository,
      digest: record.digest,
      size: await this.size(context.repository, loaded, 0),
      push_time: time(record.createdAt),
      // Pulls are not tracked yet (retention will): Harbor's value for an artifact never pulled.
      pull_time: ZERO_TIME,
      ...(details.extraAttrs && { extra_attrs: details.extraAttrs }),
      ...(record.annotations && { annotations: record.annotations }),
      references,
      tags: options.withTag ? await this.tags(context, record) : null,
      ...(details.links && { addition_links: details.links }),
      labels: null,
      accessories: options.withAccessory ? await this.accessories(context, record) : null,
    };
  }

  /** The manifest's bytes parsed, or undefined when it is no longer in the repository. */
  async load(repository: string, record: ArtifactRecord): Promise<Loaded | undefined> {
    const content = await this.store.manifests.content(repository, record.digest);
    if (!content) return undefined;
    let json: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(content.toString("utf8"));
      json = isRecord(parsed) ? parsed : undefined;
    } catch {
      json = undefined;
    }
    return { record, bytes: content.length, json };
  }

  /** The image's config, when the repository holds it. */
  async config(repository: string, manifest: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    const config = isRecord(manifest["config"]) ? manifest["config"] : undefined;
    const digest = config?.["digest"];
    return typeof digest === "string" ? this.configs.read(repository, digest) : undefined;
  }

  /** `extra_attrs` and the links of the additions whose data the repository holds. */
  private async details(
    context: ArtifactContext,
    record: ArtifactRecord,
    manifest: Record<string, unknown>,
    type: string,
  ): Promise<{ extraAttrs?: Record<string, unknown>; links?: Record<string, unknown> }> {
    if (!isImageManifest(record.mediaType)) return {};
    const config = type === "UNKNOWN" ? undefined : await this.config(context.repository, manifest);
    const extraAttrs = config && extraAttrsOf(type, config);
    const links: Record<string, unknown> = {};
    for (const addition of additionsOf(type, record.mediaType)) {
      const present =
        addition === "build_history"
          ? config !== undefined
          : await this.hasBlob(context.repository, chartLayer(manifest)?.digest);
      if (present) links[addition] = { href: additionHref(context, record.digest, addition), absolute: false };
    }
    return {
      ...(extraAttrs && { extraAttrs }),
      ...(Object.keys(links).length > 0 && { links }),
    };
  }

  private async hasBlob(repository: string, digest: string | undefined): Promise<boolean> {
    return digest !== undefined && (await this.store.blobs.isLinked(repository, digest));
  }

  /**
   * Harbor's artifact size: the manifest with its config and layers; an index with its children's
   * sizes (a child not in the repository counts as its manifest's declared size).
   */
  private async size(repository: string, loaded: Loaded, depth: number): Promise<number> {
    const json = loaded.json ?? {};
    if (!isIndex(loaded.record.mediaType)) {
      const config =
        isRecord(json["config"]) && typeof json["config"]["size"] === "number" ? json["config"]["size"] : 0;
      return loaded.bytes + config + descriptors(json["layers"]).reduce((sum, layer) => sum + layer.size, 0);
    }
    let size = loaded.bytes;
    for (const child of descriptors(json["manifests"])) {
      const record = depth < MAX_DEPTH ? await this.store.artifacts.artifact(repository, child.digest) : undefined;
      const childLoaded = record && (await this.load(repository, record));
      size += childLoaded ? await this.size(repository, childLoaded, depth + 1) : child.size;
    }
    return size;
  }

  private async references(
    repository: string,
    record: ArtifactRecord,
    manifest: Record<string, unknown>,
  ): Promise<Array<Record<string, unknown>> | null> {
    const children = descriptors(manifest["manifests"]);
    if (children.length === 0) return null;
    const references: Array<Record<string, unknown>> = [];
    for (const child of children) {
      const stored = await this.store.artifacts.artifact(repository, child.digest);
      references.push({
        parent_id: record.id,
        ...(stored && { child_id: stored.id }),
        child_digest: child.digest,
        ...(child.platform && { platform: platformJson(child.platform) }),
        ...(child.annotations && { annotations: child.annotations }),
        urls: child.urls ?? null,
      });
    }
    return references;
  }

  private async tags(context: ArtifactContext, record: ArtifactRecord): Promise<Array<Record<string, unknown>> | null> {
    const listing = await this.store.artifacts.tags(
      context.repository,
      { digest: record.digest, sort: [] },
      { offset: 0, limit: MAX_TAGS },
    );
    if (listing.items.length === 0) return null;
    const immutable =
      (await this.immutability?.immutableTags(
        context.repository,
        listing.items.map((tag) => tag.name),
      )) ?? new Set<string>();
    return listing.items.map((tag) => tagJson(tag, context.repositoryId, immutable.has(tag.name)));
  }

  /** The artifact's accessories: its referrers, and the cosign signature tagged after it. */
  async accessoryRecords(
    context: ArtifactContext,
    record: ArtifactRecord,
  ): Promise<Array<{ record: ArtifactRecord; type: string }>> {
    const found: Array<{ record: ArtifactRecord; type: string }> = [];
    for (const accessory of await findAccessories(this.store, context.repository, record.digest)) {
      const stored = await this.store.artifacts.artifact(context.repository, accessory.record.digest);
      if (stored) found.push({ record: stored, type: accessory.type });
    }
    return found;
  }

  private async accessories(
    context: ArtifactContext,
    record: ArtifactRecord,
  ): Promise<Array<Record<string, unknown>> | null> {
    const found = await this.accessoryRecords(context, record);
    if (found.length === 0) return null;
    const accessories: Array<Record<string, unknown>> = [];
    for (const { record: accessory, type } of found) {
      const loaded = await this.load(context.repository, accessory);
      accessories.push({
        // No accessory table here: an accessory is known by its artifact's id.
        id: accessory.id,
        artifact_id: accessory.id,
        subject_artifact_id: record.id,
        subject_artifact_digest: record.digest,
        subject_artifact_repo: context.repository,
        size: loaded ? await this.size(context.repository, loaded, 0) : accessory.size,
        digest: accessory.digest,
        type,
        icon: "",
        creation_time: time(accessory.createdAt),
      });
    }
    return accessories;
  }
}
