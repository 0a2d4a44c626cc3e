// Replication policies kept whole, as Harbor's replication controller keeps them: the policy in
// the store and its schedule in the job system change together (a scheduled, enabled policy has
// a schedule of vendor type REPLICATION whose vendor id is the policy's; any other policy has
// none), a policy is deleted only when none of its executions is under way (then with its
// history), and an execution is started only for an enabled policy. The replication API uses it.
// Whose turn it is among a policy's executions, and the skip `singleActiveReplication` asks for,
// are the job handler's (replication-job.ts), whatever started them.
//
// Failures are domain errors (below), ConflictError from the store for a taken name, and
// ScheduleError from the job system for a cron that makes no schedule; the API maps them to
// Harbor's statuses. `onChange` tells of every policy created, replaced or deleted (the event
// trigger's cache of the enabled policies).

import type { JobService } from "../jobs/job-service.ts";
import type { ExecutionRecord, ExecutionTrigger } from "../metadata/job-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { NewReplicationPolicy } from "../metadata/replication-store.ts";
import { REPLICATION_VENDOR, type ReplicationParameters, type ReplicationPolicy } from "./replication-policy.ts";

/** A policy names a registry endpoint that does not exist. */
export class UnknownRegistryError extends Error {
  override name = "UnknownRegistryError";
  readonly registryId: number;
  constructor(registryId: number) {
    super(`registry ${registryId} not found`);
    this.registryId = registryId;
  }
}

/** An execution was asked of a disabled policy. */
export class ReplicationDisabledError extends Error {
  override name = "ReplicationDisabledError";
  constructor(policyId: number) {
    super(`the policy ${policyId} is disabled`);
  }
}

/** A policy whose executions are not all over cannot be deleted. */
export class ReplicationRunningError extends Error {
  override name = "ReplicationRunningError";
  constructor() {
    super("contains executions that aren't in final status, stop the execution first");
  }
}

/** The fields of a policy a PUT gives: all but who made it. */
export type ReplicationPolicyFields = Omit<NewReplicationPolicy, "creator">;

export type ReplicationPolicyStore = Pick<MetadataStore, "replicationPolicies" | "registries" | "jobs">;

export class ReplicationPolicyService {
  private readonly store: ReplicationPolicyStore;
  private readonly jobs: Pick<JobService, "checkCron" | "setSchedule" | "enqueue">;
  private readonly now: () => number;
  private readonly listeners = new Set<() => void>();

  constructor(deps: {
    store: ReplicationPolicyStore;
    jobs: Pick<JobService, "checkCron" | "setSchedule" | "enqueue">;
    now?: () => number;
  }) {
    this.store = deps.store;
    this.jobs = deps.jobs;
    this.now = deps.now ?? Date.now;
  }

  /** Tells `listener` of every policy created, replaced or deleted here. */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  /**
   * What the store cannot check: the registry on the other side exists, and a scheduled trigger's
   * cron makes a schedule (ScheduleError otherwise), whether the policy is enabled or not.
   */
  async check(policy: ReplicationPolicyFields): Promise<void> {
    const registryId = policy.srcRegistryId ?? policy.destRegistryId;
    if (registryId !== undefined && !(await this.store.registries.get(registryId))) {
      throw new UnknownRegistryError(registryId);
    }
    if (policy.trigger.type === "scheduled") this.jobs.checkCron(policy.trigger.cron ?? "");
  }

  /** Creates a policy and its schedule; ConflictError when the name is taken. */
  async create(policy: NewReplicationPolicy): Promise<ReplicationPolicy> {
    await this.check(policy);
    const made = await this.store.replicationPolicies.create(policy, new Date(this.now()));
    this.changed();
    await this.schedule(made);
    return made;
  }

  /** Replaces every field of a policy and its schedule; undefined when there is no such policy. */
  async replace(id: number, policy: ReplicationPolicyFields): Promise<ReplicationPolicy | undefined> {
    await this.check(policy);
    const saved = await this.store.replicationPolicies.update(
      id,
      { ...policy, srcRegistryId: policy.srcRegistryId ?? null, destRegistryId: policy.destRegistryId ?? null },
      new Date(this.now()),
    );
    if (saved) {
      this.changed();
      await this.schedule(saved);
    }
    return saved;
  }

  /**
   * Deletes a policy, its schedule and its executions with their tasks and logs; false when there
   * is no such policy. ReplicationRunningError, and nothing changed, while one of its executions
   * is queued or running.
   */
  async delete(id: number): Promise<boolean> {
    if (!(await this.store.replicationPolicies.get(id))) return false;
    if ((await this.active(id)).total > 0) throw new ReplicationRunningError();
    await this.store.jobs.deleteSchedule(REPLICATION_VENDOR, id);
    const deleted = await this.store.replicationPolicies.delete(id);
    this.changed();
    await this.store.jobs.pruneExecutions(REPLICATION_VENDOR, id, 0);
    return deleted;
  }

  /** Queues an execution of an enabled policy; ReplicationDisabledError otherwise. */
  async start(
    policy: ReplicationPolicy,
    trigger: ExecutionTrigger,
    parameters: ReplicationParameters = {},
  ): Promise<ExecutionRecord> {
    if (!policy.enabled) throw new ReplicationDisabledError(policy.id);
    return this.jobs.enqueue(REPLICATION_VENDOR, { ...parameters }, trigger, policy.id);
  }

  /** The policy's executions that are queued or running (one of them, and their count). */
  private active(id: number) {
    return this.store.jobs.listExecutions(
      { vendorType: REPLICATION_VENDOR, vendorId: id, statuses: ["Pending", "Running"] },
      { offset: 0, limit: 1 },
    );
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** The schedule follows the policy: enabled and scheduled has one, anything else none. */
  private async schedule(policy: ReplicationPolicy): Promise<void> {
    const cron = policy.trigger.type === "scheduled" ? (policy.trigger.cron ?? "") : "";
    if (!policy.enabled || cron === "") {
      await this.store.jobs.deleteSchedule(REPLICATION_VENDOR, policy.id);
      return;
    }
    await this.jobs.setSchedule({
      vendorType: REPLICATION_VENDOR,
      vendorId: policy.id,
      cronType: "Custom",
      cron,
      parameters: {},
    });
  }
}
