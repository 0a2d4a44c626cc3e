// A project's retention policy kept whole: the policy document, the project's `retention_id`
// metadata that points at it (what Harbor's clients read), and its schedule in the job system
// change together. Used by the retention API and by the creation of a proxy-cache project, which
// gets Harbor's default expiry: artifacts not pulled for 7 days go, checked daily.

import type { JobService } from "../jobs/job-service.ts";
import type { ProjectRecord } from "../metadata/identity-store.ts";
import type { LifecycleAreas, RetentionPolicyRecord } from "../metadata/lifecycle-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { RETENTION_VENDOR } from "./retention-job.ts";
import type { RetentionPolicy } from "./retention-policy.ts";

/** Harbor's expiry of a new proxy-cache project (defaultDaysToRetentionForProxyCacheProject). */
export const DEFAULT_PROXY_EXPIRY_DAYS = 7;
/** Harbor's daily schedule for it, six fields, seconds first. */
export const DEFAULT_PROXY_EXPIRY_CRON = "0 0 0 * * *";

export type RetentionPolicyStore = MetadataStore & Pick<LifecycleAreas, "retentions">;

/**
 * The policy of a proxy-cache project: keep what was pulled within `days`, tagged or not (an image
 * pulled by digest is cached untagged, and must not go while it is used).
 */
export function proxyExpiryPolicy(projectId: number, days: number): RetentionPolicy {
  return {
    id: 0,
    algorithm: "or",
    rules: [
      {
        id: 1,
        priority: 0,
        disabled: false,
        action: "retain",
        template: "nDaysSinceLastPull",
        params: { nDaysSinceLastPull: days },
        tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "**", extras: '{"untagged":true}' }],
        scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**", extras: "" }] },
      },
    ],
    trigger: { kind: "Schedule", settings: { cron: DEFAULT_PROXY_EXPIRY_CRON } },
    scope: { level: "project", ref: projectId },
  };
}

/** The policy as stored and answered: rules numbered from 1, as Harbor's manager numbers them. */
function normalised(policy: RetentionPolicy, id: number): RetentionPolicy {
  return { ...policy, id, rules: policy.rules.map((rule, index) => ({ ...rule, id: index + 1 })) };
}

function cronOf(policy: RetentionPolicy): string {
  const cron = policy.trigger.settings["cron"];
  return typeof cron === "string" ? cron.trim() : "";
}

export class RetentionService {
  private readonly store: RetentionPolicyStore;
  private readonly jobs: JobService;

  constructor(store: RetentionPolicyStore, jobs: JobService) {
    this.store = store;
    this.jobs = jobs;
  }

  /** Checks a policy's schedule; throws ScheduleError with the reason when it makes none. */
  checkSchedule(policy: RetentionPolicy): void {
    const cron = cronOf(policy);
    if (cron !== "") this.jobs.checkCron(cron);
  }

  /** Creates the project's policy (the caller checked it has none) and points the project at it. */
  async create(project: ProjectRecord, policy: RetentionPolicy): Promise<RetentionPolicyRecord> {
    this.checkSchedule(policy);
    const now = new Date();
    const record = await this.store.transaction(async (tx) => {
      const made = await tx.retentions.create(project.id, "{}", now);
      const saved = await tx.retentions.update(made.id, JSON.stringify(normalised(policy, made.id)), now);
      const current = (await tx.projects.get(project.id)) ?? project;
      await tx.projects.update(project.id, { metadata: { ...current.metadata, retention_id: String(made.id) } }, now);
      return saved ?? made;
    });
    await this.schedule(record, policy);
    return record;
  }

  /** Replaces the whole policy (Harbor's PUT); undefined when it is gone. */
  async update(record: RetentionPolicyRecord, policy: RetentionPolicy): Promise<RetentionPolicyRecord | undefined> {
    this.checkSchedule(policy);
    const saved = await this.store.retentions.update(
      record.id,
      JSON.stringify(normalised(policy, record.id)),
      new Date(),
    );
    if (saved) await this.schedule(saved, policy);
    return saved;
  }

  /** Deletes the policy, its schedule, and the project's pointer to it. */
  async delete(record: RetentionPolicyRecord): Promise<void> {
    await this.store.jobs.deleteSchedule(RETENTION_VENDOR, record.id);
    await this.store.transaction(async (tx) => {
      await tx.retentions.delete(record.id);
      const project = await tx.projects.get(record.projectId);
      if (project && project.metadata["retention_id"] === String(record.id)) {
        const { retention_id: _dropped, ...metadata } = project.metadata;
        await tx.projects.update(project.id, { metadata }, new Date());
      }
    });
  }

  /** The schedule follows the trigger: a cron schedules runs, "" removes the schedule. */
  private async schedule(record: RetentionPolicyRecord, policy: RetentionPolicy): Promise<void> {
    const cron = cronOf(policy);
    if (cron === "") {
      await this.store.jobs.deleteSchedule(RETENTION_VENDOR, record.id);
      return;
    }
    await this.jobs.setSchedule({
      vendorType: RETENTION_VENDOR,
      vendorId: record.id,
      cronType: "Custom",
      cron,
      parameters: { dry_run: false },
    });
  }
}
