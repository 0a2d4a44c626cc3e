// The lifecycle areas of the metadata store: what garbage collection, retention, tag immutability
// and proxy-cache expiry need to know and change. The protocol that makes garbage collection safe
// while clients push and pull is described in gc/README.md; the store's part of it is here:
//
//   - every blob record carries the time it was last claimed (`touchedAt`): recorded, linked into
//     a repository (an upload's end, a mount), referenced by a manifest being put, or read long
//     enough ago (see BlobMetadata.touch);
//   - a blob is deleted only by `gc.deleteUnreferencedBlob`, which deletes it in one atomic step
//     if, at that moment, no manifest of any repository references it and it was not claimed
//     since the cutoff; its parts are recorded as doomed in the same step, so that a process
//     killed before it deleted their objects leaves them to the next run, not leaked;
//   - a claim and that deletion exclude each other (SQLite: one writer at a time; PostgreSQL:
//     SERIALIZABLE transactions over the same blob row), so whichever commits first wins: a claim
//     that comes first keeps the blob, a claim that comes second finds no blob and fails cleanly.
//
// Retention policies and immutable tag rules are kept as Harbor's JSON documents, validated by
// the API layer (retention/, immutability/) before they are stored; the store does not read them.
//
// Every backend runs the shared contract suite in test/contracts/lifecycle-store-contract.ts.

import type { Listing, Window } from "./identity-store.ts";
import type { BlobPart } from "./metadata-store.ts";

/** A manifest of a repository. */
export interface ManifestKey {
  readonly repository: string;
  readonly digest: string;
}

/** A blob as garbage collection sees it. */
export interface GcBlob {
  readonly digest: string;
  readonly size: number;
  readonly parts: readonly BlobPart[];
}

export interface GcMetadata {
  /**
   * Recorded blobs that no manifest of any repository references and that were not claimed since
   * `cutoff`, by digest in ASCII order, strictly after `page.after`: the candidates of a sweep.
   */
  candidateBlobs(cutoff: Date, page: { readonly after?: string; readonly limit: number }): Promise<GcBlob[]>;
  /**
   * Deletes a blob's record and every link to it, in one atomic step, if it is still unreferenced
   * by every manifest and was not claimed since `cutoff`; its parts are recorded as doomed at
   * `at` in the same step. Returns the deleted blob, or undefined when it was kept (or gone).
   */
  deleteUnreferencedBlob(digest: string, cutoff: Date, at: Date): Promise<GcBlob | undefined>;
  /** Storage paths doomed before `before`, oldest first, at most `limit`. */
  doomedParts(before: Date, limit: number): Promise<string[]>;
  /** Forgets doomed paths whose objects were deleted. */
  forgetDoomed(paths: readonly string[]): Promise<void>;
  /**
   * Every storage path the store knows: parts of recorded blobs, of upload sessions, and doomed
   * ones. An object older than the grace period whose path is not here is an orphan.
   */
  knownPartPaths(): Promise<Set<string>>;
  /**
   * Manifests without a tag, pushed before `cutoff`, that no index of their repository lists,
   * that have no pin, and that have no subject or one the repository no longer holds (an
   * accessory goes with its subject, unless that went before it), ordered by repository then
   * digest, strictly after `page.after`: what `delete_untagged` removes.
   */
  untaggedManifests(
    cutoff: Date,
    page: { readonly after?: ManifestKey; readonly limit: number },
  ): Promise<Array<ManifestKey & { readonly size: number }>>;
  /** For each digest, how many manifests (of every repository) reference it as a blob. */
  blobReferenceCounts(digests: readonly string[]): Promise<Map<string, number>>;
}

/** Why an artifact is kept whatever retention and expiry say. */
export type PinReason = "preheat" | "api";

/** One artifact (a manifest of a repository) as retention and expiry evaluate it. */
export interface LifecycleArtifact {
  readonly repository: string;
  readonly digest: string;
  readonly size: number;
  /** The last push of the manifest (a push of the same bytes again moves it). */
  readonly pushedAt: Date;
  /** The last pull of the manifest, by tag or digest; undefined when never pulled. */
  readonly pulledAt?: Date;
  /** Its tags, by name in ASCII order, each with the time it was last pointed here. */
  readonly tags: ReadonlyArray<{ readonly name: string; readonly pushedAt: Date }>;
  readonly subject?: string;
  /** Whether an index of the repository lists it. */
  readonly listedByIndex: boolean;
  readonly pins: readonly PinReason[];
}

export interface LifecycleMetadata {
  /** Records pulls: each manifest's pull time becomes the latest of its own and the given one. */
  recordPulls(pulls: ReadonlyArray<ManifestKey & { readonly at: Date }>): Promise<void>;
  /** Every manifest of the repository, by digest, with its tags, times and pins. */
  artifacts(repository: string): Promise<LifecycleArtifact[]>;
  /** Pins a manifest for a reason (idempotent); false when there is no such manifest. */
  pin(key: ManifestKey, reason: PinReason, at: Date): Promise<boolean>;
  /** Removes a pin; false when there was none. */
  unpin(key: ManifestKey, reason: PinReason): Promise<boolean>;
}

export interface RetentionPolicyRecord {
  readonly id: number;
  readonly projectId: number;
  /** Harbor's RetentionPolicy JSON, as validated and normalised by the API layer. */
  readonly policy: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface RetentionMetadata {
  /** A ConflictError when the project has a policy already (one per project, as in Harbor). */
  create(projectId: number, policy: string, at: Date): Promise<RetentionPolicyRecord>;
  get(id: number): Promise<RetentionPolicyRecord | undefined>;
  forProject(projectId: number): Promise<RetentionPolicyRecord | undefined>;
  /** Replaces the policy document; undefined when there is no such policy. */
  update(id: number, policy: string, at: Date): Promise<RetentionPolicyRecord | undefined>;
  delete(id: number): Promise<boolean>;
}

export interface ImmutableRuleRecord {
  readonly id: number;
  readonly projectId: number;
  readonly disabled: boolean;
  readonly priority: number;
  /** Harbor's ImmutableRule JSON (selectors and all), as validated by the API layer. */
  readonly rule: string;
  readonly createdAt: Date;
}

export interface ImmutableRuleMetadata {
  create(
    projectId: number,
    rule: { disabled: boolean; priority: number; rule: string },
    at: Date,
  ): Promise<ImmutableRuleRecord>;
  get(id: number): Promise<ImmutableRuleRecord | undefined>;
  /** The project's rules by id. */
  list(projectId: number, window: Window): Promise<Listing<ImmutableRuleRecord>>;
  /** Changes a rule of the project; undefined when the project has no such rule. */
  update(
    projectId: number,
    id: number,
    changes: { disabled?: boolean; priority?: number; rule?: string },
  ): Promise<ImmutableRuleRecord | undefined>;
  delete(projectId: number, id: number): Promise<boolean>;
}

/** The lifecycle areas, part of MetadataAreas. */
export interface LifecycleAreas {
  readonly gc: GcMetadata;
  readonly lifecycle: LifecycleMetadata;
  readonly retentions: RetentionMetadata;
  readonly immutableRules: ImmutableRuleMetadata;
}
