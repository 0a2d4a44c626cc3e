// A tag retention policy exactly as Harbor's API carries it (POST/PUT /retentions, GET
// /retentions/{id}): the JSON of src/pkg/retention/policy/models.go (Metadata, Trigger, Scope) and
// policy/rule/models.go (rule Metadata, Selector). `retentionPolicySchema` decodes a request body
// into that shape, normalised as Harbor stores it (every field present, Go's zero values for the
// absent ones, unknown keys dropped: see go-json.ts), and refuses what Harbor refuses, with Harbor's
// messages and the path of the field at fault, for the API's 400:
//
//   - from the handler (src/server/v2.0/handler/retention.go): more than 15 rules ("only 15 rules
//     are allowed at most"), a scope other than project ("scope X is not support"), a project id
//     not above 0 ("invalid Project id N");
//   - from the models' Valid methods and the rule index (which Harbor 2's handler no longer runs,
//     so Harbor only fails such a policy when it executes): algorithm other than "or", missing
//     trigger or scope, a Schedule trigger without settings.cron, an unknown template, a missing or
//     ill-typed parameter, a rule whose action is not "retain" or that has no tag selector, a
//     selector of another kind than doublestar, an empty pattern.
//   - stricter than Harbor, because the job would fail on them: decorations outside those GET
//     /retentions/metadatas offers (selector.ts), malformed patterns (pattern.ts), a cron that is
//     not a string, a trigger kind other than Schedule (Harbor's update refuses it).
//
// Two rules equal but for their ids are Harbor's 409 ("rule 1 is conflict with rule 0"):
// `ruleConflict` gives that message. The trigger's `references` are dropped: Harbor's model has none.

import { z } from "zod";
import { goBool, goInt, goMap, goRequiredStruct, goSlice, goString } from "./go-json.ts";
import { templateProblem } from "./rule-templates.ts";
import { REPOSITORY_DECORATIONS, TAG_DECORATIONS, retentionSelectorSchema } from "./selector.ts";

export const MAX_RETENTION_RULES = 15;

export interface RetentionSelector {
  readonly kind: string;
  readonly decoration: string;
  readonly pattern: string;
  /** JSON such as {"untagged":true} for tag selectors; "" when absent. */
  readonly extras: string;
}

export interface RetentionRule {
  readonly id: number;
  readonly priority: number;
  readonly disabled: boolean;
  readonly action: string;
  readonly template: string;
  /** Keyed by the template id, e.g. { latestPushedK: 10 }; empty for "always". */
  readonly params: Readonly<Record<string, unknown>>;
  readonly tag_selectors: readonly RetentionSelector[];
  /** "repository" is the key Harbor reads for a project policy; others are kept and ignored. */
  readonly scope_selectors: Readonly<Record<string, readonly RetentionSelector[]>>;
}

export interface RetentionPolicy {
  readonly id: number;
  readonly algorithm: string;
  readonly rules: readonly RetentionRule[];
  /** settings.cron: Harbor's six-field cron, "" for no schedule. */
  readonly trigger: { readonly kind: string; readonly settings: Readonly<Record<string, unknown>> };
  /** `ref` is the project id. */
  readonly scope: { readonly level: string; readonly ref: number };
}

const ruleSchema = z
  .object({
    id: goInt(),
    priority: goInt(),
    disabled: goBool(),
    action: goString(),
    template: goString(),
    params: goMap(z.unknown()),
    tag_selectors: goSlice(retentionSelectorSchema(TAG_DECORATIONS)),
    scope_selectors: goMap(goSlice(retentionSelectorSchema(REPOSITORY_DECORATIONS))),
  })
  .superRefine((rule, ctx) => {
    const problem = templateProblem(rule.template, rule.params);
    if (problem) {
      const path = problem.param === undefined ? ["template"] : ["params", problem.param];
      ctx.addIssue({ code: "custom", path, message: problem.message });
    }
    if (rule.action === "") ctx.addIssue({ code: "custom", path: ["action"], message: "Can not be empty" });
    else if (rule.action !== "retain") {
      ctx.addIssue({ code: "custom", path: ["action"], message: `action ${rule.action} is not supported` });
    }
    if (rule.tag_selectors.length === 0) {
      ctx.addIssue({ code: "custom", path: ["tag_selectors"], message: "Can not be empty" });
    }
  });

const triggerSchema = goRequiredStruct({ kind: goString(), settings: goMap(z.unknown()) }).superRefine(
  (trigger, ctx) => {
    if (trigger.kind === "") ctx.addIssue({ code: "custom", path: ["kind"], message: "Can not be empty" });
    else if (trigger.kind !== "Schedule") {
      ctx.addIssue({ code: "custom", path: ["kind"], message: `not support Trigger ${trigger.kind}` });
    } else if (!Object.hasOwn(trigger.settings, "cron")) {
      ctx.addIssue({ code: "custom", path: ["settings", "cron"], message: "Can not be empty" });
    } else if (typeof trigger.settings["cron"] !== "string") {
      ctx.addIssue({ code: "custom", path: ["settings", "cron"], message: "cron must be a string" });
    }
  },
);

const scopeSchema = goRequiredStruct({ level: goString(), ref: goInt() }).superRefine((scope, ctx) => {
  if (scope.level !== "project") {
    ctx.addIssue({ code: "custom", path: ["level"], message: `scope ${scope.level} is not support` });
  } else if (scope.ref <= 0) {
    ctx.addIssue({ code: "custom", path: ["ref"], message: `invalid Project id ${scope.ref}` });
  }
});

/** Decodes and validates a retention policy body (for the API's readJson). */
export const retentionPolicySchema: z.ZodType<RetentionPolicy> = z
  .object({
    id: goInt(),
    algorithm: goString(),
    rules: goSlice(ruleSchema),
    trigger: triggerSchema,
    scope: scopeSchema,
  })
  .superRefine((policy, ctx) => {
    if (policy.algorithm !== "or") {
      const message = policy.algorithm === "" ? "Can not be empty" : `algorithm ${policy.algorithm} is not supported`;
      ctx.addIssue({ code: "custom", path: ["algorithm"], message });
    }
    if (policy.rules.length > MAX_RETENTION_RULES) {
      ctx.addIssue({ code: "custom", path: ["rules"], message: "only 15 rules are allowed at most" });
    }
  });

/** Harbor's checkRuleConflict: the message of its 409 when two rules are equal but for their ids. */
export function ruleConflict(policy: RetentionPolicy): string | undefined {
  const seen = new Map<string, number>();
  for (const [index, rule] of policy.rules.entries()) {
    const key = canonicalJson({ ...rule, id: 0 });
    const earlier = seen.get(key);
    if (earlier !== undefined) return `rule ${index} is conflict with rule ${earlier}`;
    seen.set(key, index);
  }
  return undefined;
}

/** JSON with object keys sorted, as Go marshals maps; struct fields come in a fixed order anyway. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
