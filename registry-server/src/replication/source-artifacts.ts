// What a replication source holds, artifact by artifact. A source that knows its artifacts (this
// registry: LocalEndpoint; a Harbor) lists them with all their tags, their untagged ones too, and
// their type, as Harbor's own adapter does; any other source lists tags only, each tag one
// artifact, as Harbor's adapter for plain registries does. Accessories are not artifacts of their
// own here: they travel with the artifact they belong to (artifact-copier.ts).

import type { ReplicationSource } from "./replication-endpoint.ts";

/** An artifact of a source repository. */
export interface SourceArtifact {
  /** Its digest, when the listing gives it (untagged artifacts always have one). */
  readonly digest?: string;
  readonly tags: readonly string[];
  /** Harbor's type (IMAGE, CHART…), when the listing gives it. */
  readonly type?: string;
}

/** A source that can list a repository's artifacts. */
export interface ArtifactListing {
  /** The repository's artifacts but accessories and index children; undefined when it does not exist. */
  listArtifacts(repository: string, signal: AbortSignal): Promise<SourceArtifact[] | undefined>;
}

export function canListArtifacts(source: ReplicationSource): source is ReplicationSource & ArtifactListing {
  return typeof (source as Partial<ArtifactListing>).listArtifacts === "function";
}

/**
 * Tags that name an accessory rather than an artifact: cosign's `sha256-<hex>.sig|.att|.sbom` and
 * the referrers API's fallback tag `sha256-<hex>`.
 */
export function isAccessoryTag(tag: string): boolean {
  return /^sha256-[a-f0-9]{64}(\.(sig|att|sbom))?$/.test(tag);
}

/**
 * A repository's artifacts, and Harbor's resource type for tasks copying them: "artifact" from a
 * source that lists artifacts, "image" from one that lists tags (Harbor's native adapter).
 */
export async function artifactsOf(
  source: ReplicationSource,
  repository: string,
  signal: AbortSignal,
): Promise<{ artifacts: SourceArtifact[]; resourceType: "artifact" | "image" } | undefined> {
  if (canListArtifacts(source)) {
    const artifacts = await source.listArtifacts(repository, signal);
    return artifacts && { artifacts, resourceType: "artifact" };
  }
  const tags = await source.listTags(repository, signal);
  if (!tags) return undefined;
  return {
    artifacts: tags.filter((tag) => !isAccessoryTag(tag)).map((tag) => ({ tags: [tag] })),
    resourceType: "image",
  };
}
