// A backend the registry writes to has no room left: the disk under the blob storage or under the
// metadata database is full, or a filesystem quota is reached. Unlike an outage
// (dependency-unavailable.ts) it does not pass by itself within seconds: someone must free space
// or grow the volume, so clients are not asked to retry soon. The storage drivers and the metadata
// store throw subclasses of this error (domain errors, no HTTP in them); http/app.ts alone turns
// it into 507 Insufficient Storage, and the storage health check reports the same condition.

import type { Dependency } from "./dependency-unavailable.ts";

export class InsufficientStorageError extends Error {
  override name = "InsufficientStorageError";
  readonly dependency: Dependency;
  /** The system's words and code, fit for a public health report: "no space left (ENOSPC)". */
  readonly reason: string;

  constructor(dependency: Dependency, reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.dependency = dependency;
    this.reason = reason;
  }
}

/** The InsufficientStorageError behind `error`, looking through a few `cause` links. */
export function insufficientStorage(error: unknown): InsufficientStorageError | undefined {
  let current = error;
  // Bounded: a cause chain may loop.
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof InsufficientStorageError) return current;
    current = current.cause;
  }
  return undefined;
}
