// Whether a project's immutable tag rules protect a tag, as Harbor's matcher decides: the first
// repository and tag selector of each enabled rule, names without the project, untagged
// artifacts never protected.

import { describe, expect, it } from "vitest";
import { isArtifactImmutable, isImmutable } from "../../src/immutability/immutable-match.ts";
import type { ImmutableRule } from "../../src/immutability/immutable-rule.ts";
import type { Selector } from "../../src/retention/selector.ts";
import { SelectorError } from "../../src/retention/selector.ts";

const sel = (decoration: string, pattern: string): Selector => ({ kind: "doublestar", decoration, pattern });

function immutableRule(
  repository: Selector[],
  tags: Selector[],
  more: Partial<Pick<ImmutableRule, "id" | "disabled">> = {},
): ImmutableRule {
  return {
    id: more.id ?? 1,
    project_id: 1,
    disabled: more.disabled ?? false,
    priority: 0,
    action: "immutable",
    template: "immutable_template",
    tag_selectors: tags,
    scope_selectors: { repository },
  };
}

// Harbor's own matcher test: release-** in redis, everything in mysql.
const HARBOR_RULES = [
  immutableRule([sel("repoMatches", "redis")], [sel("matches", "release-**")], { id: 1 }),
  immutableRule([sel("repoMatches", "mysql")], [sel("matches", "**")], { id: 2 }),
];

describe("isImmutable", () => {
  it.each([
    ["redis", "release-1.10", true],
    ["redis", "1.10", false],
    ["mysql", "9.4.8", true],
    ["hello", "world", false],
  ])("Harbor's rules: %s:%s is %s", (repository, tag, expected) => {
    expect(isImmutable(HARBOR_RULES, repository, tag)).toBe(expected);
  });

  it.each<[string, ImmutableRule, string, string, boolean]>([
    [
      "excludes protects what it does not name",
      immutableRule([sel("repoMatches", "**")], [sel("excludes", "dev-*")]),
      "app",
      "1.0",
      true,
    ],
    [
      "excludes leaves what it names",
      immutableRule([sel("repoMatches", "**")], [sel("excludes", "dev-*")]),
      "app",
      "dev-1",
      false,
    ],
    [
      "repoExcludes leaves the named repository",
      immutableRule([sel("repoExcludes", "sandbox/**")], [sel("matches", "**")]),
      "sandbox/app",
      "1.0",
      false,
    ],
    [
      "repoExcludes protects the others",
      immutableRule([sel("repoExcludes", "sandbox/**")], [sel("matches", "**")]),
      "prod/app",
      "1.0",
      true,
    ],
    [
      "`*` does not cross a slash",
      immutableRule([sel("repoMatches", "*")], [sel("matches", "**")]),
      "team/app",
      "1.0",
      false,
    ],
    [
      "`{a,b}` alternatives",
      immutableRule([sel("repoMatches", "{nginx,redis}")], [sel("matches", "{1.*,2.*}")]),
      "nginx",
      "2.4",
      true,
    ],
    [
      "a disabled rule protects nothing",
      immutableRule([sel("repoMatches", "**")], [sel("matches", "**")], { disabled: true }),
      "app",
      "1.0",
      false,
    ],
    [
      "a rule without repository selector protects nothing",
      immutableRule([], [sel("matches", "**")]),
      "app",
      "1.0",
      false,
    ],
    [
      "a rule without tag selector protects nothing",
      immutableRule([sel("repoMatches", "**")], []),
      "app",
      "1.0",
      false,
    ],
    [
      "only the first repository selector is read",
      immutableRule([sel("repoMatches", "redis"), sel("repoMatches", "mysql")], [sel("matches", "**")]),
      "mysql",
      "1.0",
      false,
    ],
    [
      "only the first tag selector is read",
      immutableRule([sel("repoMatches", "**")], [sel("matches", "release-*"), sel("matches", "stable-*")]),
      "app",
      "stable-1",
      false,
    ],
  ])("%s", (_, rule, repository, tag, expected) => {
    expect(isImmutable([rule], repository, tag)).toBe(expected);
  });

  it("throws where Harbor's matcher errs, trying rules by id", () => {
    const broken = immutableRule([sel("repoMatches", "[app")], [sel("matches", "**")], { id: 1 });
    const fine = immutableRule([sel("repoMatches", "**")], [sel("matches", "**")], { id: 2 });
    expect(() => isImmutable([fine, broken], "app", "1.0")).toThrow(SelectorError);
    expect(isImmutable([{ ...fine, id: 0 }, broken], "app", "1.0")).toBe(true);
  });
});

describe("isArtifactImmutable", () => {
  const rules = [immutableRule([sel("repoMatches", "**")], [sel("matches", "v*")])];
  const excluding = [immutableRule([sel("repoMatches", "**")], [sel("excludes", "v*")])];

  it.each<[string, readonly ImmutableRule[], string[], boolean]>([
    ["one protected tag among several", rules, ["latest", "v1"], true],
    ["no protected tag", rules, ["latest", "edge"], false],
    ["untagged under matches", rules, [], false],
    ["untagged under excludes", excluding, [], false],
    ["excludes: a tag outside the pattern", excluding, ["v1", "latest"], true],
    ["excludes: every tag inside the pattern", excluding, ["v1", "v2"], false],
  ])("%s", (_, set, tags, expected) => {
    expect(isArtifactImmutable(set, "app", tags)).toBe(expected);
  });
});
