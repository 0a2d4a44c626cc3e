// The metadata store contract: what the registry knows about its content (blobs and where their
// bytes are, upload sessions, manifests with their exact bytes, tags, repositories). Blob bytes
// live in the storage driver; everything else lives here.
// It also holds the identity areas (users, projects, members, robots, audit) of identity-store.ts,
// the upstream registry endpoints of registry-store.ts, the system settings of settings-store.ts,
// the management API's view of the content (ids, descriptions, listings) of artifact-store.ts,
// the background jobs of job-store.ts, and what garbage collection, retention and immutability
// need (lifecycle-store.ts), the scanner registrations (scanner-store.ts), the webhook policies
// (webhook-store.ts), the replication policies (replication-store.ts), the portal's sign-in
// sessions (session-store.ts), which Pulumi stack declared each object (declaration-store.ts)
// and the proxy cache's totals per endpoint (proxy-cache-stats-store.ts).
//
// It is shaped for PostgreSQL as much as for SQLite: every method is async, and a transaction
// groups writes that must commit together (a manifest, its tag and its references). Areas are
// separate interfaces so that each stays small; `transaction` hands the same areas bound to one
// transaction.
//
// Digests are strings "<algorithm>:<hex>"; repository names are already validated by the caller.
// Listing is in ASCII (byte) order, with `after` exclusive, as the OCI tags and catalog APIs ask.
//
// Every backend runs the shared contract suite in test/contracts/metadata-store-contract.ts.

import type { ArtifactMetadata } from "./artifact-store.ts";
import type { DeclarationMetadata } from "./declaration-store.ts";
import { DependencyUnavailableError } from "../dependency-unavailable.ts";
import { InsufficientStorageError } from "../insufficient-storage.ts";
import type { IdentityAreas } from "./identity-store.ts";
import type { JobMetadata } from "./job-store.ts";
import type { LifecycleAreas } from "./lifecycle-store.ts";
import type { RegistryMetadata } from "./registry-store.ts";
import type { ProxyCacheStatsMetadata } from "./proxy-cache-stats-store.ts";
import type { ReplicationPolicyMetadata } from "./replication-store.ts";
import type { ScanAreas } from "./scan-store.ts";
import type { ScannerMetadata } from "./scanner-store.ts";
import type { SessionMetadata } from "./session-store.ts";
import type { SettingsMetadata } from "./settings-store.ts";
import type { WebhookMetadata } from "./webhook-store.ts";

export type DigestAlgorithm = "sha256" | "sha512";

/** One stored object holding a contiguous slice of a blob's bytes. */
export interface BlobPart {
  /** Storage driver path of the object. */
  readonly path: string;
  readonly size: number;
}

export interface BlobRecord {
  readonly digest: string;
  readonly size: number;
  /** The blob's bytes are these objects' bytes, in this order; their sizes sum to `size`. */
  readonly parts: readonly BlobPart[];
  readonly createdAt: Date;
}

