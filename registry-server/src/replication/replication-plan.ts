// The tasks of a replication execution, one per artifact, as the job system records them: what
// the execution API shows (Harbor's task attributes `operation`, `resource_type`, `src_resource`
// and `dst_resource`) and what running the task needs (the repositories, the reference, the tags),
// so that a run taken over after a restart runs the recorded tasks without planning again.
//
// A manual or scheduled execution lists the source (repositories by the name filter, then each
// repository's artifacts) and keeps what the filters select; an event-based one has the event's
// artifact, or its deletion.

import type { TaskRecord } from "../metadata/job-store.ts";
import { DestinationNameError } from "./dest-namespace.ts";
import type { ReplicationSource } from "./replication-endpoint.ts";
import { namePattern, repositoryMatches, selectArtifact } from "./replication-filters.ts";
import type { ReplicationEventParameters, ReplicationPolicy } from "./replication-policy.ts";
import { artifactsOf } from "./source-artifacts.ts";

/** A task's attributes; the first four are Harbor's and the execution API renders them. */
export interface ReplicationTaskAttrs {
  readonly operation: "copy" | "deletion";
  /** "artifact", or "image" from a source listing tags only (Harbor's native adapter). */
  readonly resource_type: "image" | "artifact";
  /** "repository:tag1,tag2", or "repository@digest" for an untagged artifact. */
  readonly src_resource: string;
  readonly dst_resource: string;
  readonly src_repository: string;
  readonly dst_repository: string;
  /** The artifact on the source: its digest when known, else its tag. */
  readonly reference: string;
  /** The tags to replicate (copied, or deleted). */
  readonly tags: readonly string[];
  /** For a deletion: the artifact, or only its tags. */
  readonly deletion?: "artifact" | "tag";
}

export interface PlannedTask {
  readonly name: string;
  readonly extraAttrs: ReplicationTaskAttrs;
}

/** Harbor's name of a resource: its repository with its tags, or with its digest when untagged. */
export function resourceName(repository: string, tags: readonly string[], digest: string): string {
  return tags.length > 0 ? `${repository}:${tags.join(",")}` : `${repository}@${digest}`;
}

function task(
  operation: ReplicationTaskAttrs["operation"],
  resourceType: ReplicationTaskAttrs["resource_type"],
  source: { repository: string; reference: string; tags: readonly string[] },
  destination: string,
  deletion?: ReplicationTaskAttrs["deletion"],
): PlannedTask {
  const src = resourceName(source.repository, source.tags, source.reference);
  return {
    name: src,
    extraAttrs: {
      operation,
      resource_type: resourceType,
      src_resource: src,
      dst_resource: resourceName(destination, source.tags, source.reference),
      src_repository: source.repository,
      dst_repository: destination,
      reference: source.reference,
      tags: [...source.tags],
      ...(deletion && { deletion }),
    },
  };
}

export interface PlanContext {
  readonly policy: ReplicationPolicy;
  /** The destination repository of a source repository (dest-namespace.ts). */
  readonly destinationOf: (repository: string) => string;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
}

/** Repositories listed at most (a listing beyond is cut, and says so in the log). */
export const MAX_REPOSITORIES = 100_000;

/** Every artifact of the source the policy's filters select, one copy task each. */
export async function planFromSource(source: ReplicationSource, context: PlanContext): Promise<PlannedTask[]> {
  const { policy, signal, log } = context;
  const listed = await source.listRepositories(namePattern(policy.filters), MAX_REPOSITORIES, signal);
  if (listed.length >= MAX_REPOSITORIES)
    log(`[WARNING] the source lists ${MAX_REPOSITORIES} repositories or more: cut`);
  const repositories = listed.filter((repository) => repositoryMatches(policy.filters, repository));
  log(
    `[INFO] ${repositories.length} of ${listed.length} repositories listed by ${source.description} match the filters`,
  );
  const planned: PlannedTask[] = [];
  for (const repository of repositories) {
    const listing = await artifactsOf(source, repository, signal);
    if (!listing) continue;
    const destination = nameOrFail(context, repository);
    for (const artifact of listing.artifacts) {
      const tags = selectArtifact(policy.filters, { repository, tags: artifact.tags, type: artifact.type });
      if (tags === undefined) continue;
      const reference = artifact.digest ?? artifact.tags[0];
      if (reference === undefined) continue;
      planned.push(task("copy", listing.resourceType, { repository, reference, tags }, destination));
    }
  }
  return planned;
}

/** The task of an event-based execution: the artifact pushed, or the deletion; none when filtered out. */
export function planFromEvent(event: ReplicationEventParameters, context: PlanContext): PlannedTask[] {
  const { policy } = context;
  const tags = selectArtifact(policy.filters, { repository: event.repository, tags: event.tags });
  if (tags === undefined) return [];
  const destination = nameOrFail(context, event.repository);
  const source = { repository: event.repository, reference: event.digest, tags };
  if (event.kind === "push") return [task("copy", "artifact", source, destination)];
  if (!policy.replicateDeletion) return [];
  return [task("deletion", "artifact", source, destination, event.kind === "delete_tag" ? "tag" : "artifact")];
}

function nameOrFail(context: PlanContext, repository: string): string {
  try {
    return context.destinationOf(repository);
  } catch (error) {
    if (error instanceof DestinationNameError)
      throw new Error(`cannot name ${repository} on the destination: ${error.message}`, { cause: error });
    throw error;
  }
}

/** A recorded task's attributes; undefined when they are not a replication task's. */
export function taskAttrs(record: TaskRecord): ReplicationTaskAttrs | undefined {
  const attrs = record.extraAttrs as Partial<ReplicationTaskAttrs>;
  const valid =
    (attrs.operation === "copy" || attrs.operation === "deletion") &&
    typeof attrs.src_repository === "string" &&
    typeof attrs.dst_repository === "string" &&
    typeof attrs.reference === "string" &&
    Array.isArray(attrs.tags);
  return valid ? (attrs as ReplicationTaskAttrs) : undefined;
}
