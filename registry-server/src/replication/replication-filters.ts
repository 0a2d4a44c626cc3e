// A policy's filters, with Harbor's semantics (src/pkg/reg/filter: repository.go, artifact.go,
// resource.go), applied to what a source lists and to the events that trigger a replication.
//
// - name: a doublestar pattern over the full repository name ("library/**"); several name filters
//   must all match; an empty pattern matches everything.
// - tag: a doublestar pattern over tags. An artifact keeps the tags the pattern selects ("matches")
//   or those it does not select ("excludes"), and is dropped when none remain: only the kept tags
//   are replicated. An untagged artifact is judged by matching the empty string, as Harbor does:
//   `*` and `**` select it, `v*` does not (so `excludes v*` keeps it). Filters apply in turn, each
//   to the tags the previous one kept.
// - label: the artifact must carry every label listed ("matches") or not all of them
//   ("excludes"). This registry has no labels yet, so a label filter naming any label selects
//   nothing when it "matches" and everything when it "excludes"; an empty list selects everything.
// - resource: "image" keeps artifacts Harbor types IMAGE (container images and their indexes),
//   "artifact" keeps every artifact (Harbor's artifactTypeFilter and filterByResourceType).
//   When the type is not known yet (a source that lists tags only, an event naming a manifest
//   media type) the check waits for the manifest (`resourceTypeAccepts` with the type).

import type { RegistryEvent } from "../events/registry-events.ts";
import { matchPattern } from "../retention/pattern.ts";
import type { ReplicationEventParameters, ReplicationFilter, ReplicationPolicy } from "./replication-policy.ts";

/** An artifact as the filters see it. */
export interface FilterCandidate {
  readonly repository: string;
  readonly tags: readonly string[];
  /** Harbor's artifact type (IMAGE, CHART…), when known. */
  readonly type?: string;
  /** Label names; this registry has none yet. */
  readonly labels?: readonly string[];
}

/** Whether every name filter matches the full repository name. */
export function repositoryMatches(filters: readonly ReplicationFilter[], repository: string): boolean {
  return filters.every((filter) => filter.type !== "name" || matchPattern(filter.value, repository));
}

/**
 * The pattern of the first name filter, for a source that can narrow its listing by it; "" when
 * there is none (Harbor's native adapter does the same).
 */
export function namePattern(filters: readonly ReplicationFilter[]): string {
  return filters.find((filter) => filter.type === "name")?.value ?? "";
}

/**
 * The tags of an artifact that the tag filters keep: undefined when the artifact is not selected,
 * [] for an untagged artifact that is.
 */
export function selectTags(filters: readonly ReplicationFilter[], tags: readonly string[]): string[] | undefined {
  let kept = [...tags];
  for (const filter of filters) {
    if (filter.type !== "tag" || filter.value.length === 0) continue;
    const keep = (tag: string): boolean => matchPattern(filter.value, tag) === (filter.decoration !== "excludes");
    if (kept.length === 0) {
      if (!keep("")) return undefined;
      continue;
    }
    kept = kept.filter(keep);
    if (kept.length === 0) return undefined;
  }
  return kept;
}

/** Whether the artifact passes the label filters (see the module's header: no labels here yet). */
export function labelsMatch(filters: readonly ReplicationFilter[], labels: readonly string[] = []): boolean {
  return filters.every((filter) => {
    if (filter.type !== "label" || filter.value.length === 0) return true;
    const all = filter.value.every((label) => labels.includes(label));
    return filter.decoration === "excludes" ? !all : all;
  });
}

/**
 * Whether the resource filters accept an artifact of Harbor's `type`; an unknown type is accepted
 * for now (the caller checks again once it knows).
 */
export function resourceTypeAccepts(filters: readonly ReplicationFilter[], type: string | undefined): boolean {
  return filters.every((filter) => {
    if (filter.type !== "resource" || filter.value !== "image" || type === undefined) return true;
    return type.toLowerCase() === "image";
  });
}

/** Whether the policy asks for images only (its resource filter is "image"). */
export function imagesOnly(filters: readonly ReplicationFilter[]): boolean {
  return filters.some((filter) => filter.type === "resource" && filter.value === "image");
}

