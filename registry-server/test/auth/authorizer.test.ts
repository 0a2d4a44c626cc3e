import { describe, expect, it } from "vitest";
import { parseScopes } from "../../src/auth/access-scope.ts";
import { grantEntry } from "../../src/auth/authorizer.ts";

describe("grantEntry", () => {
  it("intersects the requested actions with the held ones", () => {
    const [entry] = parseScopes(["repository:p/r:pull,push"]);
    expect(grantEntry(entry!, ["pull", "delete"])).toEqual({ type: "repository", name: "p/r", actions: ["pull"] });
    expect(grantEntry(entry!, ["delete"])).toBeUndefined();
  });

  it("expands the wildcard on both sides", () => {
    const [all] = parseScopes(["repository:p/r:*"]);
    expect(grantEntry(all!, ["pull"])).toEqual({ type: "repository", name: "p/r", actions: ["pull"] });
    expect(grantEntry(all!, ["*"])).toEqual({ type: "repository", name: "p/r", actions: ["pull", "push", "delete"] });
  });
});
