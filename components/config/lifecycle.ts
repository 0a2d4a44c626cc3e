// What the stack declares of the registry's housekeeping: a project's retention policy and
// immutable tag rules (under `airlock:projects[]`), and the registry's garbage collection
// (`airlock:garbageCollection`) and audit log purge (`airlock:auditLogPurge`) schedules. The rules
// these values follow are the providers' own (registry/retention-policy.ts, pattern-selector.ts,
// schedule.ts): the schema gives their shape and asks the providers' checks for the rest, so a
// rule is written once and a stack is refused before `up` for what the provider would refuse.

import { z } from "zod";
import { GC_MAX_WORKERS } from "../registry/gc-schedule";
import { MATCH_ALL, normaliseSelector, type PatternSelector } from "../registry/pattern-selector";
import { MAX_RETENTION_RULES, normaliseRule, ruleListProblems } from "../registry/retention-policy";
import { normaliseSchedule } from "../registry/schedule";

/** `{ matches: "<pattern>" }` or `{ excludes: "<pattern>" }`. */
export const patternSelectorSchema = z
  .strictObject({ matches: z.string().optional(), excludes: z.string().optional() })
  .superRefine((value, ctx) => {
    const problem = normaliseSelector(value, undefined).problem;
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  })
  .transform((value): PatternSelector => normaliseSelector(value, undefined).selector ?? MATCH_ALL);

/** Hourly, Daily, Weekly (any case) or a six-field cron; with `allowNone`, "None" too. */
function scheduleSchema(allowNone: boolean) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const problem = normaliseSchedule(value, allowNone).problem;
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    })
    .transform((value) => normaliseSchedule(value, allowNone).cron ?? value);
}

/** One retention rule: exactly one `keep…` key or `always`, and what it looks at. */
export const retentionRuleSchema = z
  .strictObject({
    /** Keep the n most recently pushed artifacts. */
    keepLatestPushed: z.number().optional(),
    /** Keep the n most recently pulled artifacts. */
    keepLatestPulled: z.number().optional(),
    /** Keep what was pushed within the last n days. */
    keepPushedWithinDays: z.number().optional(),
    /** Keep what was pulled within the last n days. */
    keepPulledWithinDays: z.number().optional(),
    /** Keep every artifact the rule selects. */
    always: z.literal(true).optional(),
    /** Default `{ matches: "**" }`. */
    repositories: patternSelectorSchema.optional(),
    /** Default `{ matches: "**" }`. */
    tags: patternSelectorSchema.optional(),
    /** The rule also keeps artifacts without a tag; default false: they are removed. */
    untagged: z.boolean().default(false),
    disabled: z.boolean().default(false),
  })
  .superRefine((rule, ctx) => {
    for (const problem of normaliseRule(rule).problems) {
      ctx.addIssue({
        code: "custom",
        path: problem.field === undefined ? [] : [problem.field],
        message: problem.message,
      });
    }
  });

/** A project's retention policy: its rules (any one keeps an artifact) and when it runs. */
export const retentionSchema = z
  .strictObject({
    /** Hourly, Daily, Weekly, a six-field cron, or None (run by hand). */
    schedule: scheduleSchema(true),
    rules: z.array(retentionRuleSchema).min(1).max(MAX_RETENTION_RULES),
  })
  .superRefine((policy, ctx) => {
    for (const message of ruleListProblems(policy.rules)) ctx.addIssue({ code: "custom", path: ["rules"], message });
  });

/** An immutable tag rule: the tags it selects in the repositories it selects cannot change. */
export const immutableTagRuleSchema = z.strictObject({
  /** Default `{ matches: "**" }`. */
  repositories: patternSelectorSchema.optional(),
  tags: patternSelectorSchema,
  disabled: z.boolean().default(false),
});

/** The registry's garbage collection schedule. */
export const garbageCollectionSchema = z.strictObject({
  schedule: scheduleSchema(false),
  /** Also remove artifacts without a tag. */
  deleteUntagged: z.boolean().default(false),
  workers: z.number().int().min(1).max(GC_MAX_WORKERS).default(1),
  dryRun: z.boolean().default(false),
});

/** The registry's audit log purge schedule. */
export const auditLogPurgeSchema = z.strictObject({
  schedule: scheduleSchema(false),
  /** Entries older than this many hours are purged. */
  retentionHours: z.number().int().min(1),
  /** e.g. [create_artifact, delete_artifact, pull_artifact]. */
  includeEventTypes: z.array(z.string().regex(/^[a-z][a-z_]*$/, "expected an event type such as pull_artifact")).min(1),
  dryRun: z.boolean().default(false),
});
