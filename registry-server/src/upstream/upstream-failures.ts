// Turns whatever went wrong talking to an upstream into an UpstreamError with its kind: transport
// errors (from Node's sockets, TLS and undici) and HTTP statuses alike. Messages name the host
// and what was asked, never a credential or a URL's query (presigned URLs carry signatures).

import { UpstreamError } from "./upstream-registry.ts";

const TIMEOUT_CODES = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
]);
const PROTOCOL_CODES = new Set(["HPE_INVALID_CONSTANT", "UND_ERR_RES_EXCEEDED_MAX_SIZE", "UND_ERR_HEADERS_OVERFLOW"]);

/** The first error `code` along the `cause` chain (undici wraps socket and TLS errors). */
function codeOf(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current !== null && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Maps a failure to reach or read from `where` ("GET registry.example/v2/"). A caller's own
 * abort is not an upstream failure: it is rethrown as it came.
 */
export function transportFailure(err: unknown, where: string, signal?: AbortSignal): Error {
  if (err instanceof UpstreamError) return err;
  if (signal?.aborted) return signal.reason instanceof Error ? signal.reason : (err as Error);
  const code = codeOf(err) ?? "";
  // undici reports a proxy's refusal of CONNECT ("Proxy response (407) !== 200") as an abort.
  const proxyRefusal = err instanceof Error && /^Proxy response \(\d+\)/.exec(err.message)?.[0];
  const detail = proxyRefusal ? `egress proxy refused the tunnel: ${proxyRefusal}` : code || String(err);
  if (TIMEOUT_CODES.has(code)) return new UpstreamError("timeout", `${where}: timed out (${code})`, { cause: err });
  if (PROTOCOL_CODES.has(code) || code.startsWith("HPE_")) {
    return new UpstreamError("protocol", `${where}: malformed HTTP answer (${code})`, { cause: err });
  }
  return new UpstreamError("unreachable", `${where}: ${detail}`, { cause: err });
}

/** `Retry-After` as seconds: a number of seconds or an HTTP date. */
export function retryAfterSeconds(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === "") return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * The error for an HTTP answer that is neither success nor "not found": 401/403 after
 * authenticating, 429 with its Retry-After, 5xx, and anything else as a protocol breach.
 */
export function statusFailure(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  where: string,
): UpstreamError {
  if (status === 401 || status === 403) {
    return new UpstreamError("unauthorized", `${where}: ${status} (credentials refused or missing)`, { status });
  }
  if (status === 429) {
    const retry = retryAfterSeconds(headers["retry-after"]);
    return new UpstreamError(
      "rate-limited",
      `${where}: 429 too many requests${retry === undefined ? "" : `, retry after ${retry} s`}`,
      { status, ...(retry !== undefined && { retryAfterSeconds: retry }) },
    );
  }
  if (status >= 500) return new UpstreamError("server-error", `${where}: ${status}`, { status });
  return new UpstreamError("protocol", `${where}: unexpected status ${status}`, { status });
}

/** "GET host/path" for messages, without the query string. */
export function describeRequest(method: string, url: URL): string {
  return `${method} ${url.host}${url.pathname}`;
}
