// The job handler of replication executions (vendor type REPLICATION, vendor id the policy's id):
// Harbor's replication flow (src/controller/replication/flow) on the registry's job system.
//
// A run: the policy as it is now (deleted or disabled: the execution ends in error, saying so);
// its turn (execution-turn.ts: an earlier execution of the policy still queued or running makes
// this one wait, without spending its attempts, or end skipped when the policy asks for a single
// active replication, as Harbor marks it "Skipped"); the tasks (replication-plan.ts), made once:
// a run taken over after a restart finds them and runs those that did not succeed, and what
// arrived before is not sent again (the copier skips what the destination holds); then each task
// in turn, its log its own, a REPLICATION event at its end, the progress reported as it goes.
// The execution fails when a task does.
//
// The remote side comes from `remote(registryId)`; this registry's side is `local`, whose writes
// and deletions publish events naming the replication as operator (local-endpoint.ts).

import type { EventPublisher, ReplicationSide } from "../events/registry-events.ts";
import { RetryableJobError, type JobContext, type JobHandler, type TaskContext } from "../jobs/job-service.ts";
import type { ExecutionRecord, ExecutionTrigger, TaskRecord } from "../metadata/job-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { RegistryRecord } from "../metadata/registry-store.ts";
import { ArtifactCopier } from "./artifact-copier.ts";
import { destinationRepository } from "./dest-namespace.ts";
import type { LocalEndpoint } from "./local-endpoint.ts";
import { MountLedger } from "./mount-ledger.ts";
import { abortReason, SYSTEM_CLOCK, type ReplicationClock } from "./replication-clock.ts";
import type { ReplicationDestination, ReplicationSource } from "./replication-endpoint.ts";
import { imagesOnly } from "./replication-filters.ts";
import { planFromEvent, planFromSource, taskAttrs, type ReplicationTaskAttrs } from "./replication-plan.ts";
import { REPLICATION_VENDOR, type ReplicationParameters, type ReplicationPolicy } from "./replication-policy.ts";
import { DEFAULT_RETRY, withRetries, type RetryPolicy } from "./retry-policy.ts";
import { earlierExecution } from "./execution-turn.ts";

/** Harbor's message for an execution skipped under `single_active_replication`. */
export const SKIPPED_MESSAGE = "Execution skipped: active replication still in progress.";

/** Ended executions kept per policy (Harbor's replication execution sweeper keeps 50). */
const KEEP_EXECUTIONS = 50;

export interface ReplicationJobDeps {
  /** The policy as stored now; undefined once deleted. */
  policy(id: number): Promise<ReplicationPolicy | undefined>;
  /** The other registry of a policy, playing either role; closed (when it can be) after the run. */
  remote(
    registryId: number,
  ): (ReplicationSource & ReplicationDestination) | Promise<ReplicationSource & ReplicationDestination>;
  /** This registry. */
  local: LocalEndpoint;
  /** Executions (whose turn it is) and endpoints (how REPLICATION events name the remote side). */
  store: Pick<MetadataStore, "jobs" | "registries">;
  events: EventPublisher;
  /** This registry's address, as REPLICATION events name it. */
  localUrl?: () => string;
  /** Backoff and bandwidth limits wait on it. */
  clock?: ReplicationClock;
  retry?: RetryPolicy;
  /** Bytes per chunk when a policy copies by chunk (10 MiB, Harbor's default, unless told). */
  chunkBytes?: number;
}

/** Harbor's trigger names, for the job system's. */
const TRIGGERS: Readonly<Record<ExecutionTrigger, string>> = {
  MANUAL: "manual",
  SCHEDULE: "scheduled",
  EVENT: "event_based",
};

/** The other registry, which may hold connections to release once the run is over. */
type RemoteSide = ReplicationSource & ReplicationDestination & { close?: () => Promise<void> };

interface Sides {
  readonly source: ReplicationSource;
  readonly destination: ReplicationDestination;
  /** This registry is the destination. */
  readonly pull: boolean;
  readonly remote: RemoteSide;
}

interface Progress {
  total: number;
  done: number;
  failed: number;
  bytes: number;
  blobs_sent: number;
  blobs_skipped: number;
  blobs_mounted: number;
}

export function replicationJob(deps: ReplicationJobDeps): JobHandler {
  return {
    vendorType: REPLICATION_VENDOR,
    keepExecutions: KEEP_EXECUTIONS,
    run: (context) => new ReplicationRun(deps, context).run(),
  };
}

/** One run of one execution. */
class ReplicationRun {
  private readonly deps: ReplicationJobDeps;
  private readonly context: JobContext;
  private readonly clock: ReplicationClock;
  private readonly retry: RetryPolicy;
  private readonly ledger = new MountLedger();
  /** The remote endpoint as stored, for the events. */
  private remoteRecord: RegistryRecord | undefined;

  constructor(deps: ReplicationJobDeps, context: JobContext) {
    this.deps = deps;
    this.context = context;
    this.clock = deps.clock ?? SYSTEM_CLOCK;
    this.retry = deps.retry ?? DEFAULT_RETRY;
  }

