// The audit log purge, Harbor's audit log retention: a job that deletes the entries older than
// `audit_retention_hour` hours whose operation is in `include_operations` ("create,delete,pull")
// or whose event type is in `include_event_types` ("create_artifact,pull_artifact"), in batches
// so that it can be stopped between two and shows its progress; `dry_run` only counts them.

import type { JobContext, JobHandler } from "../jobs/job-service.ts";
import type { AuditPurge } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";

export const PURGE_AUDIT_VENDOR = "PURGE_AUDIT_LOG";
/** Entries deleted per transaction: short transactions, progress between them. */
const BATCH = 10_000;
const HOUR_MS = 3_600_000;

export interface PurgeParameters {
  readonly retentionHours: number;
  readonly operations: readonly string[];
  readonly eventTypes: readonly string[];
  readonly dryRun: boolean;
}

function list(value: unknown): string[] {
  return typeof value === "string"
    ? value
        .split(",")
        .map((item) => item.trim().toLowerCase())
        .filter(Boolean)
    : [];
}

/** The job's parameters as Harbor's clients send them (numbers may come as strings). */
export function purgeParameters(raw: Readonly<Record<string, unknown>>): PurgeParameters {
  const hours = Number(raw["audit_retention_hour"]);
  return {
    retentionHours: Number.isFinite(hours) ? Math.floor(hours) : 0,
    operations: list(raw["include_operations"]),
    eventTypes: list(raw["include_event_types"]),
    dryRun: raw["dry_run"] === true || raw["dry_run"] === "true",
  };
}

export function auditPurgeJob(store: Pick<MetadataStore, "audit">, now: () => number = Date.now): JobHandler {
  return {
    vendorType: PURGE_AUDIT_VENDOR,
    async run(context: JobContext) {
      const params = purgeParameters(context.execution.parameters);
      if (params.retentionHours <= 0) {
        context.log("[INFO] audit_retention_hour is not positive: nothing to purge");
        return { purged: 0 };
      }
      const purge: AuditPurge = {
        before: new Date(now() - params.retentionHours * HOUR_MS),
        operations: params.operations,
        eventTypes: params.eventTypes,
      };
      const what = [...params.operations, ...params.eventTypes].join(",") || "(none)";
      context.log(
        `[INFO] purging audit entries before ${purge.before.toISOString()} of operations or event types ${what}`,
      );
      const total = await store.audit.countPurgeable(purge);
      if (params.dryRun) {
        context.log(`[INFO] dry run: ${total} entries would be purged`);
        return { dry_run: true, purgeable: total, purged: 0 };
      }
      let purged = 0;
      while (!context.signal.aborted) {
        const deleted = await store.audit.deletePurgeable(purge, BATCH);
        purged += deleted;
        context.report({ purged, purgeable: total });
        if (deleted < BATCH) break;
        context.log(`[INFO] purged ${purged} of ${total}`);
      }
      context.log(`[INFO] purged ${purged} audit entries`);
      if (context.signal.aborted) throw context.signal.reason ?? new Error("stopped");
      return { purged, purgeable: total };
    },
  };
}
