// Which corporate proxy, if any, carries a request to an upstream: `httpProxy` for http:// URLs,
// `httpsProxy` for https:// ones, unless the host is listed in `noProxy`. The `noProxy` grammar is
// the one curl and Go accept: comma- or space-separated entries, each "*" (everything), a host
// name (that name and its subdomains), ".domain" (subdomains only), an IP address, or a CIDR
// range, optionally with ":port". Unlike Go, loopback is not bypassed implicitly: a DMZ firewall
// rule is what the proxy enforces, and the tests prove egress with upstreams on loopback.

import { BlockList, isIP } from "node:net";
import type { EgressSettings } from "./upstream-registry.ts";

interface NoProxyEntry {
  readonly matches: (host: string) => boolean;
  /** Only this port, when the entry names one. */
  readonly port: number | undefined;
}

function ipFamily(address: string): "ipv4" | "ipv6" {
  return isIP(address) === 6 ? "ipv6" : "ipv4";
}

function parseEntry(raw: string): NoProxyEntry | undefined {
  let text = raw.trim().toLowerCase();
  if (text === "") return undefined;
  if (text === "*") return { matches: () => true, port: undefined };
  let port: number | undefined;
  // "[::1]:5000", "host:5000"; a bare IPv6 address has several colons and no port.
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed?.[1]) {
    text = bracketed[1];
    port = bracketed[2] === undefined ? undefined : Number(bracketed[2]);
  } else {
    const withPort = /^([^:]+):(\d+)$/.exec(text);
    if (withPort?.[1] && withPort[2]) {
      text = withPort[1];
      port = Number(withPort[2]);
    }
  }
  const slash = text.indexOf("/");
  if (slash > 0 && isIP(text.slice(0, slash)) !== 0) {
    const network = text.slice(0, slash);
    const prefix = Number(text.slice(slash + 1));
    const list = new BlockList();
    try {
      list.addSubnet(network, prefix, ipFamily(network));
    } catch {
      return undefined; // an impossible prefix length: ignore the entry, as curl does
    }
    return { matches: (host) => isIP(host) !== 0 && list.check(host, ipFamily(host)), port };
  }
  if (isIP(text) !== 0) return { matches: (host) => host === text, port };
  if (text.startsWith("*.")) text = text.slice(1);
  if (text.startsWith(".")) {
    const suffix = text;
    return { matches: (host) => host.endsWith(suffix), port };
  }
  const name = text;
  return { matches: (host) => host === name || host.endsWith(`.${name}`), port };
}

export function parseNoProxy(noProxy: string | undefined): readonly NoProxyEntry[] {
  if (!noProxy) return [];
  return noProxy
    .split(/[\s,]+/)
    .map(parseEntry)
    .filter((entry): entry is NoProxyEntry => entry !== undefined);
}

function defaultPort(url: URL): number {
  if (url.port !== "") return Number(url.port);
  return url.protocol === "https:" ? 443 : 80;
}

/** The proxy URL to reach `url` through, or undefined to connect directly. */
export function proxyFor(url: URL, egress: EgressSettings): string | undefined {
  const proxy = url.protocol === "https:" ? egress.httpsProxy : egress.httpProxy;
  if (!proxy) return undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const port = defaultPort(url);
  const bypass = parseNoProxy(egress.noProxy).some(
    (entry) => (entry.port === undefined || entry.port === port) && entry.matches(host),
  );
  return bypass ? undefined : proxy;
}
