// A retention run as a job of the job system (Harbor's vendor type RETENTION, one schedule per
// policy, its vendor id the policy's id): the project's artifacts are gathered with their times,
// tags, pins and immutability, evaluated by evaluate.ts, and each repository becomes one task of
// the execution (Harbor's retention tasks) whose log is Harbor's table of what was kept and what
// went. A dry run deletes nothing and says the same. A run taken over after a restart finds the
// tasks made before and skips the repositories already done.
//
// Deleting an artifact is one transaction that checks again that no immutable tag came to it and
// that no index needs it, then deletes it with its accessories (Harbor deletes them together).
// The run reports, per repository and in all, the artifacts removed and the bytes that garbage
// collection will free for them: the blobs only those artifacts reference.

import { NO_EVENTS, type EventPublisher } from "../events/registry-events.ts";
import type { JobContext, JobHandler, TaskContext } from "../jobs/job-service.ts";
import { isArtifactImmutable } from "../immutability/immutable-match.ts";
import type { ImmutableTagGuard } from "../immutability/immutable-tag-guard.ts";
import type { LifecycleAreas, LifecycleArtifact } from "../metadata/lifecycle-store.ts";
import type { MetadataAreas, MetadataStore } from "../metadata/metadata-store.ts";
import { evaluateRetention, type RetentionCandidate, type RetentionVerdict } from "./evaluate.ts";
import { retentionPolicySchema } from "./retention-policy.ts";

export const RETENTION_VENDOR = "RETENTION";

export type RetentionStore = Pick<
  MetadataStore,
  "transaction" | "projects" | "repositories" | "manifests" | "tags" | "blobs"
> &
  Pick<LifecycleAreas, "retentions" | "lifecycle" | "gc">;

/** A candidate with what the job needs besides: the full repository name and the size. */
interface Artifact extends RetentionCandidate {
  readonly fullRepository: string;
  readonly size: number;
}

const REPOSITORY_PAGE = 500;

export interface RetentionJobDeps {
  readonly store: RetentionStore;
  readonly immutability: ImmutableTagGuard;
  readonly now?: () => number;
  /**
   * Told of a run (not a dry run) that deleted artifacts: Harbor's TAG_RETENTION, its operator the
   * run's trigger as Harbor gives it, its result "SUCCESS" (Harbor's retention hook's word).
   */
  readonly events?: EventPublisher;
}

export function retentionJob(deps: RetentionJobDeps): JobHandler {
  return {
    vendorType: RETENTION_VENDOR,
    keepExecutions: 50,
    run: (context) => runRetention(deps, context),
  };
}