export interface UploadRecord {
  /** The session id: a random UUID. */
  readonly id: string;
  readonly repository: string;
  /** Digest algorithm requested when the session started. */
  readonly algorithm: DigestAlgorithm;
  /** Bytes received so far: the sum of the parts' sizes. */
  readonly size: number;
  readonly parts: readonly BlobPart[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface ManifestRecord {
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  /** Size of the manifest's bytes. */
  readonly size: number;
  /**
   * The artifact type the referrers API reports: the manifest's `artifactType`, else (image
   * manifests only) its config's media type; undefined for an index without one.
   */
  readonly artifactType?: string;
  /** Digest of the manifest's `subject`, when it has one. */
  readonly subject?: string;
  /** The manifest's own annotations, copied into referrers descriptors. */
  readonly annotations?: Readonly<Record<string, string>>;
  /**
   * The media type of an image manifest's config (what Harbor reports as the artifact's media
   * type, and types it by); undefined for an index.
   */
  readonly configMediaType?: string;
  readonly createdAt: Date;
}

/** What a manifest points at, recorded for validation, garbage collection and quotas. */
export interface ManifestReferences {
  /** Config and layer digests (distinct). */
  readonly blobs: readonly string[];
  /** Child manifests of an index (distinct). */
  readonly manifests: readonly string[];
}

/**
 * A manifest pushed again, unchanged, moves its push time at most this often: each push would
 * otherwise rewrite the same row, and replicas pushing one manifest under many tags at once would
 * keep failing to serialize against each other on it.
 */
export const PUSH_TIME_RESOLUTION_MS = 1_000;

/** Whether a manifest put again is the one recorded, but for its push time. */
export function sameManifest(
  recorded: ManifestRecord,
  recordedReferences: ManifestReferences,
  record: ManifestRecord,
  references: ManifestReferences,
): boolean {
  const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
    a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
  return (
    recorded.mediaType === record.mediaType &&
    recorded.size === record.size &&
    recorded.artifactType === record.artifactType &&
    recorded.subject === record.subject &&
    recorded.configMediaType === record.configMediaType &&
    JSON.stringify(recorded.annotations ?? null) === JSON.stringify(record.annotations ?? null) &&
    sameSet(recordedReferences.blobs, references.blobs) &&
    sameSet(recordedReferences.manifests, references.manifests)
  );
}

export interface TagRecord {
  readonly repository: string;
  readonly name: string;
  readonly digest: string;
  readonly updatedAt: Date;
}

export interface Page {
  /** Return only names strictly greater than this one (ASCII order). */
  readonly after?: string;
  /** At most this many names; undefined means all. */
  readonly limit?: number;
}

/**
 * Every blob record carries the time it was last claimed, which garbage collection reads
 * (lifecycle-store.ts, gc/README.md): `create`, `link` and `touch` claim. A claim writes the blob
 * at most once per PUSH_TIME_RESOLUTION_MS (an earlier claim within it stands): writing the same
 * rows on every push would make concurrent pushes of one image fail to serialize against each
 * other, and reading the row is what makes a claim exclude a concurrent deletion.
 */
export interface BlobMetadata {
  get(digest: string): Promise<BlobRecord | undefined>;
  /**
   * Records a blob, claimed at its `createdAt`. When a blob with the same digest is already
   * recorded, that one is kept, claimed at `createdAt`, and returned with `created: false` (the
   * caller then deletes the parts it had written).
   */
  create(record: BlobRecord): Promise<{ record: BlobRecord; created: boolean }>;
  /** Forgets a blob and every link to it; false when it was not recorded. */
  delete(digest: string): Promise<boolean>;
  /**
   * Makes a recorded blob visible in a repository, creating the repository, and claims it.
   * Idempotent. False, and nothing changed, when the blob is not recorded (garbage collection may
   * have deleted it since the caller saw it).
   */
  link(repository: string, digest: string): Promise<boolean>;
  isLinked(repository: string, digest: string): Promise<boolean>;
  /** Removes a blob from a repository; false when it was not linked there. */
  unlink(repository: string, digest: string): Promise<boolean>;
  /** The repositories a blob is linked in, in ASCII order. */
  repositoriesOf(digest: string): Promise<string[]>;
  /** Bytes of the blobs linked in at least one repository, each blob counted once. */
  totalSize(): Promise<number>;
  /**
   * Claims the recorded blobs among `digests` at `at` (see above: a claim within
   * PUSH_TIME_RESOLUTION_MS of the last one writes nothing, and one never moves a claim back).
   * Returns the digests that are recorded; the others are not (any more).
   */
  touch(digests: readonly string[], at: Date): Promise<Set<string>>;
}

export interface UploadMetadata {
  /** Records a new session (creating the repository). */
  create(record: UploadRecord): Promise<void>;
  get(id: string): Promise<UploadRecord | undefined>;
  /**
   * Appends a part to a session, but only if the session's size is still `expectedSize`: a
   * compare-and-set, so that two replicas cannot both append at the same offset.
   * @returns the updated session, or undefined when it is gone or its size moved on
   */
  appendPart(id: string, expectedSize: number, part: BlobPart, at: Date): Promise<UploadRecord | undefined>;
  /**
   * Ends a session (completed, cancelled or expired) and returns it as it was then: its parts are
   * the caller's to keep or delete. Undefined when there was none or, with `expectedSize`, when its
   * size moved on: the compare-and-set of `appendPart`, so that whoever read the session cannot
   * end it over a chunk another replica appended since (that chunk's part would be left unnamed).
   */
  delete(id: string, expectedSize?: number): Promise<UploadRecord | undefined>;
  /** Sessions not updated since `before`, oldest first (for expiry). */
  listStale(before: Date): Promise<UploadRecord[]>;
}

export interface ManifestMetadata {
  /**
   * Stores a manifest and its exact bytes in a repository, creating the repository. Putting the
   * same digest again replaces the record and its references (the bytes are identical).
   */
  put(record: ManifestRecord, content: Uint8Array, references: ManifestReferences): Promise<void>;
  get(repository: string, digest: string): Promise<ManifestRecord | undefined>;
  /** The manifest's exact bytes, as pushed. */
  content(repository: string, digest: string): Promise<Buffer | undefined>;
  /** What the manifest of the repository references; undefined when there is no such manifest. */
  references(repository: string, digest: string): Promise<ManifestReferences | undefined>;
  /**
   * Deletes a manifest and every tag pointing at it, and unlinks from the repository the blobs
   * that no other manifest of the repository references (they stop counting against the quota;
   * their bytes stay for garbage collection). False when there was no such manifest.
   */
  delete(repository: string, digest: string): Promise<boolean>;
  /**
   * Manifests of the repository whose subject is `subject`, only those of `artifactType` when
   * given, ordered by digest.
   */
  referrers(repository: string, subject: string, artifactType?: string): Promise<ManifestRecord[]>;
  /** The subset of `digests` that are manifests of the repository, each with its size in bytes. */
  existing(repository: string, digests: readonly string[]): Promise<Map<string, number>>;
  /**
   * The manifests of the repository that list `digest` among their children (the indexes it is
   * part of), by digest in ASCII order; whether `digest` itself is there or not.
   */
  parents(repository: string, digest: string): Promise<string[]>;
  /** The repository's manifests, newest first (then by digest), with their total count. */
  list(
    repository: string,
    window: { offset: number; limit: number },
  ): Promise<{ items: ManifestRecord[]; total: number }>;
}

export interface TagMetadata {
  get(repository: string, name: string): Promise<TagRecord | undefined>;
  /** Points a tag at a manifest of the repository, creating or moving it. */
  put(repository: string, name: string, digest: string, at: Date): Promise<void>;
  /** Deletes a tag; false when there was none. */
  delete(repository: string, name: string): Promise<boolean>;
  /** Tag names of a repository in ASCII order, paginated. */
  list(repository: string, page: Page): Promise<string[]>;
  /** Names of the tags pointing at a digest, in ASCII order. */
  forDigest(repository: string, digest: string): Promise<string[]>;
}

export interface RepositorySummary {
  readonly name: string;
  readonly manifestCount: number;
  readonly createdAt: Date;
}

export interface RepositoryMetadata {
  /** A repository exists once something was uploaded, linked or pushed to it. */
  exists(name: string): Promise<boolean>;
  /** Repository names in ASCII order, paginated. */
  list(page: Page): Promise<string[]>;
  /**
   * The repositories named `<project>/…` (with `contains` in the name when given), in ASCII
   * order, with their manifest count, and the total count.
   */
  listInProject(
    project: string,
    filter: { contains?: string },
    window: { offset: number; limit: number },
  ): Promise<{ items: RepositorySummary[]; total: number }>;
  /**
   * Deletes a repository: its manifests (and so its tags), blob links and upload sessions. The
   * bytes stay for garbage collection to find unused. False when there was none.
   */
  delete(name: string): Promise<boolean>;
}

export interface MetadataAreas extends IdentityAreas, LifecycleAreas, ScanAreas {
  readonly blobs: BlobMetadata;
  readonly uploads: UploadMetadata;
  readonly manifests: ManifestMetadata;
  readonly tags: TagMetadata;
  readonly repositories: RepositoryMetadata;
  readonly artifacts: ArtifactMetadata;
  readonly registries: RegistryMetadata;
  readonly settings: SettingsMetadata;
  readonly jobs: JobMetadata;
  readonly scanners: ScannerMetadata;
  readonly webhookPolicies: WebhookMetadata;
  readonly replicationPolicies: ReplicationPolicyMetadata;
  readonly sessions: SessionMetadata;
  readonly declarations: DeclarationMetadata;
  readonly proxyCacheStats: ProxyCacheStatsMetadata;
}

export interface MetadataStore extends MetadataAreas {
  /**
   * Runs `work` in one transaction: its writes commit together when it resolves, or not at all
   * when it rejects (the rejection is passed on). Reads through `tx` see the transaction's own
   * writes; reads through the store outside see only committed data. Keep transactions short:
   * no storage or network I/O inside. `work` may run more than once (the PostgreSQL store runs it
   * again when it lost a race with another replica), so it acts only through `tx`.
   * One rejection leaves the outcome open: a MetadataUnavailableError whose `outcomeUnknown` is
   * set (the connection dropped while the commit was on its way), after which the writes may
   * have committed; the caller must then keep whatever they point at.
   */
  transaction<T>(work: (tx: MetadataAreas) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The database cannot be reached (restarting, failing over, refusing connections): reads and
 * writes fail with this until it answers again. A write that failed so did not happen, unless
 * `outcomeUnknown` says the failure came while it was being committed.
 */
export class MetadataUnavailableError extends DependencyUnavailableError {
  override name = "MetadataUnavailableError";
  readonly outcomeUnknown: boolean;

  constructor(reason: string, options: { cause?: unknown; outcomeUnknown?: boolean } = {}) {
    super(
      "database",
      reason,
      `the metadata database is unavailable (${reason})${options.outcomeUnknown ? ": a commit's outcome is unknown" : ""}`,
      { cause: options.cause },
    );
    this.outcomeUnknown = options.outcomeUnknown ?? false;
  }
}

/**
 * The database has no room for a write (its disk is full): the write did not happen, and the same
 * write succeeds once space is freed. Reads go on.
 */
export class MetadataFullError extends InsufficientStorageError {
  override name = "MetadataFullError";
  constructor(reason: string, options?: { cause?: unknown }) {
    super("database", reason, `the metadata database is full: ${reason}`, options);
  }
}

/** Whether a failed write may have taken effect after all (see MetadataUnavailableError). */
export function mayHaveCommitted(error: unknown): boolean {
  return error instanceof MetadataUnavailableError && error.outcomeUnknown;
}
