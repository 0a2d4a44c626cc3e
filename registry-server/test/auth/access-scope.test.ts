import { describe, expect, it } from "vitest";
import { allows, expandActions, formatScope, parseScopes, repositoryProject } from "../../src/auth/access-scope.ts";

describe("parseScopes", () => {
  it("parses a repository scope with several actions", () => {
    expect(parseScopes(["repository:library/nginx:pull,push"])).toEqual([
      { type: "repository", name: "library/nginx", actions: ["pull", "push"] },
    ]);
  });

  it("parses several scopes in one value and across values", () => {
    expect(parseScopes(["repository:a/b:pull registry:catalog:*", "repository:c/d:delete"])).toEqual([
      { type: "repository", name: "a/b", actions: ["pull"] },
      { type: "registry", name: "catalog", actions: ["*"] },
      { type: "repository", name: "c/d", actions: ["delete"] },
    ]);
  });

  it("tolerates a resource class suffix on the type", () => {
    expect(parseScopes(["repository(plugin):team/tool:pull"])).toEqual([
      { type: "repository", name: "team/tool", actions: ["pull"] },
    ]);
  });

  it("accepts names with dots, underscores, dashes and deep paths", () => {
    const name = "my-project/sub.group/image_name/x--y__z";
    expect(parseScopes([`repository:${name}:pull`])).toEqual([{ type: "repository", name, actions: ["pull"] }]);
  });

  it("merges duplicate resources and duplicate actions", () => {
    expect(parseScopes(["repository:p/r:pull,pull", "repository:p/r:push,pull", "repository:p/other:pull"])).toEqual([
      { type: "repository", name: "p/r", actions: ["pull", "push"] },
      { type: "repository", name: "p/other", actions: ["pull"] },
    ]);
  });

  it("ignores extra whitespace and empty actions", () => {
    expect(parseScopes(["  repository:p/r:pull,,push  ", ""])).toEqual([
      { type: "repository", name: "p/r", actions: ["pull", "push"] },
    ]);
  });

  it("drops malformed entries and keeps the good ones", () => {
    const malformed = [
      "repository",
      "repository:p/r",
      "repository:p/r:",
      ":p/r:pull",
      "repository::pull",
      "Repository:p/r:pull",
      "repository:P/R:pull",
      "repository:p//r:pull",
      "repository:/p/r:pull",
      "repository:p/r/:pull",
      "repository:p/-r:pull",
      "repository:p/r:PULL",
      "repository:p/r:pull;rm",
      "repository:p/r:pu*ll",
      "repository(:p/r:pull",
      "repository:host:5000/p/r:pull",
      `repository:${"a".repeat(256)}:pull`,
    ];
    expect(parseScopes([...malformed, "repository:ok/fine:pull"])).toEqual([
      { type: "repository", name: "ok/fine", actions: ["pull"] },
    ]);
  });

  it("returns nothing for no values", () => {
    expect(parseScopes([])).toEqual([]);
  });
});

describe("scope helpers", () => {
  it("formats an entry back into a scope string", () => {
    const entry = { type: "repository", name: "library/nginx", actions: ["pull", "push"] };
    expect(formatScope(entry)).toBe("repository:library/nginx:pull,push");
    expect(parseScopes([formatScope(entry)])).toEqual([entry]);
  });

  it("expands the wildcard to the actions of the type and drops unknown ones", () => {
    expect(expandActions("repository", ["*"])).toEqual(["pull", "push", "delete"]);
    expect(expandActions("repository", ["push", "fly", "pull"])).toEqual(["pull", "push"]);
    expect(expandActions("registry", ["*"])).toEqual(["*"]);
    expect(expandActions("registry", ["pull"])).toEqual([]);
    expect(expandActions("unknown", ["*"])).toEqual([]);
  });

  it("splits a repository name into its project and the rest", () => {
    expect(repositoryProject("library/nginx")).toEqual({ project: "library", repository: "nginx" });
    expect(repositoryProject("team/a/b")).toEqual({ project: "team", repository: "a/b" });
    expect(repositoryProject("nginx")).toBeUndefined();
  });

  it("checks granted access, the wildcard granting every action", () => {
    const granted = [
      { type: "repository", name: "p/r", actions: ["pull"] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ];
    expect(allows(granted, "repository", "p/r", "pull")).toBe(true);
    expect(allows(granted, "repository", "p/r", "push")).toBe(false);
    expect(allows(granted, "repository", "p/other", "pull")).toBe(false);
    expect(allows(granted, "registry", "catalog", "*")).toBe(true);
  });

  it("knows Harbor's scanner-pull, which the wildcard does not stand for", () => {
    expect(parseScopes(["repository:p/r:pull,scanner-pull"])).toEqual([
      { type: "repository", name: "p/r", actions: ["pull", "scanner-pull"] },
    ]);
    expect(expandActions("repository", ["scanner-pull", "pull"])).toEqual(["pull", "scanner-pull"]);
    expect(expandActions("repository", ["*"])).not.toContain("scanner-pull");
    expect(expandActions("repository", ["*", "scanner-pull"])).toEqual(["pull", "push", "delete", "scanner-pull"]);
    const everything = [{ type: "repository", name: "p/r", actions: ["*"] }];
    expect(allows(everything, "repository", "p/r", "delete")).toBe(true);
    expect(allows(everything, "repository", "p/r", "scanner-pull")).toBe(false);
    const scanner = [{ type: "repository", name: "p/r", actions: ["pull", "scanner-pull"] }];
    expect(allows(scanner, "repository", "p/r", "scanner-pull")).toBe(true);
  });
});
