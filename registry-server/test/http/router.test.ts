// The router: which route a method and path reach, and the literal prefix that lets it skip the
// patterns a path cannot match without running them.

import { describe, expect, it } from "vitest";
import { literalPrefix, Router, type RouteMatch } from "../../src/http/router.ts";

describe("literalPrefix", () => {
  it("is the plain text after ^, up to the first group, class or optional character", () => {
    expect(literalPrefix(/^\/v2\/(?<name>.+)\/blobs\/(?<digest>[^/]+)$/)).toBe("/v2/");
    expect(literalPrefix(/^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/summary$/)).toBe("/api/v2.0/projects/");
    expect(literalPrefix(/^\/metrics$/)).toBe("/metrics");
    expect(literalPrefix(/^\/v2\/?$/)).toBe("/v2");
    expect(literalPrefix(/^\/api\/v2\.0\/usergroups\/?$/)).toBe("/api/v2.0/usergroups");
    expect(literalPrefix(/^\/ab+c/)).toBe("/ab");
    expect(literalPrefix(/^\/a\d/)).toBe("/a");
    expect(literalPrefix(/^\/x{2}/)).toBe("/");
  });

  it("is empty when the pattern is not anchored, ignores case or has a top-level alternative", () => {
    expect(literalPrefix(/\/v2\/x/)).toBe("");
    expect(literalPrefix(/^\/v2\/x/i)).toBe("");
    expect(literalPrefix(/^\/v2\/a|\/other/)).toBe("");
    expect(literalPrefix(/^\/v2\/(?:a|b)$/)).toBe("/v2/");
    expect(literalPrefix(/^\/v2\/[|]$/)).toBe("/v2/");
  });
});

describe("Router", () => {
  const handler = (): void => undefined;
  const router = new Router()
    .add("blob_get", "GET", /^\/v2\/(?<name>.+)\/blobs\/(?<digest>[^/]+)$/, handler)
    .add("blob_delete", "DELETE", /^\/v2\/(?<name>.+)\/blobs\/(?<digest>[^/]+)$/, handler)
    .add("base", "GET", /^\/v2\/?$/, handler)
    .add("alternatives", "GET", /^\/alt|\/b$/, handler)
    .add("projects", ["GET", "POST"], /^\/api\/v2\.0\/projects\/?$/, handler);
  const summary = (match: RouteMatch): unknown =>
    match.kind === "found"
      ? { name: match.name, params: match.params }
      : match.kind === "method-not-allowed"
        ? { allowed: match.allowed }
        : "not found";

  it("finds routes, their parameters, and answers HEAD with a GET route", () => {
    expect(summary(router.match("GET", "/v2/team/app/blobs/sha256:ab"))).toEqual({
      name: "blob_get",
      params: { name: "team/app", digest: "sha256:ab" },
    });
    expect(summary(router.match("HEAD", "/v2/team/app/blobs/sha256:ab"))).toMatchObject({ name: "blob_get" });
    expect(summary(router.match("DELETE", "/v2/team/app/blobs/sha256:ab"))).toMatchObject({ name: "blob_delete" });
    expect(summary(router.match("GET", "/v2"))).toMatchObject({ name: "base" });
    expect(summary(router.match("GET", "/v2/"))).toMatchObject({ name: "base" });
    expect(summary(router.match("POST", "/api/v2.0/projects"))).toMatchObject({ name: "projects" });
    // An unanchored alternative is still tried on every path.
    expect(summary(router.match("GET", "/zzz/b"))).toMatchObject({ name: "alternatives" });
  });

  it("tells a path no route has from a method no route of the path takes", () => {
    expect(summary(router.match("PUT", "/v2/team/app/blobs/sha256:ab"))).toEqual({
      allowed: ["DELETE", "GET", "HEAD"],
    });
    expect(summary(router.match("GET", "/v3/"))).toBe("not found");
    expect(summary(router.match("GET", "/api/v2.0/projectsx"))).toBe("not found");
  });

  it("runs the guards before the handler, also those added after the route", async () => {
    const seen: string[] = [];
    const guarded = new Router().add("x", "GET", /^\/x$/, () => void seen.push("handler"));
    const first = guarded.match("GET", "/x");
    guarded.guard((_ctx, route) => void seen.push(`guard ${route}`));
    const second = guarded.match("GET", "/x");
    if (first.kind !== "found" || second.kind !== "found") throw new Error("no route");
    await second.handler({} as never);
    expect(seen).toEqual(["guard x", "handler"]);
    expect(guarded.match("GET", "/x")).toMatchObject({ handler: second.handler });
  });
});
