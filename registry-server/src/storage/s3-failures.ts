// Which S3 failures mean "the storage cannot serve for now" (StorageUnavailableError, a 503 the
// client retries) rather than a refusal that will not change (a missing bucket, denied access,
// a bad request: a configuration fault or a bug, left as they are).
//
// Unavailable: the connection was refused, reset or timed out (the server is restarting, the
// network is cut), S3 answered 5xx (InternalError, ServiceUnavailable) or throttled (SlowDown,
// 429). The SDK has already retried those a few times by the time they arrive here.
//
// Only errors that came out of the SDK are classified (the SDK stamps `$metadata` on every error
// it returns): a request body that fails while it is read (the registry's client went away, its
// digest did not match) can carry the same Node codes (ECONNRESET) and is not the storage's fault.

import { S3ServiceException } from "@aws-sdk/client-s3";
import { StorageUnavailableError } from "./storage-driver.ts";

/** Node's errors for a peer that refuses, drops or never answers, or a name that does not resolve. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ENOTFOUND",
]);

/** S3's and compatible servers' names for "slow down", whatever the status they come with. */
const THROTTLING = new Set(["SlowDown", "Throttling", "ThrottlingException", "TooManyRequestsException"]);

function codeOf(error: unknown): unknown {
  return error !== null && typeof error === "object" ? (error as { code?: unknown }).code : undefined;
}

/** Connection-level failures: no answer came (or it was cut). */
function networkReason(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = codeOf(error);
  if (typeof code === "string" && NETWORK_CODES.has(code)) return `unreachable (${code})`;
  // The SDK's connection and socket timeouts.
  if (error.name === "TimeoutError") return "timed out";
  if (error instanceof AggregateError) {
    // Node tries every address of a name and reports them together.
    for (const inner of error.errors) {
      const reason = networkReason(inner);
      if (reason !== undefined) return reason;
    }
  }
  return undefined;
}

/** Why `error`, returned by the S3 client, means the storage is unavailable; undefined when it does not. */
export function s3UnavailableReason(error: unknown): string | undefined {
  if (error === null || typeof error !== "object" || !("$metadata" in error)) return undefined;
  if (error instanceof S3ServiceException) {
    const status = error.$metadata.httpStatusCode;
    if (THROTTLING.has(error.name) || status === 429 || status === 503) {
      return `throttled or unavailable (${status ?? "no status"} ${error.name})`;
    }
    if (status !== undefined && status >= 500) return `server error (${status} ${error.name})`;
    return undefined;
  }
  return networkReason(error);
}

/** `error` as the driver reports it: StorageUnavailableError when S3 is unavailable, else itself. */
export function s3Failure(error: unknown): unknown {
  const reason = s3UnavailableReason(error);
  return reason === undefined ? error : new StorageUnavailableError(reason, { cause: error });
}

/**
 * `error` from reading an S3 response's body: the connection cut midway is the storage's
 * failure (the SDK, done with the request, stamps nothing on it).
 */
export function s3BodyFailure(error: unknown): unknown {
  const reason = networkReason(error);
  return reason === undefined ? error : new StorageUnavailableError(`response cut: ${reason}`, { cause: error });
}

/** Runs one S3 call, its unavailability reported as StorageUnavailableError. */
export async function s3Call<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw s3Failure(error);
  }
}
