// A retention policy body decoded as Harbor decodes it: the portal's own payload, normalised with
// Go's zero values and without unknown keys; Harbor's refusals, each naming the field at fault;
// the 409 of two equal rules.

import { describe, expect, it } from "vitest";
import {
  retentionPolicySchema,
  ruleConflict,
  type RetentionPolicy,
  type RetentionRule,
} from "../../src/retention/retention-policy.ts";

/** What Harbor's portal posts for "retain the 10 most recently pushed, untagged included". */
function portalPolicy(): Record<string, unknown> {
  return {
    algorithm: "or",
    rules: [
      {
        disabled: false,
        action: "retain",
        scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] },
        tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "**", extras: '{"untagged":true}' }],
        params: { latestPushedK: 10 },
        template: "latestPushedK",
      },
    ],
    trigger: { kind: "Schedule", references: {}, settings: { cron: "" } },
    scope: { level: "project", ref: 1 },
  };
}

function parse(body: unknown) {
  return retentionPolicySchema.safeParse(body);
}

/** The portal policy with `change` applied to a copy. */
function withChange(change: (body: Record<string, unknown>, rule: Record<string, unknown>) => void): unknown {
  const body = portalPolicy();
  const rule = (body["rules"] as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
  change(body, rule);
  return body;
}

describe("retentionPolicySchema", () => {
  it("decodes the portal's policy into Harbor's stored shape", () => {
    const result = parse(portalPolicy());
    expect(result.success).toBe(true);
    expect(result.data).toEqual({
      id: 0,
      algorithm: "or",
      rules: [
        {
          id: 0,
          priority: 0,
          disabled: false,
          action: "retain",
          template: "latestPushedK",
          params: { latestPushedK: 10 },
          tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "**", extras: '{"untagged":true}' }],
          scope_selectors: {
            repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**", extras: "" }],
          },
        },
      ],
      trigger: { kind: "Schedule", settings: { cron: "" } },
      scope: { level: "project", ref: 1 },
    } satisfies RetentionPolicy);
  });

  it("ignores unknown keys at every level and reads null as Go's zero value", () => {
    const body = withChange((policy, rule) => {
      policy["id"] = null;
      policy["owner"] = "someone";
      rule["id"] = null;
      rule["priority"] = null;
      rule["disabled"] = null;
      rule["comment"] = { free: "form" };
      (rule["tag_selectors"] as Array<Record<string, unknown>>)[0] = {
        kind: "doublestar",
        decoration: "excludes",
        pattern: "dev-*",
        extras: null,
        label: "x",
      };
      policy["trigger"] = { kind: "Schedule", settings: { cron: "0 0 0 * * *", timezone: "UTC" }, references: null };
      policy["scope"] = { level: "project", ref: 7, name: "library" };
    });
    const result = parse(body);
    expect(result.error?.issues).toBeUndefined();
    const policy = result.data as RetentionPolicy;
    expect(policy.id).toBe(0);
    expect(policy).not.toHaveProperty("owner");
    const rule = policy.rules[0] as RetentionRule;
    expect(rule).toMatchObject({ id: 0, priority: 0, disabled: false });
    expect(rule).not.toHaveProperty("comment");
    expect(rule.tag_selectors).toEqual([{ kind: "doublestar", decoration: "excludes", pattern: "dev-*", extras: "" }]);
    // settings is Harbor's free-form map: everything in it is kept
    expect(policy.trigger).toEqual({ kind: "Schedule", settings: { cron: "0 0 0 * * *", timezone: "UTC" } });
    expect(policy.scope).toEqual({ level: "project", ref: 7 });
  });

  it("accepts a policy without rules, and null rules, as Harbor does", () => {
    expect(parse(withChange((policy) => (policy["rules"] = []))).data?.rules).toEqual([]);
    expect(parse(withChange((policy) => (policy["rules"] = null))).data?.rules).toEqual([]);
  });

  it("accepts 15 rules and a disabled one", () => {
    const rules = Array.from({ length: 15 }, (_, i) => ({
      ...rulesOf(portalPolicy())[0],
      priority: i,
      disabled: i === 3,
    }));
    const result = parse({ ...portalPolicy(), rules });
    expect(result.data?.rules).toHaveLength(15);
    expect(result.data?.rules[3]?.disabled).toBe(true);
  });

  it.each<[string, (policy: Record<string, unknown>, rule: Record<string, unknown>) => void, string, string]>([
    ["wrong algorithm", (p) => (p["algorithm"] = "and"), "algorithm", "algorithm and is not supported"],
    ["no algorithm", (p) => delete p["algorithm"], "algorithm", "Can not be empty"],
    ["16 rules", (p) => (p["rules"] = sixteenRules()), "rules", "only 15 rules are allowed at most"],
    [
      "unknown template",
      (_, r) => (r["template"] = "latestPushedX"),
      "rules.0.template",
      "rule evaluator latestPushedX is not registered",
    ],
    ["empty template", (_, r) => (r["template"] = ""), "rules.0.template", "empty rule template ID"],
    [
      "param missing",
      (_, r) => (r["params"] = {}),
      "rules.0.params.latestPushedK",
      "missing required parameter latestPushedK for rule latestPushedK",
    ],
    [
      "params null",
      (_, r) => (r["params"] = null),
      "rules.0.params.latestPushedK",
      "missing required parameter latestPushedK for rule latestPushedK",
    ],
    [
      "param a string",
      (_, r) => (r["params"] = { latestPushedK: "10" }),
      "rules.0.params.latestPushedK",
      "latestPushedK type error",
    ],
    [
      "param negative",
      (_, r) => (r["params"] = { latestPushedK: -1 }),
      "rules.0.params.latestPushedK",
      "latestPushedK is less than zero",
    ],
    [
      "param too large",
      (_, r) => (r["params"] = { latestPushedK: 40_000 }),
      "rules.0.params.latestPushedK",
      "latestPushedK is too large",
    ],
    [
      "days under another template's key",
      (_, r) => ((r["template"] = "nDaysSinceLastPull"), (r["params"] = { latestPushedK: 7 })),
      "rules.0.params.nDaysSinceLastPull",
      "missing required parameter nDaysSinceLastPull for rule nDaysSinceLastPull",
    ],
    ["another action", (_, r) => (r["action"] = "delete"), "rules.0.action", "action delete is not supported"],
    ["no action", (_, r) => delete r["action"], "rules.0.action", "Can not be empty"],
    ["no tag selector", (_, r) => (r["tag_selectors"] = []), "rules.0.tag_selectors", "Can not be empty"],
    [
      "tag selector with a repository decoration",
      (_, r) => (r["tag_selectors"] = [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }]),
      "rules.0.tag_selectors.0.decoration",
      "decoration repoMatches of selector doublestar is not supported",
    ],
    [
      "repository selector with a tag decoration",
      (_, r) => (r["scope_selectors"] = { repository: [{ kind: "doublestar", decoration: "matches", pattern: "**" }] }),
      "rules.0.scope_selectors.repository.0.decoration",
      "decoration matches of selector doublestar is not supported",
    ],
    [
      "selector of another kind",
      (_, r) => (r["tag_selectors"] = [{ kind: "regexp", decoration: "matches", pattern: ".*" }]),
      "rules.0.tag_selectors.0.kind",
      "selector regexp is not registered",
    ],
    [
      "blank pattern",
      (_, r) => (r["tag_selectors"] = [{ kind: "doublestar", decoration: "matches", pattern: " " }]),
      "rules.0.tag_selectors.0.pattern",
      "Can not be empty",
    ],
    [
      "malformed pattern",
      (_, r) => (r["tag_selectors"] = [{ kind: "doublestar", decoration: "matches", pattern: "v[0-9" }]),
      "rules.0.tag_selectors.0.pattern",
      'syntax error in pattern "v[0-9"',
    ],
    ["rule id a string", (_, r) => (r["id"] = "1"), "rules.0.id", "Invalid input: expected number, received string"],
    [
      "priority a fraction",
      (_, r) => (r["priority"] = 1.5),
      "rules.0.priority",
      "Invalid input: expected int, received number",
    ],
    ["no trigger", (p) => delete p["trigger"], "trigger", "Can not be empty"],
    ["trigger null", (p) => (p["trigger"] = null), "trigger", "Can not be empty"],
    [
      "another trigger kind",
      (p) => (p["trigger"] = { kind: "Event", settings: {} }),
      "trigger.kind",
      "not support Trigger Event",
    ],
    [
      "schedule without cron",
      (p) => (p["trigger"] = { kind: "Schedule", settings: {} }),
      "trigger.settings.cron",
      "Can not be empty",
    ],
    [
      "cron not a string",
      (p) => (p["trigger"] = { kind: "Schedule", settings: { cron: 5 } }),
      "trigger.settings.cron",
      "cron must be a string",
    ],
    ["no scope", (p) => delete p["scope"], "scope", "Can not be empty"],
    ["system scope", (p) => (p["scope"] = { level: "system", ref: 0 }), "scope.level", "scope system is not support"],
    ["project 0", (p) => (p["scope"] = { level: "project", ref: 0 }), "scope.ref", "invalid Project id 0"],
    [
      "project a string",
      (p) => (p["scope"] = { level: "project", ref: "1" }),
      "scope.ref",
      "Invalid input: expected number, received string",
    ],
  ])("refuses %s", (_, change, path, message) => {
    const result = parse(withChange(change));
    expect(result.success).toBe(false);
    const issues = result.error?.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));
    expect(issues?.[0]).toEqual({ path, message });
  });

  it("refuses a body that is not an object", () => {
    expect(parse("policy").success).toBe(false);
    expect(parse(null).success).toBe(false);
  });
});

