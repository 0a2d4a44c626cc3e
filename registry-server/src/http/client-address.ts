// Who the client is, as an address: the socket's peer, unless that peer is a reverse proxy the
// configuration trusts (`http.trustedProxies`), in which case the address the proxy recorded in
// its forwarding header. Login throttling keys on it and request logs record it.
//
// A forwarding header is only as true as the hop that wrote it: a client can send any
// `X-Forwarded-For` it likes, and a proxy appends the address it saw to whatever arrived. So the
// header is read only when the peer is trusted, and from the right: each trusted hop is skipped,
// and the first address that is not a trusted proxy is the client (what the outermost trusted
// proxy saw). Only the one header the proxies write is read (`http.forwardedHeader`): ingress-nginx
// and AWS's application load balancer append to X-Forwarded-For and pass a client's `Forwarded`
// through untouched, so reading that one too would let a client pick its own address.

import type { IncomingMessage } from "node:http";
import { BlockList, isIP } from "node:net";

export type ForwardedHeader = "x-forwarded-for" | "forwarded";

export interface TrustedProxySettings {
  /** Addresses and CIDR ranges of the reverse proxies in front of the server. */
  readonly cidrs: readonly string[];
  /** The header those proxies append the client's address to. */
  readonly header: ForwardedHeader;
}

export type ClientAddressOf = (req: IncomingMessage) => string;

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, as a dual-stack socket reports IPv4 peers) as IPv4. */
export function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped?.[1] ?? address.toLowerCase();
}

/** `10.0.0.0/8`, `2001:db8::/32`, or one address (a /32 or /128); undefined when it is neither. */
export function parseCidr(text: string): { network: string; prefix: number; family: "ipv4" | "ipv6" } | undefined {
  const [network = "", prefixText, extra] = text.trim().split("/");
  const version = isIP(network);
  if (version === 0 || extra !== undefined) return undefined;
  const bits = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return undefined;
  return { network: plainAddress(network), prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/** An address from a forwarding header (`1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`, `"[::1]"`), or undefined. */
function hopAddress(token: string): string | undefined {
  let text = token.trim().replace(/^"(.*)"$/, "$1");
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed?.[1]) text = bracketed[1];
  else if (/^[\d.]+:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(":"));
  return isIP(text) === 0 ? undefined : plainAddress(text);
}

/** The hops of `X-Forwarded-For` ("client, proxy1, proxy2"), nearest last; undefined for a malformed one. */
function forwardedForHops(value: string): Array<string | undefined> {
  return value.split(",").map(hopAddress);
}

/** The `for=` hops of RFC 7239's `Forwarded` ("for=1.2.3.4;proto=https, for=\"[::1]:80\""), nearest last. */
function forwardedHops(value: string): Array<string | undefined> {
  return value.split(",").map((element) => {
    const pair = element
      .split(";")
      .map((part) => part.trim())
      .find((part) => part.toLowerCase().startsWith("for="));
    // An element without `for=`, or with `for=unknown` or an obfuscated `_name`, names no address.
    return pair === undefined ? undefined : hopAddress(pair.slice(4));
  });
}

/**
 * The function giving a request's client address. Without trusted proxies, the peer's address;
 * with them, as the header comment says. A header that cannot be read (a hop that is not an
 * address) stops the walk at the nearest trusted hop: that proxy is the last address known true.
 */
export function clientAddressResolver(settings?: TrustedProxySettings): ClientAddressOf {
  const peerOf = (req: IncomingMessage): string => plainAddress(req.socket.remoteAddress ?? "unknown");
  const cidrs = settings?.cidrs ?? [];
  if (cidrs.length === 0 || settings === undefined) return peerOf;
  const trusted = new BlockList();
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (!cidr) throw new Error(`not an address or CIDR range: ${JSON.stringify(text)}`);
    trusted.addSubnet(cidr.network, cidr.prefix, cidr.family);
  }
  const isTrusted = (address: string): boolean => {
    const version = isIP(address);
    return version !== 0 && trusted.check(address, version === 4 ? "ipv4" : "ipv6");
  };
  const header = settings.header;
  return (req) => {
    const peer = peerOf(req);
    if (!isTrusted(peer)) return peer;
    const value = req.headers[header];
    const text = Array.isArray(value) ? value.join(",") : value;
    if (text === undefined || text.trim() === "") return peer;
    const hops = header === "forwarded" ? forwardedHops(text) : forwardedForHops(text);
    let nearest = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i];
      if (hop === undefined) return nearest;
      if (!isTrusted(hop)) return hop;
      nearest = hop;
    }
    // Every hop is a trusted proxy: the request started inside the proxies' own network.
    return nearest;
  };
}
