// How an upstream failure reaches a client that finds nothing cached: in the OCI error format,
// saying which upstream failed and how, never with the upstream's own error text (which may
// echo URLs with tokens). A rate-limited upstream passes its Retry-After on.

import { RegistryError } from "../http/errors.ts";
import { UpstreamError, type UpstreamFailure } from "../upstream/upstream-registry.ts";

const DESCRIPTIONS: Record<UpstreamFailure, string> = {
  unreachable: "cannot be reached",
  timeout: "did not answer in time",
  unauthorized: "refused our credentials",
  "rate-limited": "is rate limiting us",
  "server-error": "answered with a server error",
  protocol: "sent an invalid answer",
};

export function failureOf(err: unknown): UpstreamFailure {
  return err instanceof UpstreamError ? err.kind : "protocol";
}

/** The client's error when `what` is not cached and the upstream failed with `err`. */
export function uncachedFailure(upstreamName: string, what: string, err: unknown): RegistryError {
  const kind = failureOf(err);
  const message = `upstream registry ${upstreamName} ${DESCRIPTIONS[kind]}, and ${what} is not cached`;
  if (kind === "rate-limited") {
    const retryAfter = err instanceof UpstreamError ? err.retryAfterSeconds : undefined;
    return new RegistryError("TOOMANYREQUESTS", message, {
      ...(retryAfter !== undefined && { headers: { "Retry-After": String(retryAfter) } }),
    });
  }
  return new RegistryError("UNAVAILABLE", message);
}
