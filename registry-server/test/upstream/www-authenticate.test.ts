// Parsing registries' challenges and Retry-After, as Docker Hub, Distribution and our server
// send them.

import { describe, expect, it } from "vitest";
import { retryAfterSeconds } from "../../src/upstream/upstream-failures.ts";
import { parseChallenges } from "../../src/upstream/www-authenticate.ts";

describe("WWW-Authenticate", () => {
  it("reads a Docker Hub bearer challenge", () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      ),
    ).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/nginx:pull",
        },
      },
    ]);
  });

  it("reads several challenges in one header or in several, with escapes and bare tokens", () => {
    expect(
      parseChallenges('Basic realm="Registry \\"Realm\\"", Bearer realm=https://t.example/token, error=x'),
    ).toEqual([
      { scheme: "basic", params: { realm: 'Registry "Realm"' } },
      { scheme: "bearer", params: { realm: "https://t.example/token", error: "x" } },
    ]);
    expect(parseChallenges(['Basic realm="a"', "Negotiate"]).map((c) => c.scheme)).toEqual(["basic", "negotiate"]);
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges("")).toEqual([]);
  });
});

describe("Retry-After", () => {
  it("reads seconds and HTTP dates", () => {
    expect(retryAfterSeconds("120")).toBe(120);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterSeconds("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30);
    expect(retryAfterSeconds("soon")).toBeUndefined();
    expect(retryAfterSeconds(undefined)).toBeUndefined();
  });
});
