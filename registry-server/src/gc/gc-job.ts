// Garbage collection as a job of the job system (Harbor's vendor type GARBAGE_COLLECTION): run by
// hand or on a schedule through /system/gc, by one worker among every process and replica, its
// log and figures kept with the execution. A run cut short by a restart is claimed again and
// starts over, which the protocol allows (every step is idempotent; see ./README.md).

import type { JobHandler } from "../jobs/job-service.ts";
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

export function gcJob(collector: GarbageCollector, defaults: { timeWindowMs: number }): JobHandler {
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
      return attributes(report);
    },
  };
}
