// Which upstream requests go through the corporate egress proxy: the same decision the server
// makes (registry-server/src/upstream/egress-proxy.ts), so that the firewall rules open exactly
// the path the server takes: `httpsProxy` for https:// upstreams, `httpProxy` for http:// ones,
// unless `noProxy` lists the host (curl's grammar: "*", a name and its subdomains, ".domain",
// an IP address or a CIDR range, optionally with ":port").

import { BlockList, isIP } from "node:net";

/** The egress settings of the server (`airlock:upstream`). */
export interface EgressProxySettings {
  /** Proxy for http:// upstreams. */
  httpProxy?: string;
  /** Proxy for https:// upstreams. */
  httpsProxy?: string;
  /** Hosts reached without the proxy (curl's grammar: names, .domains, IPs, CIDRs, *). */
  noProxy?: string;
}

/** The port of a URL, its scheme's when it names none. */
export function defaultPort(url: URL): number {
  if (url.port !== "") return Number(url.port);
  return url.protocol === "https:" ? 443 : 80;
}

/**
 * Whether `noProxy` sends a request for host:port around the proxy. The same grammar as the
 * server's (registry-server/src/upstream/egress-proxy.ts), so the rules open the path the server
 * takes; IP and CIDR entries only match hosts written as addresses, as there.
 */
export function bypassesProxy(host: string, port: number, noProxy: string | undefined): boolean {
  const target = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return (noProxy ?? "")
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((raw) => {
      let entry = raw.trim().toLowerCase();
      if (entry === "*") return true;
      const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
      const withPort = /^([^:]+):(\d+)$/.exec(entry);
      const entryPort = bracketed ? bracketed[2] : withPort?.[2];
      entry = bracketed?.[1] ?? withPort?.[1] ?? entry;
      if (entryPort !== undefined && Number(entryPort) !== port) return false;
      if (entry.includes("/")) return cidrContains(entry, target);
      if (isIP(entry) !== 0) return target === entry;
      if (entry.startsWith("*.")) entry = entry.slice(1);
      if (entry.startsWith(".")) return target.endsWith(entry);
      return target === entry || target.endsWith(`.${entry}`);
    });
}

function cidrContains(cidr: string, address: string): boolean {
  const [network = "", prefix = ""] = cidr.split("/");
  const family = isIP(network) === 6 ? "ipv6" : "ipv4";
  if (isIP(network) === 0 || isIP(address) === 0) return false;
  const list = new BlockList();
  try {
    list.addSubnet(network, Number(prefix), family);
  } catch {
    return false; // an impossible prefix length: the entry is ignored, as the server does
  }
  return list.check(address, isIP(address) === 6 ? "ipv6" : "ipv4");
}

/** The proxy URL an upstream goes through, or undefined when it is reached directly. */
export function proxyForUpstream(url: URL, egress: EgressProxySettings): string | undefined {
  const proxy = url.protocol === "https:" ? egress.httpsProxy : egress.httpProxy;
  if (!proxy) return undefined;
  return bypassesProxy(url.hostname, defaultPort(url), egress.noProxy) ? undefined : proxy;
}
