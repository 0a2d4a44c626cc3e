// Retries of the requests a replication makes to either side, as Harbor's transfer retries a blob
// (five tries, a pause doubling from 2 s): only failures another try may cure are retried
// (the other side unreachable, timing out, failing with a 5xx, or rate-limiting us, whose
// Retry-After is honoured); a refused credential or a broken answer fails at once.

import { UpstreamError, type UpstreamFailure } from "../upstream/upstream-registry.ts";
import type { ReplicationClock } from "./replication-clock.ts";

const RETRYABLE: ReadonlySet<UpstreamFailure> = new Set(["unreachable", "timeout", "server-error", "rate-limited"]);

export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  /** The pause after the first failure; it doubles with each further one. */
  readonly baseMs: number;
  /** No pause is longer, a Retry-After included. */
  readonly maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 2_000, maxMs: 60_000 };

/** Whether another try of what failed with `error` may succeed. */
export function isRetryable(error: unknown): error is UpstreamError {
  return error instanceof UpstreamError && RETRYABLE.has(error.kind);
}

/** The pause before try `attempt + 1` after `error` ended try `attempt` (1-based). */
export function backoffMs(policy: RetryPolicy, attempt: number, error: UpstreamError): number {
  const doubling = policy.baseMs * 2 ** (attempt - 1);
  const asked = error.retryAfterSeconds === undefined ? 0 : error.retryAfterSeconds * 1000;
  return Math.min(policy.maxMs, Math.max(doubling, asked));
}

/**
 * Runs `operation` until it succeeds, fails for good, or has been tried `policy.attempts` times;
 * `onRetry` hears each pause (for the task's log). The signal ends the pauses at once.
 */
export async function withRetries<T>(
  operation: () => Promise<T>,
  what: string,
  context: {
    readonly policy: RetryPolicy;
    readonly clock: ReplicationClock;
    readonly signal: AbortSignal;
    readonly onRetry?: (line: string) => void;
  },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    context.signal.throwIfAborted();
    try {
      return await operation();
    } catch (error) {
      if (context.signal.aborted || !isRetryable(error) || attempt >= context.policy.attempts) throw error;
      const pause = backoffMs(context.policy, attempt, error);
      context.onRetry?.(
        `[WARNING] ${what} failed (${error.kind}: ${error.message}); try ${attempt + 1} of ` +
          `${context.policy.attempts} in ${(pause / 1000).toFixed(1)} s`,
      );
      await context.clock.sleep(pause, context.signal);
    }
  }
}
