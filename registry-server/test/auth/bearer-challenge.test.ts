import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { bearerChallenge, tokenRealm } from "../../src/auth/bearer-challenge.ts";

function fakeRequest(options: {
  host?: string;
  encrypted?: boolean;
  localAddress?: string;
  localPort?: number;
}): IncomingMessage {
  return {
    headers: options.host === undefined ? {} : { host: options.host },
    socket: { encrypted: options.encrypted, localAddress: options.localAddress, localPort: options.localPort },
  } as unknown as IncomingMessage;
}

describe("bearerChallenge", () => {
  const realm = "https://registry.example:8443/service/token";

  it("names the realm, service and one scope", () => {
    expect(
      bearerChallenge({
        realm,
        service: "airlock",
        scopes: [{ type: "repository", name: "library/nginx", actions: ["pull"] }],
      }),
    ).toBe(`Bearer realm="${realm}",service="airlock",scope="repository:library/nginx:pull"`);
  });

  it("joins several scopes with a space and adds the error", () => {
    expect(
      bearerChallenge({
        realm,
        service: "airlock",
        scopes: [
          { type: "repository", name: "p/a", actions: ["pull", "push"] },
          { type: "repository", name: "p/b", actions: ["pull"] },
        ],
        error: "insufficient_scope",
      }),
    ).toBe(
      `Bearer realm="${realm}",service="airlock",scope="repository:p/a:pull,push repository:p/b:pull",error="insufficient_scope"`,
    );
  });

  it("leaves out an empty scope and escapes quoted values", () => {
    expect(bearerChallenge({ realm: 'a"b\\c\r\nd', service: "s", scopes: [], error: "invalid_token" })).toBe(
      'Bearer realm="a\\"b\\\\cd",service="s",error="invalid_token"',
    );
  });
});

describe("tokenRealm", () => {
  it("prefers the configured realm", () => {
    expect(tokenRealm(fakeRequest({ host: "ignored" }), "https://auth.example/token")).toBe(
      "https://auth.example/token",
    );
  });

  it("derives the realm from the Host header and the socket's TLS", () => {
    expect(tokenRealm(fakeRequest({ host: "registry.example:5000", encrypted: true }))).toBe(
      "https://registry.example:5000/service/token",
    );
    expect(tokenRealm(fakeRequest({ host: "localhost" }))).toBe("http://localhost/service/token");
    expect(tokenRealm(fakeRequest({ host: "[::1]:8080" }))).toBe("http://[::1]:8080/service/token");
    expect(tokenRealm(fakeRequest({ host: "10.0.0.7:443", encrypted: true }))).toBe(
      "https://10.0.0.7:443/service/token",
    );
  });

  it("falls back to the local address for a missing or malformed Host", () => {
    const local = { localAddress: "127.0.0.1", localPort: 5000 };
    for (const host of [undefined, "", "evil.example/path", 'a"b', "a b", "host:99999", "host:", "-bad.example"]) {
      expect(tokenRealm(fakeRequest({ ...local, ...(host !== undefined && { host }) }))).toBe(
        "http://127.0.0.1:5000/service/token",
      );
    }
    expect(tokenRealm(fakeRequest({ localAddress: "::1", localPort: 443, encrypted: true }))).toBe(
      "https://[::1]:443/service/token",
    );
  });
});
