// What went wrong in this registry, told as the endpoint contract tells it (replication-endpoint.ts):
// an UpstreamError whose kind says whether another try may succeed, the kinds a remote registry's
// answer to the same request would have. Refusals keep their own message (Harbor's quota words,
// the immutable tag, the unknown blob); a dependency that is away (the database restarting) or
// full is a server error, worth another try; an abort stays what it is.

import { DependencyUnavailableError } from "../dependency-unavailable.ts";
import { HarborError, RegistryError } from "../http/errors.ts";
import { insufficientStorage } from "../insufficient-storage.ts";
import { UpstreamError, type UpstreamFailure } from "../upstream/upstream-registry.ts";

/** The failure kind of an HTTP status, as upstream/upstream-failures.ts reads a remote's. */
function kindOfStatus(status: number): UpstreamFailure {
  if (status === 401 || status === 403) return "unauthorized";
  if (status === 429) return "rate-limited";
  if (status >= 500) return "server-error";
  return "protocol";
}

/** `error` as the endpoint contract's failure, `what` naming the operation in its message. */
export function localFailure(error: unknown, what: string, signal: AbortSignal): unknown {
  if (error instanceof UpstreamError || signal.aborted) return error;
  const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
  if (error instanceof RegistryError || error instanceof HarborError) {
    return new UpstreamError(kindOfStatus(error.status), message, { status: error.status, cause: error });
  }
  if (error instanceof DependencyUnavailableError || insufficientStorage(error)) {
    return new UpstreamError("server-error", message, { cause: error });
  }
  // Everything else here is deterministic (an immutable tag, a proxy-cache project…) or a fault
  // another try would meet again.
  return new UpstreamError("protocol", message, { cause: error });
}
