// GET /retentions/metadatas answers Harbor's literal payload, and everything it offers is
// something the policy schema accepts and the evaluator runs.

import { describe, expect, it } from "vitest";
import { RETENTION_METADATA } from "../../src/retention/retention-metadata.ts";
import { retentionPolicySchema } from "../../src/retention/retention-policy.ts";
import { RULE_TEMPLATES } from "../../src/retention/rule-templates.ts";

describe("RETENTION_METADATA", () => {
  it("is Harbor's payload", () => {
    expect(JSON.parse(JSON.stringify(RETENTION_METADATA))).toEqual({
      templates: [
        {
          rule_template: "latestPushedK",
          display_text: "the most recently pushed # artifacts",
          action: "retain",
          params: [{ type: "int", unit: "COUNT", required: true }],
        },
        {
          rule_template: "latestPulledN",
          display_text: "the most recently pulled # artifacts",
          action: "retain",
          params: [{ type: "int", unit: "COUNT", required: true }],
        },
        {
          rule_template: "nDaysSinceLastPush",
          display_text: "pushed within the last # days",
          action: "retain",
          params: [{ type: "int", unit: "DAYS", required: true }],
        },
        {
          rule_template: "nDaysSinceLastPull",
          display_text: "pulled within the last # days",
          action: "retain",
          params: [{ type: "int", unit: "DAYS", required: true }],
        },
        { rule_template: "always", display_text: "always", action: "retain", params: [] },
      ],
      scope_selectors: [
        { display_text: "Repositories", kind: "doublestar", decorations: ["repoMatches", "repoExcludes"] },
      ],
      tag_selectors: [{ display_text: "Tags", kind: "doublestar", decorations: ["matches", "excludes"] }],
    });
  });

  it.each(RETENTION_METADATA.templates.map((t) => [t.rule_template, t] as const))(
    "offers %s with the unit of the registered template, and a policy using it validates",
    (id, offered) => {
      const template = RULE_TEMPLATES.get(id);
      expect(template).toBeDefined();
      expect(offered.params.map((p) => p.unit.toLowerCase())).toEqual(template?.param ? [template.param.unit] : []);
      const decorations = (kind: "scope_selectors" | "tag_selectors") =>
        RETENTION_METADATA[kind].flatMap((s) => s.decorations.map((decoration) => ({ kind: s.kind, decoration })));
      const rules = decorations("tag_selectors").flatMap((tag) =>
        decorations("scope_selectors").map((repository, i) => ({
          priority: i,
          action: offered.action,
          template: id,
          params: template?.param ? { [template.param.name]: 3 } : {},
          tag_selectors: [{ ...tag, pattern: "**" }],
          scope_selectors: { repository: [{ ...repository, pattern: "**" }] },
        })),
      );
      const result = retentionPolicySchema.safeParse({
        algorithm: "or",
        rules,
        trigger: { kind: "Schedule", settings: { cron: "" } },
        scope: { level: "project", ref: 1 },
      });
      expect(result.error?.issues).toBeUndefined();
      expect(result.data?.rules).toHaveLength(4);
    },
  );
});
