// Harbor's selector patterns as bmatcuk/doublestar v1 matches them: components split on "/",
// `**` only special as a whole component, `{a,b}` alternatives, classes, escapes, and the
// library's lazy syntax errors (thrown only where matching reaches them).

import { describe, expect, it } from "vitest";
import { BadPatternError, matchPattern, patternProblem } from "../../src/retention/pattern.ts";

describe("matchPattern", () => {
  it.each([
    // `*` stays within one component, `**` spans them
    ["*", "app", true],
    ["*", "team/app", false],
    ["team/*", "team/app", true],
    ["team/*", "team/app/web", false],
    ["team/**", "team/app/web", true],
    ["team/**", "team", false],
    ["**", "team/app/web", true],
    ["**/app", "app", true],
    ["**/app", "team/app", true],
    ["**/app", "team/web", false],
    // `**` inside a component acts as `*`
    ["release-**", "release-1.0", true],
    ["release-*", "release-1.0", true],
    ["release-*", "rc-1.0", false],
    ["*-prod", "2.2-your_repo-prod", true],
    ["*x", "x", true],
    // the library's end-of-name rules
    ["abc*", "abc", true],
    ["abc**", "abc", true],
    ["abc***", "abc", false],
    // single characters and classes
    ["v?.0", "v1.0", true],
    ["v?.0", "v10.0", false],
    ["[a-c]*", "beta", true],
    ["[a-c]*", "delta", false],
    ["[^a-c]*", "delta", true],
    ["[^a-c]*", "alpha", false],
    ["[\\]]", "]", true],
    // alternatives
    ["{nginx,redis}", "redis", true],
    ["{nginx,redis}", "mysql", false],
    ["v{1,2}.*", "v2.5", true],
    ["v{1,2}.*", "v3.5", false],
    ["{latest,}stable", "stable", true],
    ["{latest,}stable", "lateststable", true],
    // escapes, and Harbor's empty pattern
    ["\\*", "*", true],
    ["\\*", "a", false],
    ["", "anything/at/all", true],
    ["latest", "latest", true],
    ["latest", "Latest", false],
  ])("%j against %j is %s", (pattern, name, expected) => {
    expect(matchPattern(pattern, name)).toBe(expected);
  });

  it.each([
    ["[abc", "a"],
    ["[abc", "z"],
    ["a\\", "ab"],
    ["{a,b", "a"],
    ["[]", "a"],
    ["[z-]", "z"],
    ["[-z]", "z"],
    ["{[a,b]}", "a"],
  ])("%j against %j is a syntax error, as the library reports it", (pattern, name) => {
    expect(() => matchPattern(pattern, name)).toThrow(BadPatternError);
  });

  it.each([
    ["a[", "b"],
    ["*[", "x"],
    ["**/[", "a/b"],
  ])("%j against %j fails to match without an error (the library never reaches it or ignores it)", (pattern, name) => {
    expect(matchPattern(pattern, name)).toBe(false);
  });
});

describe("patternProblem", () => {
  it.each(["**", "release-*", "{nginx,redis}", "team/*", "[a-z]*", "[\\]]", "\\*", "v{1,2}.[0-9]"])(
    "accepts %j",
    (pattern) => {
      expect(patternProblem(pattern)).toBeUndefined();
    },
  );

  it.each(["[abc", "a[", "*[", "a\\", "{a,b", "[]", "[z-]", "{[a,b]}", "team/{a,b", "{a,b}/[", "{a,[b}"])(
    "refuses %j",
    (pattern) => {
      expect(patternProblem(pattern)).toBe(`syntax error in pattern ${JSON.stringify(pattern)}`);
    },
  );
});
