// The registry's garbage collection schedule (Harbor's `/system/gc/schedule`), a singleton: one
// per registry, so its id is fixed and `create` takes over whatever schedule is there. `read`
// reports the live schedule and parameters, so a schedule changed or cancelled by hand shows in
// `pulumi refresh` (Harbor's Terraform and Pulumi providers never look, and miss it); `delete`
// cancels the schedule (type None). The schedule is normalised to the six-field cron the
// registry stores (./schedule.ts): "weekly" and "0 0 0 * * 0" are one input, with no perpetual
// diff; the API's type (Weekly, Custom…) follows from the cron.
//
// Declare it once per registry: two resources would take the one schedule from each other.
//
// The provider is ./singleton.ts's for a schedule. Dynamic provider rules apply (see
// components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { isUnknown, keepUnknown } from "../unknowns";
import type { RegistryConnection } from "./api-client";
import { liveSchedule, normaliseSchedule, scheduleType } from "./schedule";
import { scheduleSingleton } from "./singleton";
import { declaredBy, declaredProvider } from "./declaration";

export interface GarbageCollectionScheduleArgs {
  /** The registry to manage (from RegistryServer's `connection`); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** When it runs: Hourly, Daily or Weekly (any case), or a six-field cron, seconds first. */
  schedule: pulumi.Input<string>;
  /** Also remove artifacts that have no tag left (Harbor's delete_untagged). Default false, as Harbor's portal. */
  deleteUntagged?: pulumi.Input<boolean>;
  /** Blobs deleted at a time, 1 to 5. Default 1. */
  workers?: pulumi.Input<number>;
  /** Only report what a run would free. Default false. */
  dryRun?: pulumi.Input<boolean>;
}

export interface GarbageCollectionScheduleInputs {
  connection: RegistryConnection;
  /** A six-field cron. */
  schedule: string;
  deleteUntagged: boolean;
  workers: number;
  dryRun: boolean;
}

/** Harbor's bounds on GC workers. */
export const GC_MAX_WORKERS = 5;

/** The singleton's id. */
const GC_SCHEDULE_ID = "gc-schedule";
const SCHEDULE_PATH = "/system/gc/schedule";

/** Validates the known inputs and normalises the schedule; unknowns are passed on (../unknowns.ts). */
export function checkGcSchedule(
  news: Record<string, unknown>,
): pulumi.dynamic.CheckResult<GarbageCollectionScheduleInputs> {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const fail = (property: string, reason: string): void => void failures.push({ property, reason });
  const schedule = keepUnknown(news["schedule"], (value) => {
    const normalised = normaliseSchedule(value, false);
    if (normalised.problem !== undefined) fail("schedule", normalised.problem);
    return normalised.cron ?? String(value);
  });
  const workers = news["workers"] ?? 1;
  if (
    !isUnknown(workers) &&
    (typeof workers !== "number" || !Number.isInteger(workers) || workers < 1 || workers > GC_MAX_WORKERS)
  ) {
    fail("workers", `expected a whole number from 1 to ${GC_MAX_WORKERS}, got ${JSON.stringify(workers)}`);
  }
  const flag = (key: "deleteUntagged" | "dryRun"): boolean =>
    keepUnknown(news[key] ?? false, (value) => {
      if (typeof value !== "boolean") fail(key, `expected true or false, got ${JSON.stringify(value)}`);
      return value === true;
    });
  return {
    inputs: {
      connection: news["connection"] as RegistryConnection,
      schedule,
      deleteUntagged: flag("deleteUntagged"),
      workers: workers as number,
      dryRun: flag("dryRun"),
    },
    failures,
  };
}

/** The schedule as Harbor's API carries it. */
export function gcScheduleBody(inputs: GarbageCollectionScheduleInputs): Record<string, unknown> {
  return {
    schedule: { type: scheduleType(inputs.schedule), cron: inputs.schedule },
    parameters: { delete_untagged: inputs.deleteUntagged, workers: inputs.workers, dry_run: inputs.dryRun },
  };
}

/** Harbor's schedule reply, as the inputs say it (parameters read as Harbor's GC job reads them). */
export function gcScheduleFromHarbor(live: {
  schedule?: { cron?: unknown } | null;
  job_parameters?: unknown;
}): Omit<GarbageCollectionScheduleInputs, "connection"> {
  let parameters: Record<string, unknown> = {};
  try {
    const parsed: unknown = typeof live.job_parameters === "string" ? JSON.parse(live.job_parameters) : {};
    if (parsed !== null && typeof parsed === "object") parameters = parsed as Record<string, unknown>;
  } catch {
    parameters = {};
  }
  const workers = parameters["workers"];
  return {
    schedule: liveSchedule(live.schedule?.cron, false),
    deleteUntagged: parameters["delete_untagged"] !== false,
    workers: typeof workers === "number" && Number.isInteger(workers) ? workers : 1,
    dryRun: parameters["dry_run"] === true,
  };
}

export const gcScheduleProvider = scheduleSingleton<GarbageCollectionScheduleInputs>({
  id: GC_SCHEDULE_ID,
  path: SCHEDULE_PATH,
  what: "the GC schedule",
  check: checkGcSchedule,
  keys: ["schedule", "deleteUntagged", "workers", "dryRun"],
  body: gcScheduleBody,
  fromHarbor: gcScheduleFromHarbor,
});

/** The provider, recording which stack declared the GarbageCollectionSchedule (./declaration.ts). */
const declaredGcScheduleProvider = declaredProvider("schedule", () => "gc", gcScheduleProvider);

/** The registry's garbage collection schedule (one per registry). */
export class GarbageCollectionSchedule extends pulumi.dynamic.Resource {
  declare readonly schedule: pulumi.Output<string>;

  constructor(name: string, args: GarbageCollectionScheduleArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      declaredGcScheduleProvider,
      name,
      {
        declaration: declaredBy(name, "GarbageCollectionSchedule", opts),
        ...args,
        connection: pulumi.secret(args.connection),
      },
      opts,
      "registry",
      "GarbageCollectionSchedule",
    );
  }
}
