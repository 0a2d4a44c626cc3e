// Harbor's shapes for its system jobs (audit log purge now, garbage collection later): an
// execution or a schedule as an `ExecHistory`, and the `Schedule` body its clients send to
// create, change or cancel a schedule, or to run the job at once.

import { z } from "zod";
import type { ExecutionRecord, ScheduleRecord } from "../metadata/job-store.ts";
import { parseCron } from "../jobs/cron.ts";
import { time } from "./harbor-http.ts";

/** Harbor's schedule types: "Manual" runs now, "None" cancels, the others schedule. */
export const SCHEDULE_TYPES = ["Hourly", "Daily", "Weekly", "Custom", "Manual", "None", "Schedule"] as const;

export const scheduleBodySchema = z.object({
  schedule: z.object({
    type: z.enum(SCHEDULE_TYPES),
    cron: z.string().max(256).nullish(),
  }),
  parameters: z.record(z.string(), z.unknown()).nullish(),
});

export type ScheduleBody = z.infer<typeof scheduleBodySchema>;

/** An execution as Harbor lists a system job's history. */
export function executionJson(execution: ExecutionRecord): Record<string, unknown> {
  return {
    id: execution.id,
    job_name: execution.vendorType,
    job_kind: execution.trigger,
    // A string holding JSON, as Harbor sends it.
    job_parameters: JSON.stringify({ ...execution.parameters, ...execution.extraAttrs }),
    schedule: { type: execution.trigger },
    job_status: execution.status,
    deleted: false,
    creation_time: time(execution.startedAt ?? execution.createdAt),
    update_time: time(execution.updatedAt),
  };
}

/** A schedule as Harbor answers `GET …/schedule`. */
export function scheduleJson(schedule: ScheduleRecord, now: Date): Record<string, unknown> {
  let next: Date | undefined;
  try {
    next = parseCron(schedule.cron).next(now);
  } catch {
    next = undefined;
  }
  return {
    id: schedule.id,
    job_name: "",
    job_kind: schedule.cron,
    job_parameters: JSON.stringify(schedule.parameters),
    job_status: "",
    deleted: false,
    schedule: {
      type: schedule.cronType,
      cron: schedule.cron,
      ...(next && { next_scheduled_time: time(next) }),
    },
    creation_time: time(schedule.createdAt),
    update_time: time(schedule.updatedAt),
  };
}
