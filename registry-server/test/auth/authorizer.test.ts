import { describe, expect, it } from "vitest";
import { parseScopes } from "../../src/auth/access-scope.ts";
import type { Principal } from "../../src/auth/admin-authenticator.ts";
import { AdminOnlyAuthorizer, grantEntry } from "../../src/auth/authorizer.ts";

const admin: Principal = { username: "admin", kind: "admin" };

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

describe("AdminOnlyAuthorizer", () => {
  const authorizer = new AdminOnlyAuthorizer();
  const requested = parseScopes(["repository:library/nginx:pull,push", "registry:catalog:*", "repository:p/r:*"]);

  it("grants the admin everything asked", async () => {
    expect(await authorizer.authorize(admin, requested)).toEqual([
      { type: "repository", name: "library/nginx", actions: ["pull", "push"] },
      { type: "registry", name: "catalog", actions: ["*"] },
      { type: "repository", name: "p/r", actions: ["pull", "push", "delete"] },
    ]);
  });

  it("grants nothing for unknown types or actions, even to the admin", async () => {
    expect(await authorizer.authorize(admin, parseScopes(["thing:x:pull", "repository:p/r:fly"]))).toEqual([]);
  });

  it("grants anonymous nothing", async () => {
    expect(await authorizer.authorize(undefined, requested)).toEqual([]);
  });

  it("does not alias the requested entries", async () => {
    const [granted] = await authorizer.authorize(admin, requested);
    granted!.actions.push("delete");
    expect(requested[0]!.actions).toEqual(["pull", "push"]);
  });
});