async function runRetention(deps: RetentionJobDeps, context: JobContext): Promise<Record<string, unknown>> {
  const { store, immutability } = deps;
  const dryRun = context.execution.parameters["dry_run"] === true;
  const record = await store.retentions.get(context.execution.vendorId);
  if (!record) {
    context.log(`[INFO] retention policy ${context.execution.vendorId} no longer exists: nothing to do`);
    return { dry_run: dryRun, total: 0, retained: 0, removed: 0, freed_bytes: 0 };
  }
  const policy = retentionPolicySchema.parse(JSON.parse(record.policy));
  const project = await store.projects.get(record.projectId);
  if (!project) throw new Error(`the project ${record.projectId} of retention policy ${record.id} is gone`);
  const rules = await immutability.rules(project.name);
  const candidates = await gather(store, project.name, (repository, tags) =>
    isArtifactImmutable(rules, repository, tags),
  );
  const evaluation = evaluateRetention(policy, candidates, new Date((deps.now ?? Date.now)()));
  context.log(
    `[INFO] retention policy ${record.id} of project ${project.name}${dryRun ? " (dry run)" : ""}: ` +
      `${candidates.length} artifacts in ${evaluation.tasks.length} repositories, ${evaluation.removed.length} to remove`,
  );

  const removedBy = new Map<string, Artifact[]>();
  for (const verdict of evaluation.removed) {
    const list = removedBy.get(verdict.candidate.repository) ?? [];
    list.push(verdict.candidate);
    removedBy.set(verdict.candidate.repository, list);
  }
  const verdictsBy = new Map<string, Array<RetentionVerdict<Artifact>>>();
  for (const verdict of [...evaluation.retained, ...evaluation.removed]) {
    const list = verdictsBy.get(verdict.candidate.repository) ?? [];
    list.push(verdict);
    verdictsBy.set(verdict.candidate.repository, list);
  }
  // Freed bytes are counted before anything is deleted, for the dry run and the run alike.
  const freed = await exclusiveBytes(
    store,
    evaluation.removed.map((verdict) => verdict.candidate),
  );

  const made = new Map((await context.tasks()).map((task) => [task.name, task]));
  const fresh = await context.addTasks(
    evaluation.tasks
      .filter((task) => !made.has(task.repository))
      .map((task) => ({ name: task.repository, extraAttrs: { total: task.total, retained: task.retained } })),
  );
  for (const task of fresh) made.set(task.name, task);

  let removed = 0;
  const deleted: Artifact[] = [];
  for (const summary of evaluation.tasks) {
    const task = made.get(summary.repository);
    if (!task || task.status === "Success") continue;
    const ended = await context.runTask(task, (taskContext) =>
      runTask(store, immutability, taskContext, {
        dryRun,
        summary,
        verdicts: verdictsBy.get(summary.repository) ?? [],
        removed: removedBy.get(summary.repository) ?? [],
        freedBytes: freed.byRepository.get(summary.repository) ?? 0,
        deleted: (artifact) => deleted.push(artifact),
      }),
    );
    removed += Number(ended.extraAttrs["deleted"] ?? 0);
    context.report({ dry_run: dryRun, removed });
  }
  const retained = evaluation.retained.length;
  if (!dryRun && deleted.length > 0) {
    (deps.events ?? NO_EVENTS).publish({
      type: "TAG_RETENTION",
      occurredAt: new Date(),
      operator: context.execution.trigger,
      projectId: project.id,
      projectName: project.name,
      policyId: record.id,
      executionId: context.execution.id,
      status: "SUCCESS",
      total: candidates.length,
      retained: candidates.length - deleted.length,
      deleted: deleted.map((artifact) => ({
        repository: artifact.fullRepository,
        digest: artifact.digest,
        tags: artifact.tags.map((tag) => tag.name),
      })),
    });
  }
  context.log(
    `[INFO] ${dryRun ? "would remove" : "removed"} ${dryRun ? evaluation.removed.length : removed} artifacts, ` +
      `kept ${retained}; garbage collection ${dryRun ? "would free" : "will free"} ${freed.total} bytes for them`,
  );
  return {
    dry_run: dryRun,
    total: candidates.length,
    retained,
    removed: dryRun ? evaluation.removed.length : removed,
    freed_bytes: freed.total,
  };
}

/** The project's artifacts as retention sees them: not an index's children, not accessories. */
async function gather(
  store: RetentionStore,
  project: string,
  immutable: (repository: string, tags: readonly string[]) => boolean,
): Promise<Artifact[]> {
  const candidates: Artifact[] = [];
  for (let offset = 0; ; offset += REPOSITORY_PAGE) {
    const page = await store.repositories.listInProject(project, {}, { offset, limit: REPOSITORY_PAGE });
    for (const repository of page.items) {
      const short = repository.name.slice(project.length + 1);
      for (const artifact of await store.lifecycle.artifacts(repository.name)) {
        if (artifact.subject !== undefined || artifact.listedByIndex) continue;
        candidates.push(candidate(artifact, short, immutable));
      }
    }
    if (page.items.length < REPOSITORY_PAGE) return candidates;
  }
}

function candidate(
  artifact: LifecycleArtifact,
  short: string,
  immutable: (repository: string, tags: readonly string[]) => boolean,
): Artifact {
  const tags = artifact.tags.map((tag) => tag.name);
  return {
    repository: short,
    fullRepository: artifact.repository,
    digest: artifact.digest,
    size: artifact.size,
    pushedAt: artifact.pushedAt,
    ...(artifact.pulledAt && { pulledAt: artifact.pulledAt }),
    tags: artifact.tags,
    immutable: immutable(short, tags),
    pins: artifact.pins,
  };
}

/**
 * The bytes the removed artifacts hold alone: each blob they reference that no other manifest
 * does, counted once, in all and per repository (a blob shared by two removed artifacts of two
 * repositories counts for the first).
 */
