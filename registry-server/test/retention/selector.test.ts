// Harbor's doublestar selector: what matches / excludes / repoMatches / repoExcludes select, the
// untagged flag and its `extras` as Go decodes them, and the failures Harbor's index reports.

import { describe, expect, it } from "vitest";
import {
  SelectorError,
  selectsRepository,
  selectsTags,
  untaggedFlag,
  type Selector,
} from "../../src/retention/selector.ts";

const selector = (decoration: string, pattern: string, kind = "doublestar"): Selector => ({
  kind,
  decoration,
  pattern,
});

describe("untaggedFlag", () => {
  it.each([
    ["matches", "", true],
    ["excludes", "", false],
    ["matches", '{"untagged":false}', false],
    ["matches", '{"untagged":true}', true],
    ["excludes", '{"untagged":true}', true],
    ["excludes", '{"untagged":false}', false],
    // Go's zero value when the key is absent or null, or the document is null
    ["matches", "{}", false],
    ["matches", '{"untagged":null}', false],
    ["matches", "null", false],
    ["matches", '{"untagged":true,"other":1}', true],
    // Go matches keys case-insensitively
    ["matches", '{"Untagged":false}', false],
    // Unmarshal errors keep the default
    ["matches", "not json", true],
    ["excludes", "not json", false],
    ["matches", '{"untagged":"false"}', true],
    ["matches", "[false]", true],
    ["matches", "false", true],
  ])("%s with extras %j: %s", (decoration, extras, expected) => {
    expect(untaggedFlag(decoration, extras)).toBe(expected);
  });
});

describe("selectsTags", () => {
  it.each([
    ["matches", "v*", true, ["v1"], true],
    ["matches", "v*", true, ["latest"], false],
    ["matches", "v*", true, ["latest", "v2"], true],
    ["matches", "v*", true, [], true],
    ["matches", "v*", false, [], false],
    ["matches", "{v1,v2}", false, ["v2"], true],
    // excludes passes an artifact when any of its tags escapes the pattern
    ["excludes", "v*", false, ["v1"], false],
    ["excludes", "v*", false, ["latest"], true],
    ["excludes", "v*", false, ["v1", "latest"], true],
    ["excludes", "v*", false, ["v1", "v2"], false],
    ["excludes", "v*", false, [], true],
    ["excludes", "v*", true, [], false],
  ])("%s %j (untagged %s) on %j: %s", (decoration, pattern, untagged, tags, expected) => {
    expect(selectsTags(selector(decoration, pattern), untagged, tags)).toBe(expected);
  });

  it.each([
    [selector("repoMatches", "**"), "decoration repoMatches of selector doublestar is not supported"],
    [selector("nsMatches", "**"), "decoration nsMatches of selector doublestar is not supported"],
    [selector("matches", "**", "regexp"), "selector regexp is not registered"],
    [selector("matches", "[v"), 'syntax error in pattern "[v"'],
  ])("fails like Harbor on %j", (bad, message) => {
    expect(() => selectsTags(bad, true, ["v1"])).toThrow(new SelectorError(message));
  });
});

describe("selectsRepository", () => {
  it.each([
    ["repoMatches", "team/*", "team/app", true],
    ["repoMatches", "team/*", "team/app/web", false],
    ["repoMatches", "**", "team/app/web", true],
    ["repoMatches", "{nginx,redis}", "nginx", true],
    ["repoExcludes", "team/*", "team/app", false],
    ["repoExcludes", "team/*", "other", true],
    ["repoExcludes", "**", "anything", false],
  ])("%s %j on %j: %s", (decoration, pattern, repository, expected) => {
    expect(selectsRepository(selector(decoration, pattern), repository)).toBe(expected);
  });

  it("refuses a tag decoration in a repository selector", () => {
    expect(() => selectsRepository(selector("matches", "**"), "app")).toThrow(SelectorError);
  });
});
