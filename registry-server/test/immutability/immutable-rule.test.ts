// An immutable tag rule body decoded as Harbor decodes it into its model: the portal's payload,
// the keys the model drops, Go's zero values, and the refusals naming the field at fault.

import { describe, expect, it } from "vitest";
import { immutableRuleSchema, type ImmutableRule } from "../../src/immutability/immutable-rule.ts";

/** What Harbor's portal posts for "tags v* in repositories matching **". */
function portalRule(): Record<string, unknown> {
  return {
    disabled: false,
    action: "immutable",
    template: "immutable_template",
    params: {},
    tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "v*", extras: "" }],
    scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] },
  };
}

describe("immutableRuleSchema", () => {
  it("decodes the portal's rule into Harbor's model, without params or extras", () => {
    const result = immutableRuleSchema.safeParse(portalRule());
    expect(result.data).toEqual({
      id: 0,
      project_id: 0,
      disabled: false,
      priority: 0,
      action: "immutable",
      template: "immutable_template",
      tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "v*" }],
      scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] },
    } satisfies ImmutableRule);
  });

  it("ignores unknown keys and reads null as Go's zero value", () => {
    const result = immutableRuleSchema.safeParse({
      ...portalRule(),
      id: 4,
      priority: null,
      disabled: null,
      owner: "x",
      scope_selectors: null,
    });
    expect(result.error?.issues).toBeUndefined();
    expect(result.data).toMatchObject({ id: 4, priority: 0, disabled: false, scope_selectors: {} });
    expect(result.data).not.toHaveProperty("owner");
  });

  it("accepts any non-empty action and template, as Harbor does", () => {
    const result = immutableRuleSchema.safeParse({
      ...portalRule(),
      action: "immutability",
      template: "nDaysSinceLastPush",
    });
    expect(result.data).toMatchObject({ action: "immutability", template: "nDaysSinceLastPush" });
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ["no action", { action: "" }, "action", "Can not be empty"],
    ["no template", { template: null }, "template", "Can not be empty"],
    ["no tag selector", { tag_selectors: [] }, "tag_selectors", "Can not be empty"],
    [
      "another kind",
      { tag_selectors: [{ kind: "regexp", decoration: "matches", pattern: "v.*" }] },
      "tag_selectors.0.kind",
      "selector regexp is not registered",
    ],
    [
      "a repository decoration on tags",
      { tag_selectors: [{ kind: "doublestar", decoration: "repoExcludes", pattern: "**" }] },
      "tag_selectors.0.decoration",
      "decoration repoExcludes of selector doublestar is not supported",
    ],
    [
      "a tag decoration on repositories",
      { scope_selectors: { repository: [{ kind: "doublestar", decoration: "excludes", pattern: "**" }] } },
      "scope_selectors.repository.0.decoration",
      "decoration excludes of selector doublestar is not supported",
    ],
    [
      "no pattern",
      { tag_selectors: [{ kind: "doublestar", decoration: "matches" }] },
      "tag_selectors.0.pattern",
      "Can not be empty",
    ],
    [
      "a malformed pattern",
      { scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "{a,b" }] } },
      "scope_selectors.repository.0.pattern",
      'syntax error in pattern "{a,b"',
    ],
    ["a string id", { id: "3" }, "id", "Invalid input: expected number, received string"],
    [
      "a selector list that is not one",
      { tag_selectors: {} },
      "tag_selectors",
      "Invalid input: expected array, received object",
    ],
  ])("refuses %s", (_, change, path, message) => {
    const result = immutableRuleSchema.safeParse({ ...portalRule(), ...change });
    expect(result.success).toBe(false);
    const issue = result.error?.issues[0];
    expect({ path: issue?.path.join("."), message: issue?.message }).toEqual({ path, message });
  });
});