  private get execution(): ExecutionRecord {
    return this.context.execution;
  }

  async run(): Promise<Readonly<Record<string, unknown>>> {
    const { context, execution } = this;
    const policy = await this.currentPolicy();
    const earlier = await earlierExecution(this.deps.store.jobs, execution);
    if (earlier) {
      if (policy.singleActiveReplication) {
        context.log(`[INFO] ${SKIPPED_MESSAGE} (execution ${earlier.id})`);
        return { skipped: true, skip_reason: SKIPPED_MESSAGE };
      }
      throw new RetryableJobError(`execution ${earlier.id} of replication policy ${policy.id} runs first`, {
        countsAsAttempt: false,
      });
    }
    const sides = await this.sides(policy);
    try {
      return await this.replicate(policy, sides);
    } finally {
      // A remote endpoint holds connections (keep-alive pools, proxy tunnels) for the run only.
      await sides.remote
        .close?.()
        .catch((error: unknown) => context.log(`[WARNING] closing ${sides.remote.description}: ${String(error)}`));
    }
  }

  /** Makes the tasks (or finds those made before) and runs those not done. */
  private async replicate(planned: ReplicationPolicy, sides: Sides): Promise<Readonly<Record<string, unknown>>> {
    const { context } = this;
    let policy = planned;
    const { source, destination, pull } = sides;
    let tasks = await context.tasks();
    if (tasks.length === 0) {
      const planned = await this.plan(policy, source, pull);
      if (planned.length === 0) {
        context.log("[INFO] no resources need to be replicated");
        return { total: 0, done: 0, failed: 0, bytes: 0 };
      }
      tasks = await context.addTasks(planned.map((task) => ({ name: task.name, extraAttrs: { ...task.extraAttrs } })));
      context.log(`[INFO] ${tasks.length} tasks to run`);
    } else {
      const done = tasks.filter((task) => task.status === "Success").length;
      context.log(`[INFO] taken over: ${done} of ${tasks.length} tasks already done`);
    }
    const progress: Progress = {
      total: tasks.length,
      done: 0,
      failed: 0,
      bytes: 0,
      blobs_sent: 0,
      blobs_skipped: 0,
      blobs_mounted: 0,
    };
    context.report({ ...progress });
    for (const [index, task] of tasks.entries()) {
      if (task.status === "Success") {
        // Done by an earlier run: counted with what it sent then.
        this.count(progress, task);
        continue;
      }
      context.signal.throwIfAborted();
      if (index > 0) policy = await this.currentPolicy(tasks.length - index);
      const ended = await context.runTask(task, (running) => this.runTask(policy, running, source, destination));
      if (ended.status === "Stopped" || context.signal.aborted) break;
      this.count(progress, ended);
      this.publish(policy, ended, pull);
      context.report({ ...progress });
    }
    if (context.signal.aborted) throw abortReason(context.signal);
    if (progress.failed > 0) throw new Error(`${progress.failed} of ${progress.total} tasks failed`);
    return { ...progress };
  }

  /** The policy now; an error saying so when it was deleted or disabled (with the tasks left). */
  private async currentPolicy(left?: number): Promise<ReplicationPolicy> {
    const id = this.execution.vendorId;
    const policy = await this.deps.policy(id);
    const leftOver = left === undefined ? "" : `: ${left} tasks not run`;
    if (!policy) throw new Error(`replication policy ${id} was deleted${leftOver}`);
    if (!policy.enabled) throw new Error(`replication policy "${policy.name}" (${id}) is disabled${leftOver}`);
    return policy;
  }

  /** Source and destination: the remote registry on one side, this registry on the other. */
  private async sides(policy: ReplicationPolicy): Promise<Sides> {
    const { srcRegistryId, destRegistryId } = policy;
    if ((srcRegistryId === undefined) === (destRegistryId === undefined)) {
      throw new Error(`replication policy ${policy.id} must have exactly one remote registry`);
    }
    this.remoteRecord = await this.deps.store.registries.get(srcRegistryId ?? destRegistryId ?? -1);
    const local = this.deps.local.withOperator(`replication:${policy.name}`);
    const remote: RemoteSide = await this.deps.remote(srcRegistryId ?? destRegistryId ?? -1);
    return srcRegistryId !== undefined
      ? { source: remote, destination: local, pull: true, remote }
      : { source: local, destination: remote, pull: false, remote };
  }

  private async plan(policy: ReplicationPolicy, source: ReplicationSource, toLocal: boolean) {
    const { event } = this.execution.parameters as ReplicationParameters;
    const context = {
      policy,
      destinationOf: (repository: string) =>
        destinationRepository(
          repository,
          policy.destNamespace,
          policy.destNamespaceReplaceCount,
          // This registry names repositories <project>/<name>.
          toLocal ? "at-least-two" : undefined,
        ),
      signal: this.context.signal,
      log: (line: string) => this.context.log(line),
    };
    return event ? planFromEvent(event, context) : planFromSource(source, context);
  }