async function exclusiveBytes(
  store: RetentionStore,
  removed: readonly Artifact[],
): Promise<{ total: number; byRepository: Map<string, number> }> {
  const referencedBy = new Map<string, { count: number; repository: string }>();
  for (const artifact of removed) {
    const references = await store.manifests.references(artifact.fullRepository, artifact.digest);
    for (const digest of references?.blobs ?? []) {
      const entry = referencedBy.get(digest);
      if (entry) entry.count += 1;
      else referencedBy.set(digest, { count: 1, repository: artifact.repository });
    }
  }
  const byRepository = new Map<string, number>();
  let total = 0;
  const digests = [...referencedBy.keys()];
  for (let i = 0; i < digests.length; i += REPOSITORY_PAGE) {
    const batch = digests.slice(i, i + REPOSITORY_PAGE);
    const counts = await store.gc.blobReferenceCounts(batch);
    for (const digest of batch) {
      const entry = referencedBy.get(digest);
      if (!entry || counts.get(digest) !== entry.count) continue;
      const size = (await store.blobs.get(digest))?.size;
      if (size === undefined) continue;
      total += size;
      byRepository.set(entry.repository, (byRepository.get(entry.repository) ?? 0) + size);
    }
  }
  return { total, byRepository };
}

interface TaskWork {
  readonly dryRun: boolean;
  readonly summary: { readonly repository: string; readonly total: number; readonly retained: number };
  readonly verdicts: ReadonlyArray<RetentionVerdict<Artifact>>;
  readonly removed: readonly Artifact[];
  readonly freedBytes: number;
  /** Told of each artifact this task deleted. */
  readonly deleted: (artifact: Artifact) => void;
}

async function runTask(
  store: RetentionStore,
  immutability: ImmutableTagGuard,
  task: TaskContext,
  work: TaskWork,
): Promise<Record<string, unknown>> {
  let deleted = 0;
  const outcome = new Map<Artifact, string>();
  if (!work.dryRun) {
    for (const artifact of work.removed) {
      if (task.signal.aborted) break;
      const gone = await deleteArtifact(store, immutability, artifact);
      outcome.set(artifact, gone ? "DEL" : "KEPT");
      if (gone) {
        deleted += 1;
        work.deleted(artifact);
      }
    }
  }
  for (const line of table(work.verdicts, work.dryRun, outcome)) task.log(line);
  return {
    total: work.summary.total,
    retained: work.dryRun ? work.summary.retained : work.summary.total - deleted,
    deleted,
    freed_bytes: work.freedBytes,
  };
}

/** Deletes one artifact and its accessories, unless an immutable tag or an index holds it now. */
async function deleteArtifact(store: RetentionStore, immutability: ImmutableTagGuard, artifact: Artifact) {
  const tags = await store.tags.forDigest(artifact.fullRepository, artifact.digest);
  if ((await immutability.immutableTag(artifact.fullRepository, tags)) !== undefined) return false;
  return store.transaction(async (tx: MetadataAreas) => {
    const now = await tx.tags.forDigest(artifact.fullRepository, artifact.digest);
    if (now.some((tag) => !tags.includes(tag))) return false;
    if ((await tx.manifests.parents(artifact.fullRepository, artifact.digest)).length > 0) return false;
    for (const accessory of await tx.manifests.referrers(artifact.fullRepository, artifact.digest)) {
      await tx.manifests.delete(artifact.fullRepository, accessory.digest);
    }
    return tx.manifests.delete(artifact.fullRepository, artifact.digest);
  });
}

/** Harbor's task log: one line per artifact, what it is and what became of it. */
function table(
  verdicts: ReadonlyArray<RetentionVerdict<Artifact>>,
  dryRun: boolean,
  outcome: ReadonlyMap<Artifact, string>,
): string[] {
  const rows = verdicts.map(({ candidate, outcome: verdict }) => [
    candidate.digest,
    candidate.tags.map((tag) => tag.name).join(",") || "<none>",
    "image",
    "",
    candidate.pushedAt.toISOString(),
    candidate.pulledAt?.toISOString() ?? "",
    verdict === "removed" ? (dryRun ? "DEL (dry run)" : (outcome.get(candidate) ?? "DEL")) : "RETAIN",
  ]);
  const header = ["Digest", "Tag", "Kind", "Labels", "PushedTime", "PulledTime", "Retention"];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
