// What a name filter says to registries that cannot list their repositories: the names it spells
// out (braces expanded, as Harbor's IsSpecificPath), or the literal text every match starts with.

import { describe, expect, it } from "vitest";
import { literalPrefix, namedRepositories } from "../../src/upstream/name-pattern.ts";

describe("name filters as repository names", () => {
  it("expands literal names and brace alternatives, and gives up on wildcards", () => {
    expect(namedRepositories("team/app")).toEqual(["team/app"]);
    expect(namedRepositories("team/{app,web}")).toEqual(["team/app", "team/web"]);
    expect(namedRepositories("{a,b}/{x,y}")).toEqual(["a/x", "a/y", "b/x", "b/y"]);
    expect(namedRepositories("team/*")).toBeUndefined();
    expect(namedRepositories("team/ap?")).toBeUndefined();
    expect(namedRepositories("team/[ab]pp")).toBeUndefined();
    expect(namedRepositories("")).toBeUndefined();
    expect(namedRepositories("team/{app")).toBeUndefined();
    expect(namedRepositories("team/{app,}")).toBeUndefined();
  });

  it("keeps the text before the first wildcard or brace", () => {
    expect(literalPrefix("team/app")).toBe("team/app");
    expect(literalPrefix("team/**")).toBe("team/");
    expect(literalPrefix("team/{a,b}")).toBe("team/");
    expect(literalPrefix("**")).toBe("");
    expect(literalPrefix("")).toBe("");
  });
});
