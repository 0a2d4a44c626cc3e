// The registry's audit log purge schedule (Harbor's `/system/purgeaudit/schedule`), a singleton:
// one per registry, so its id is fixed and `create` takes over whatever schedule is there.
// `read` reports the live schedule and parameters, so a schedule changed or cancelled by hand
// shows in `pulumi refresh`; `delete` cancels it (type None). The schedule is normalised to the
// six-field cron the registry stores (./schedule.ts), and the event types to a sorted, lower-case
// list (the registry keeps them as one comma-separated string), so no perpetual diff appears.
//
// Declare it once per registry: two resources would take the one schedule from each other.
//
// The provider is ./singleton.ts's for a schedule. Dynamic provider rules apply (see
// components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { containsUnknown, isUnknown, keepUnknown } from "../unknowns";
import type { RegistryConnection } from "./api-client";
import { liveSchedule, normaliseSchedule, scheduleType } from "./schedule";
import { scheduleSingleton } from "./singleton";
import { declaredBy, declaredProvider } from "./declaration";

export interface AuditLogPurgeScheduleArgs {
  /** The registry to manage (from RegistryServer's `connection`); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** When it runs: Hourly, Daily or Weekly (any case), or a six-field cron, seconds first. */
  schedule: pulumi.Input<string>;
  /** Entries older than this many hours are purged (Harbor's audit_retention_hour). */
  retentionHours: pulumi.Input<number>;
  /** The event types purged, e.g. ["create_artifact", "delete_artifact", "pull_artifact"]. */
  includeEventTypes: pulumi.Input<pulumi.Input<string>[]>;
  /** Only count what a run would purge. Default false. */
  dryRun?: pulumi.Input<boolean>;
}

export interface AuditLogPurgeScheduleInputs {
  connection: RegistryConnection;
  /** A six-field cron. */
  schedule: string;
  retentionHours: number;
  /** Sorted, lower case, without repeats. */
  includeEventTypes: string[];
  dryRun: boolean;
}

const PURGE_SCHEDULE_ID = "purgeaudit-schedule";
const SCHEDULE_PATH = "/system/purgeaudit/schedule";
const EVENT_TYPE = /^[a-z][a-z_]*$/;

/** Event types as the registry compares them: trimmed, lower case, sorted, once each. */
function normaliseEventTypes(types: readonly string[]): string[] {
  return [...new Set(types.map((type) => type.trim().toLowerCase()).filter(Boolean))].sort();
}

/** Validates the known inputs and normalises them; unknowns are passed on (../unknowns.ts). */
export function checkAuditPurgeSchedule(
  news: Record<string, unknown>,
): pulumi.dynamic.CheckResult<AuditLogPurgeScheduleInputs> {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const fail = (property: string, reason: string): void => void failures.push({ property, reason });
  const schedule = keepUnknown(news["schedule"], (value) => {
    const normalised = normaliseSchedule(value, false);
    if (normalised.problem !== undefined) fail("schedule", normalised.problem);
    return normalised.cron ?? String(value);
  });
  const hours = news["retentionHours"];
  if (!isUnknown(hours) && (typeof hours !== "number" || !Number.isInteger(hours) || hours < 1)) {
    fail("retentionHours", `expected a whole number of hours from 1, got ${JSON.stringify(hours)}`);
  }
  const given = news["includeEventTypes"];
  let includeEventTypes: string[];
  if (containsUnknown(given)) {
    includeEventTypes = given as string[];
  } else if (Array.isArray(given) && given.every((type) => typeof type === "string")) {
    includeEventTypes = normaliseEventTypes(given);
    const bad = includeEventTypes.filter((type) => !EVENT_TYPE.test(type));
    if (includeEventTypes.length === 0) fail("includeEventTypes", "expected at least one event type");
    if (bad.length > 0)
      fail("includeEventTypes", `expected event types such as pull_artifact, got ${JSON.stringify(bad)}`);
  } else {
    includeEventTypes = [];
    fail("includeEventTypes", `expected a list of event types, got ${JSON.stringify(given)}`);
  }
  const dryRun = keepUnknown(news["dryRun"] ?? false, (value) => {
    if (typeof value !== "boolean") fail("dryRun", `expected true or false, got ${JSON.stringify(value)}`);
    return value === true;
  });
  return {
    inputs: {
      connection: news["connection"] as RegistryConnection,
      schedule,
      retentionHours: hours as number,
      includeEventTypes,
      dryRun,
    },
    failures,
  };
}

/** The schedule as Harbor's API carries it. */
export function auditPurgeScheduleBody(inputs: AuditLogPurgeScheduleInputs): Record<string, unknown> {
  return {
    schedule: { type: scheduleType(inputs.schedule), cron: inputs.schedule },
    parameters: {
      audit_retention_hour: inputs.retentionHours,
      include_event_types: inputs.includeEventTypes.join(","),
      dry_run: inputs.dryRun,
    },
  };
}

/** Harbor's schedule reply, as the inputs say it. */
export function auditPurgeScheduleFromHarbor(live: {
  schedule?: { cron?: unknown } | null;
  job_parameters?: unknown;
}): Omit<AuditLogPurgeScheduleInputs, "connection"> {
  let parameters: Record<string, unknown> = {};
  try {
    const parsed: unknown = typeof live.job_parameters === "string" ? JSON.parse(live.job_parameters) : {};
    if (parsed !== null && typeof parsed === "object") parameters = parsed as Record<string, unknown>;
  } catch {
    parameters = {};
  }
  const types = parameters["include_event_types"];
  return {
    schedule: liveSchedule(live.schedule?.cron, false),
    // Harbor's clients may send the hours as a string.
    retentionHours: Number(parameters["audit_retention_hour"] ?? 0),
    includeEventTypes: normaliseEventTypes(typeof types === "string" ? types.split(",") : []),
    dryRun: parameters["dry_run"] === true || parameters["dry_run"] === "true",
  };
}

export const auditPurgeScheduleProvider = scheduleSingleton<AuditLogPurgeScheduleInputs>({
  id: PURGE_SCHEDULE_ID,
  path: SCHEDULE_PATH,
  what: "the audit log purge schedule",
  check: checkAuditPurgeSchedule,
  keys: ["schedule", "retentionHours", "includeEventTypes", "dryRun"],
  body: auditPurgeScheduleBody,
  fromHarbor: auditPurgeScheduleFromHarbor,
});

/** The provider, recording which stack declared the AuditLogPurgeSchedule (./declaration.ts). */
const declaredAuditPurgeScheduleProvider = declaredProvider(
  "schedule",
  () => "purge_audit",
  auditPurgeScheduleProvider,
);

/** The registry's audit log purge schedule (one per registry). */
export class AuditLogPurgeSchedule extends pulumi.dynamic.Resource {
  declare readonly schedule: pulumi.Output<string>;

  constructor(name: string, args: AuditLogPurgeScheduleArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      declaredAuditPurgeScheduleProvider,
      name,
      {
        declaration: declaredBy(name, "AuditLogPurgeSchedule", opts),
        ...args,
        connection: pulumi.secret(args.connection),
      },
      opts,
      "registry",
      "AuditLogPurgeSchedule",
    );
  }
}
