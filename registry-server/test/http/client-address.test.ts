// The client's address behind reverse proxies: the forwarding header is read only from a trusted
// peer, from the right, skipping trusted hops; only the configured header; malformed hops stop
// the walk. And the configuration that sets it: file, environment, flag, refusals.

import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { overridesFromEnvironment, parseFileConfig, resolveConfig } from "../../src/config.ts";
import { clientAddressResolver, parseCidr } from "../../src/http/client-address.ts";

function request(peer: string, headers: Record<string, string | string[]> = {}): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers } as unknown as IncomingMessage;
}

const HASH = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

describe("client address", () => {
  it("is the peer without trusted proxies, whatever the headers say", () => {
    const of = clientAddressResolver();
    expect(of(request("10.1.2.3", { "x-forwarded-for": "198.51.100.1" }))).toBe("10.1.2.3");
    expect(of(request("::ffff:10.1.2.3"))).toBe("10.1.2.3");
  });

  it("is the rightmost untrusted hop of X-Forwarded-For when the peer is a trusted proxy", () => {
    const of = clientAddressResolver({ cidrs: ["10.0.0.0/8", "fd00::/8"], header: "x-forwarded-for" });
    expect(of(request("10.0.0.5", { "x-forwarded-for": "198.51.100.1" }))).toBe("198.51.100.1");
    expect(of(request("10.0.0.5", { "x-forwarded-for": "6.6.6.6, 198.51.100.1" }))).toBe("198.51.100.1");
    expect(of(request("10.0.0.5", { "x-forwarded-for": "198.51.100.1, 10.0.0.9" }))).toBe("198.51.100.1");
    expect(of(request("::ffff:10.0.0.5", { "x-forwarded-for": "198.51.100.1:51000" }))).toBe("198.51.100.1");
    expect(of(request("fd00::1", { "x-forwarded-for": "[2001:db8::7]:443" }))).toBe("2001:db8::7");
    expect(of(request("10.0.0.5", { "x-forwarded-for": "2001:DB8::7" }))).toBe("2001:db8::7");
    // No header: the proxy itself; every hop trusted: the farthest one.
    expect(of(request("10.0.0.5"))).toBe("10.0.0.5");
    expect(of(request("10.0.0.5", { "x-forwarded-for": "10.0.0.7, 10.0.0.6" }))).toBe("10.0.0.7");
    // A hop that is no address stops at the nearest trusted one.
    expect(of(request("10.0.0.5", { "x-forwarded-for": "198.51.100.1, garbage" }))).toBe("10.0.0.5");
    expect(of(request("10.0.0.5", { "x-forwarded-for": "garbage, 10.0.0.6" }))).toBe("10.0.0.6");
    // An untrusted peer's header is ignored; the other header is never read.
    expect(of(request("192.0.2.9", { "x-forwarded-for": "198.51.100.1" }))).toBe("192.0.2.9");
    expect(of(request("10.0.0.5", { forwarded: "for=198.51.100.1" }))).toBe("10.0.0.5");
  });

  it("reads RFC 7239's Forwarded when configured to", () => {
    const of = clientAddressResolver({ cidrs: ["10.0.0.5"], header: "forwarded" });
    expect(of(request("10.0.0.5", { forwarded: "for=198.51.100.1;proto=https" }))).toBe("198.51.100.1");
    expect(of(request("10.0.0.5", { forwarded: 'for=6.6.6.6, for="[2001:db8::7]:4711";by=10.0.0.5' }))).toBe(
      "2001:db8::7",
    );
    expect(of(request("10.0.0.5", { forwarded: 'for="198.51.100.1:8080"' }))).toBe("198.51.100.1");
    expect(of(request("10.0.0.5", { forwarded: "for=unknown" }))).toBe("10.0.0.5");
    expect(of(request("10.0.0.5", { forwarded: "for=_hidden, for=198.51.100.1" }))).toBe("198.51.100.1");
    expect(of(request("10.0.0.5", { "x-forwarded-for": "198.51.100.1" }))).toBe("10.0.0.5");
  });

  it("parses addresses and ranges, and nothing else", () => {
    expect(parseCidr("10.0.0.0/8")).toEqual({ network: "10.0.0.0", prefix: 8, family: "ipv4" });
    expect(parseCidr("10.0.0.1")).toEqual({ network: "10.0.0.1", prefix: 32, family: "ipv4" });
    expect(parseCidr("2001:db8::/32")).toEqual({ network: "2001:db8::", prefix: 32, family: "ipv6" });
    for (const bad of ["10.0.0.0/33", "10.0.0/8", "host.example", "10.0.0.0/8/1", "10.0.0.0/x", ""]) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });
});

describe("trusted proxies in the configuration", () => {
  const base = { dataDir: "/d", auth: { admin: { passwordHash: HASH } } };

  it("takes http.trustedProxies and forwardedHeader from the file, AIRLOCK_TRUSTED_PROXIES and --trusted-proxies over it", () => {
    const file = parseFileConfig(
      { ...base, http: { trustedProxies: ["10.42.0.0/16"], forwardedHeader: "forwarded" } },
      "f",
    );
    expect(resolveConfig(file, {}, "/").trustedProxies).toEqual({ cidrs: ["10.42.0.0/16"], header: "forwarded" });
    const overridden = resolveConfig(
      file,
      overridesFromEnvironment({ AIRLOCK_TRUSTED_PROXIES: "10.0.1.0/24, 10.0.2.0/24" }),
      "/",
    );
    expect(overridden.trustedProxies).toEqual({ cidrs: ["10.0.1.0/24", "10.0.2.0/24"], header: "forwarded" });
    expect(resolveConfig(parseFileConfig(base, "f"), {}, "/").trustedProxies).toBeUndefined();
  });

  it("refuses what is no range and a range that trusts everyone", () => {
    expect(() => parseFileConfig({ ...base, http: { trustedProxies: ["ingress-nginx"] } }, "f")).toThrow(
      /http\.trustedProxies\.0: expected an IP address or a CIDR range/,
    );
    expect(() => parseFileConfig({ ...base, http: { trustedProxies: ["0.0.0.0/0"] } }, "f")).toThrow(
      /would trust every client/,
    );
    expect(() => resolveConfig(parseFileConfig(base, "f"), { trustedProxies: "::/0" }, "/")).toThrow(
      /would trust every client/,
    );
    expect(() => parseFileConfig({ ...base, http: { forwardedHeader: "x-real-ip" } }, "f")).toThrow(/forwardedHeader/);
  });
});
