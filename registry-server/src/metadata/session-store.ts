// The sessions area of the metadata store: the portal's signed-in browsers (auth/session-service.ts).
// Sessions live in the database, not in a process, so that every worker and every replica knows
// them, and a sign-out or a revocation counts everywhere at once.
//
// A session is known by the SHA-256 of its id, never by the id: the id is the bearer secret the
// browser holds, and a copy of the database must not let anyone sign in. The idle timeout is a
// setting that may change (`session_timeout`), so the store keeps when a session was last seen
// and the caller judges idleness; the absolute end is fixed at creation.
//
// A session goes with its user (deleting a user deletes their sessions). Each user holds at most
// `maxPerUser` sessions: creating one beyond drops the user's oldest, so that signing in again
// and again cannot fill the database.
//
// Every backend runs the shared contract suite in test/contracts/session-store-contract.ts.

export interface SessionRecord {
  /** SHA-256 of the session id, as 64 lower-case hex digits. */
  readonly idHash: string;
  readonly userId: number;
  readonly createdAt: Date;
  /** When a request last used it (moved at most once a minute by the caller). */
  readonly lastSeenAt: Date;
  /** The absolute end, whatever the activity. */
  readonly expiresAt: Date;
}

export interface SessionMetadata {
  /**
   * Records a new session (its `lastSeenAt` is its `createdAt`), then drops the user's oldest
   * sessions beyond the newest `maxPerUser`. A foreign key error when the user does not exist.
   */
  create(session: Omit<SessionRecord, "lastSeenAt">, maxPerUser: number): Promise<void>;
  get(idHash: string): Promise<SessionRecord | undefined>;
  /** Moves `lastSeenAt` to `at` (never back); false when the session is gone. */
  touch(idHash: string, at: Date): Promise<boolean>;
  /** False when there was none. */
  delete(idHash: string): Promise<boolean>;
  /** Deletes every session of the user but `keepIdHash` (when given); returns how many went. */
  deleteForUser(userId: number, keepIdHash?: string): Promise<number>;
  /**
   * Deletes the sessions ended by `now` (their `expiresAt` is not after it) or idle since
   * `idleSince` (their `lastSeenAt` is not after it); returns how many went.
   */
  purge(now: Date, idleSince: Date): Promise<number>;
}
