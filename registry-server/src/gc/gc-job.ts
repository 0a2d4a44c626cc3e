// Garbage collection as a job of the job system (Harbor's vendor type GARBAGE_COLLECTION): run by
// hand or on a schedule through /system/gc, by one worker among every process and replica, its
// log and figures kept with the execution. A run cut short by a restart is claimed again and
// starts over, which the protocol allows (every step is idempotent; see ./README.md).

import type { JobHandler } from "../jobs/job-service.ts";
import type { ScanReportMetadata } from "../metadata/scan-store.ts";
import type { GarbageCollector, GcReport } from "./garbage-collector.ts";
import { gcParameters } from "./gc-parameters.ts";

export const GC_VENDOR = "GARBAGE_COLLECTION";

/** The figures a run adds to its execution's attributes (shown in `job_parameters`, as Harbor). */
function attributes(report: GcReport): Record<string, unknown> {
  return {
    freed_space: report.freedBytes,
    purged_blobs: report.blobs,
    purged_manifests: report.manifests,
    purged_objects: report.objects,
    purged_uploads: report.uploads,
    projects: report.projects,
  };
}

/** Scan reports deleted per statement, and at most per run, once the blobs are collected. */
const REPORT_BATCH = 1_000;
const MAX_REPORT_BATCHES = 1_000;

export function gcJob(
  collector: GarbageCollector,
  defaults: { timeWindowMs: number },
  /** The scan reports of digests no repository holds any more go with the garbage. */
  scanReports?: Pick<ScanReportMetadata, "deleteOrphans">,
): JobHandler {
  return {
    vendorType: GC_VENDOR,
    keepExecutions: 50,
    async run(context) {
      const params = gcParameters(context.execution.parameters, defaults);
      const report = await collector.run(params, {
        signal: context.signal,
        log: (line) => context.log(line),
        report: (progress) => context.report(attributes(progress)),
      });
      if (scanReports && !params.dryRun) {
        let deleted = 0;
        for (let batch = 0; batch < MAX_REPORT_BATCHES; batch++) {
          context.signal.throwIfAborted();
          const count = await scanReports.deleteOrphans(REPORT_BATCH);
          deleted += count;
          if (count < REPORT_BATCH) break;
        }
        if (deleted > 0) context.log(`[INFO] deleted ${deleted} scan reports of artifacts no repository holds`);
      }
      return attributes(report);
    },
  };
}