describe("ruleConflict", () => {
  it("reports two rules equal but for their ids, as Harbor's 409", () => {
    const policy = parse(portalPolicy()).data as RetentionPolicy;
    const [rule] = policy.rules as [RetentionRule];
    const reordered = { ...rule, id: 9, params: { latestPushedK: 10 } };
    expect(ruleConflict({ ...policy, rules: [rule, reordered] })).toBe("rule 1 is conflict with rule 0");
  });

  it.each<[string, Partial<RetentionRule>]>([
    ["priority", { priority: 1 }],
    ["disabled", { disabled: true }],
    ["parameter", { params: { latestPushedK: 11 } }],
  ])("does not report rules that differ by %s", (_, change) => {
    const policy = parse(portalPolicy()).data as RetentionPolicy;
    const [rule] = policy.rules as [RetentionRule];
    expect(ruleConflict({ ...policy, rules: [rule, { ...rule, ...change }] })).toBeUndefined();
  });

  it("compares maps whatever the order of their keys", () => {
    const policy = parse(portalPolicy()).data as RetentionPolicy;
    const [rule] = policy.rules as [RetentionRule];
    const a = { ...rule, params: { latestPushedK: 10, note: "x" } };
    const b = { ...rule, params: { note: "x", latestPushedK: 10 } };
    expect(ruleConflict({ ...policy, rules: [a, b] })).toBe("rule 1 is conflict with rule 0");
  });
});

function rulesOf(policy: Record<string, unknown>): Array<Record<string, unknown>> {
  return policy["rules"] as Array<Record<string, unknown>>;
}

function sixteenRules(): Array<Record<string, unknown>> {
  const [rule] = rulesOf(portalPolicy());
  return Array.from({ length: 16 }, (_, i) => ({ ...rule, priority: i }));
}