/** The tags to replicate of a candidate (see `selectTags`); undefined when the filters drop it. */
export function selectArtifact(
  filters: readonly ReplicationFilter[],
  candidate: FilterCandidate,
): string[] | undefined {
  if (!repositoryMatches(filters, candidate.repository)) return undefined;
  if (!labelsMatch(filters, candidate.labels) || !resourceTypeAccepts(filters, candidate.type)) return undefined;
  return selectTags(filters, candidate.tags);
}

/** Whether a policy replicates what happens on this registry when events happen. */
export function listensToEvents(policy: ReplicationPolicy): boolean {
  return policy.enabled && policy.trigger.type === "event_based" && policy.srcRegistryId === undefined;
}

/**
 * The replication an event asks of a policy (Harbor's getRelatedPolicies): a push with tags, a
 * deletion (when the policy replicates deletions), of a repository and tags the filters select;
 * undefined when the policy has nothing to do with it. The tags are those the filters keep.
 */
export function eventMatches(policy: ReplicationPolicy, event: RegistryEvent): ReplicationEventParameters | undefined {
  const wanted = eventParameters(event);
  const type = event.type === "PUSH_ARTIFACT" || event.type === "DELETE_ARTIFACT" ? event.artifact.mediaType : "";
  return wanted && replicationFor(policy, wanted, harborTypeOfMediaType(type));
}

/** `eventMatches` for an event already read as parameters, with Harbor's type when known. */
export function replicationFor(
  policy: ReplicationPolicy,
  wanted: ReplicationEventParameters,
  type: string | undefined,
): ReplicationEventParameters | undefined {
  if (!listensToEvents(policy)) return undefined;
  if (wanted.kind !== "push" && !policy.replicateDeletion) return undefined;
  if (wanted.kind === "push" && wanted.tags.length === 0) return undefined;
  const tags = selectArtifact(policy.filters, { repository: wanted.repository, tags: wanted.tags, type });
  return tags === undefined ? undefined : { ...wanted, tags };
}

/** What a push or deletion event is about, as a replication's parameters; undefined for others. */
export function eventParameters(event: RegistryEvent): ReplicationEventParameters | undefined {
  switch (event.type) {
    case "PUSH_ARTIFACT":
      return { kind: "push", ...artifactOf(event.artifact) };
    case "DELETE_ARTIFACT":
      return { kind: "delete_artifact", ...artifactOf(event.artifact) };
    case "DELETE_TAG":
      return { kind: "delete_tag", repository: event.repository, digest: event.digest, tags: [event.tag] };
    default:
      return undefined;
  }
}

function artifactOf(artifact: { repository: string; digest: string; tags: readonly string[] }) {
  return { repository: artifact.repository, digest: artifact.digest, tags: [...artifact.tags] };
}

const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);
const IMAGE_CONFIG_TYPES = new Set([
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
]);
const MANIFEST_TYPES = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);

/** Harbor's type of a manifest, from its parsed form: what the "image" resource filter checks. */
export function harborTypeOfManifest(manifest: {
  readonly kind: "image" | "index";
  readonly blobs: ReadonlyArray<{ readonly mediaType: string }>;
  readonly annotations?: Readonly<Record<string, string>>;
}): string {
  if (manifest.kind === "index") {
    // Harbor types an index by the artifact type it declares (CNAB bundles), else as an image.
    return manifest.annotations?.["org.opencontainers.artifactType"] === undefined ? "IMAGE" : "OTHER";
  }
  return IMAGE_CONFIG_TYPES.has(manifest.blobs[0]?.mediaType ?? "") ? "IMAGE" : "OTHER";
}

/**
 * Harbor's type for an event's media type when it tells: IMAGE for an image config or an index,
 * another type for another config; undefined for an image manifest's own media type (a chart and
 * an image share it: only the config tells them apart).
 */
export function harborTypeOfMediaType(mediaType: string): string | undefined {
  if (INDEX_TYPES.has(mediaType) || IMAGE_CONFIG_TYPES.has(mediaType)) return "IMAGE";
  if (MANIFEST_TYPES.has(mediaType)) return undefined;
  return mediaType.length === 0 ? undefined : "OTHER";
}