  private async runTask(
    policy: ReplicationPolicy,
    running: TaskContext,
    source: ReplicationSource,
    destination: ReplicationDestination,
  ): Promise<Record<string, unknown>> {
    const attrs = taskAttrs(running.task);
    if (!attrs) throw new Error(`task ${running.task.id} is not a replication task`);
    if (attrs.operation === "deletion") return this.deletion(attrs, destination, running);
    const copier = new ArtifactCopier({
      source,
      destination,
      options: {
        override: policy.override,
        copyByChunk: policy.copyByChunk,
        speedKbps: policy.speedKbps,
        ...(this.deps.chunkBytes !== undefined && { chunkBytes: this.deps.chunkBytes }),
        imagesOnly: imagesOnly(policy.filters),
      },
      clock: this.clock,
      retry: this.retry,
      ledger: this.ledger,
      log: (line) => running.log(line),
    });
    const outcome = await copier.copy(
      {
        srcRepository: attrs.src_repository,
        dstRepository: attrs.dst_repository,
        reference: attrs.reference,
        tags: attrs.tags,
      },
      running.signal,
    );
    return {
      digest: outcome.digest,
      blobs_sent: outcome.blobsSent,
      blobs_skipped: outcome.blobsSkipped,
      blobs_mounted: outcome.blobsMounted,
      bytes: outcome.bytesSent,
      manifests_sent: outcome.manifestsSent,
      ...(outcome.skipped !== undefined && { skipped: outcome.skipped }),
    };
  }

  /** Deletes on the destination what was deleted here: the artifact (by digest), or its tags. */
  private async deletion(
    attrs: ReplicationTaskAttrs,
    destination: ReplicationDestination,
    running: TaskContext,
  ): Promise<Record<string, unknown>> {
    const { signal } = running;
    const log = (line: string): void => running.log(line);
    const retried = <T>(operation: () => Promise<T>, what: string) =>
      withRetries(operation, what, { policy: this.retry, clock: this.clock, signal, onRetry: log });
    const repository = attrs.dst_repository;
    if (attrs.deletion === "tag") {
      let deleted = 0;
      for (const tag of attrs.tags) {
        const gone = await retried(() => destination.deleteTag(repository, tag, signal), `DELETE ${repository}:${tag}`);
        log(gone ? `[INFO] tag ${repository}:${tag} deleted` : `[INFO] ${repository}:${tag} is not on the destination`);
        if (gone) deleted++;
      }
      return { deleted };
    }
    // The artifact deleted here, by its digest: a tag the destination moved to another digest
    // since stays with it (Harbor deletes whatever the tag names there).
    const gone = await retried(
      () => destination.deleteManifest(repository, attrs.reference, signal),
      `DELETE ${repository}@${attrs.reference}`,
    );
    log(
      gone
        ? `[INFO] ${repository}@${attrs.reference} deleted`
        : `[INFO] ${repository}@${attrs.reference} is not on the destination`,
    );
    return { deleted: gone ? 1 : 0 };
  }

  private count(progress: Progress, ended: TaskRecord): void {
    if (ended.status !== "Success") {
      progress.failed++;
      return;
    }
    progress.done++;
    const number = (key: string): number => {
      const value = ended.extraAttrs[key];
      return typeof value === "number" ? value : 0;
    };
    progress.bytes += number("bytes");
    progress.blobs_sent += number("blobs_sent");
    progress.blobs_skipped += number("blobs_skipped");
    progress.blobs_mounted += number("blobs_mounted");
  }

  /** A REPLICATION event for a task that ended (Harbor's replication webhook payload). */
  private publish(policy: ReplicationPolicy, ended: TaskRecord, pull: boolean): void {
    const attrs = taskAttrs(ended);
    if (!attrs) return;
    const operator = this.execution.parameters["operator"];
    this.deps.events.publish({
      type: "REPLICATION",
      occurredAt: new Date(this.clock.now()),
      operator: typeof operator === "string" ? operator : "",
      policyId: policy.id,
      policyName: policy.name,
      policyCreator: policy.creator,
      executionId: this.execution.id,
      trigger: TRIGGERS[this.execution.trigger],
      override: policy.override,
      startedAt: this.execution.startedAt ?? this.execution.createdAt,
      source: this.sideOf(pull, attrs.src_repository),
      destination: this.sideOf(!pull, attrs.dst_repository),
      artifact: {
        type: attrs.resource_type,
        nameTag: pull ? attrs.dst_resource : attrs.src_resource,
        status: ended.status === "Success" ? "Success" : "Failed",
      },
    });
  }

  /** One side as events name it: the remote endpoint by its record, this registry as "Local". */
  private sideOf(remote: boolean, repository: string): ReplicationSide {
    const namespace = repository.split("/")[0] ?? "";
    if (!remote) {
      return { registryName: "Local", registryType: "harbor", endpoint: this.deps.localUrl?.() ?? "", namespace };
    }
    const record = this.remoteRecord;
    return {
      registryName: record?.name ?? "",
      registryType: record?.type ?? "",
      endpoint: record?.url ?? "",
      namespace,
    };
  }
}
