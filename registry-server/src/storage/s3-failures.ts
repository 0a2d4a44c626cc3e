// Which S3 failures mean "the storage cannot serve for now" (StorageUnavailableError, a 503 the
// client retries) rather than a refusal that will not change (a missing bucket, denied access,
// a bad request: a configuration fault or a bug, left as they are).
//
// Unavailable: the connection was refused, reset or timed out (the server is restarting, the
// network is cut), S3 answered 5xx (InternalError, ServiceUnavailable) or throttled (SlowDown,
// 429). The S3 client has already retried those a few times by the time they arrive here.
//
// Only the S3 client's own errors are classified (S3ResponseError, S3ConnectionError): a request
// body that fails while it is read (the registry's client went away, its digest did not match)
// can carry the same Node codes (ECONNRESET) and is not the storage's fault.

import { connectionFailureReason, isTransient, S3ConnectionError, S3ResponseError } from "./s3-client.ts";
import { StorageUnavailableError } from "./storage-driver.ts";

/** Why `error`, returned by the S3 client, means the storage is unavailable; undefined when it does not. */
export function s3UnavailableReason(error: unknown): string | undefined {
  if (error instanceof S3ConnectionError) return error.reason;
  if (error instanceof S3ResponseError && isTransient(error)) {
    const throttled =
      error.status === 429 || error.status === 503 || /SlowDown|Throttl|TooManyRequests/.test(error.code);
    return `${throttled ? "throttled or unavailable" : "server error"} (${error.status} ${error.code})`;
  }
  return undefined;
}

/** `error` as the driver reports it: StorageUnavailableError when S3 is unavailable, else itself. */
export function s3Failure(error: unknown): unknown {
  const reason = s3UnavailableReason(error);
  return reason === undefined ? error : new StorageUnavailableError(reason, { cause: error });
}

/**
 * `error` from reading an S3 response's body: the connection cut midway is the storage's
 * failure (the response's stream reports it with Node's code, nothing more).
 */
export function s3BodyFailure(error: unknown): unknown {
  const reason = connectionFailureReason(error);
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
