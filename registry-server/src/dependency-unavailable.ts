// A backend the registry cannot answer without (the metadata database, the blob storage) could
// not be reached: it is restarting, failing over, overloaded or cut off. The failure is the
// backend's and passes, so a client should retry later; it is neither the client's fault nor a
// bug. The metadata store and the storage drivers throw subclasses of this error (domain errors,
// no HTTP in them); http/app.ts alone turns it into a 503 with Retry-After, and the health checks
// report the same component.

/** The component of /api/v2.0/health the backend is reported as. */
export type Dependency = "database" | "storage";

export class DependencyUnavailableError extends Error {
  override name = "DependencyUnavailableError";
  readonly dependency: Dependency;
  /**
   * Why, in a few words fit for an unauthenticated health report: a kind and an error code
   * ("unreachable (ECONNREFUSED)", "server error 503 SlowDown"), never a host, a key or a query.
   */
  readonly reason: string;

  constructor(dependency: Dependency, reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.dependency = dependency;
    this.reason = reason;
  }
}

/** The DependencyUnavailableError behind `error`, looking through a few `cause` links. */
export function unavailableDependency(error: unknown): DependencyUnavailableError | undefined {
  let current = error;
  // Bounded: a cause chain may loop.
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof DependencyUnavailableError) return current;
    current = current.cause;
  }
  return undefined;
}
