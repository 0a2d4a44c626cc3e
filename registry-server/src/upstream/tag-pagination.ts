// The tags list's pages: each answer's JSON (`{"name", "tags"}`, tags possibly null) and the
// `Link: <…>; rel="next"` header leading to the next page, which must stay on the registry's
// origin since the request carries its credentials.

import { UpstreamError } from "./upstream-registry.ts";

export function parseTags(body: Buffer, where: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw new UpstreamError("protocol", `${where}: tag list is not JSON`);
  }
  const tags = (json as { tags?: unknown } | null)?.tags;
  if (tags === null || tags === undefined) return [];
  if (!Array.isArray(tags) || !tags.every((t): t is string => typeof t === "string")) {
    throw new UpstreamError("protocol", `${where}: malformed tag list`);
  }
  return tags;
}

/** The `rel="next"` target of a `Link` header, on the same origin. */
export function nextPage(link: string | undefined, current: URL, where: string): URL | undefined {
  if (!link) return undefined;
  const match = /<([^>]*)>\s*;[^,]*rel="?next"?/i.exec(link);
  if (!match?.[1]) return undefined;
  const next = new URL(match[1], current);
  if (next.origin !== current.origin) throw new UpstreamError("protocol", `${where}: Link to another origin`);
  return next;
}
