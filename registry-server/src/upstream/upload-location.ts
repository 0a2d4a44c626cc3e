// Where an upload session lives, by the distribution specification's rules: the `Location` of
// each answer (POST, PATCH, status) is the URL of the next request, relative to the request or
// absolute, and its query is part of it (Distribution signs its state there: `?_state=…`). The
// closing PUT adds `digest=` to that query and keeps the rest as the registry wrote it.

import { describeRequest } from "./upstream-failures.ts";
import { UpstreamError } from "./upstream-registry.ts";

/**
 * The session's URL from a `Location` header. It must stay on the registry's origin: the next
 * request carries the registry's credentials, which another host must not see.
 */
export function sessionUrl(location: string | undefined, request: URL, method: string): URL {
  const where = describeRequest(method, request);
  if (location === undefined || location === "") {
    throw new UpstreamError("protocol", `${where}: no Location for the upload session`);
  }
  let url: URL;
  try {
    url = new URL(location, request);
  } catch {
    throw new UpstreamError("protocol", `${where}: the upload Location is not a URL`);
  }
  if (url.origin !== request.origin) {
    throw new UpstreamError("protocol", `${where}: the upload Location leads to another origin (${url.host})`);
  }
  return url;
}

/** `url` with `digest=<digest>` appended to its query, the existing query left byte for byte. */
export function withDigest(url: URL, digest: string): URL {
  const next = new URL(url);
  const query = url.search.replace(/^\?/, "");
  const param = `digest=${encodeURIComponent(digest)}`;
  next.search = query === "" ? param : `${query}&${param}`;
  return next;
}

/**
 * How many bytes a session holds from its `Range` header ("0-<last byte>"). "0-0" is one byte or
 * none (registries write both ways), so it is read as whichever of the two `expected` is.
 */
export function receivedBytes(range: string | undefined, expected: number): number | undefined {
  const match = /^(?:bytes=)?0-(\d+)$/.exec(range?.trim() ?? "");
  if (!match?.[1]) return undefined;
  const last = Number(match[1]);
  if (last === 0) return expected === 1 ? 1 : 0;
  return last + 1;
}
