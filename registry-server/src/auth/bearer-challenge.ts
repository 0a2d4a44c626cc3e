// The `WWW-Authenticate: Bearer …` challenge that sends Docker clients to the token endpoint, and
// the token endpoint's URL as seen by the client.

import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { AccessEntry } from "./access-scope.ts";
import { formatScope } from "./access-scope.ts";

export const TOKEN_PATH = "/service/token";

export interface BearerChallengeOptions {
  /** The token endpoint's absolute URL. */
  realm: string;
  /** The registry's service name; clients pass it back to the token endpoint. */
  service: string;
  /** What the request needed; tells the client which scopes to ask for. */
  scopes: AccessEntry[];
  error?: "insufficient_scope" | "invalid_token";
}

// A host name, IPv4 address or bracketed IPv6 address, with an optional port.
const HOST_PATTERN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;

/** An RFC 7230 quoted-string; control characters cannot be quoted, so they are dropped. */
function quoted(value: string): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return `"${value.replace(/[\u0000-\u001f\u007f]/g, "").replace(/["\\]/g, "\\$&")}"`;
}

export function bearerChallenge(options: BearerChallengeOptions): string {
  const params = [`realm=${quoted(options.realm)}`, `service=${quoted(options.service)}`];
  if (options.scopes.length > 0) params.push(`scope=${quoted(options.scopes.map(formatScope).join(" "))}`);
  if (options.error) params.push(`error=${quoted(options.error)}`);
  return `Bearer ${params.join(",")}`;
}

function validHost(host: string | undefined): host is string {
  if (host === undefined) return false;
  const match = HOST_PATTERN.exec(host);
  return match !== null && (match[1] === undefined || Number(match[1]) <= 65535);
}

/**
 * The token endpoint's URL: the configured realm, or this server as the client reached it (the
 * `Host` header, else the socket's local address). Behind a proxy that rewrites the scheme or
 * host, configure the realm.
 */
export function tokenRealm(req: IncomingMessage, configuredRealm?: string): string {
  if (configuredRealm) return configuredRealm;
  const scheme = (req.socket as Partial<TLSSocket>).encrypted === true ? "https" : "http";
  const host = req.headers.host;
  if (validHost(host)) return `${scheme}://${host}${TOKEN_PATH}`;
  const address = req.socket.localAddress ?? "localhost";
  // IPv6 goes in brackets, with a zone's `%` escaped as URLs require.
  const hostname = address.includes(":") ? `[${address.replace("%", "%25")}]` : address;
  const port = req.socket.localPort;
  return `${scheme}://${hostname}${port === undefined ? "" : `:${port}`}${TOKEN_PATH}`;
}
