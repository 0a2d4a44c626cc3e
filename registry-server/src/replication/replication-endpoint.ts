// The two roles a registry plays in a replication, whichever registry it is: a source that
// content is read from and a destination it is written to. This registry itself plays them in
// process (local-endpoint.ts); another registry plays them over HTTP through its adapter
// (remote-endpoint.ts). The copier (artifact-copier.ts) sees only these interfaces, and one
// contract suite (test/contracts/replication-endpoint-contract.ts) runs against every
// implementation.
//
// Failures: "not there" is `undefined` or `false`; every other failure throws, an UpstreamError
// (upstream/upstream-registry.ts) whose kind tells the copier whether another try may succeed
// (unreachable, timeout, server-error, rate-limited) or not (unauthorized, protocol).

import type { Readable } from "node:stream";

/** A manifest with its exact bytes: the digest is the bytes' digest. */
export interface EndpointManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly content: Buffer;
}

/** A referrer of a manifest, as the OCI referrers API lists it (an image index's descriptor). */
export interface EndpointReferrer {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly artifactType?: string;
}

export interface ReplicationSource {
  /** "name (url)" for logs and task descriptions. */
  readonly description: string;

  /**
   * Repositories whose full name may match `pattern` (a name filter's doublestar pattern, ""
   * for all): an endpoint that cannot list everything (Docker Hub) may use the pattern's literal
   * prefix; the caller filters the result again. At most `limit` names.
   */
  listRepositories(pattern: string, limit: number, signal: AbortSignal): Promise<string[]>;

  /** The repository's tags; undefined when it does not exist. */
  listTags(repository: string, signal: AbortSignal): Promise<string[] | undefined>;

  /** A manifest by tag or digest; undefined when absent. */
  getManifest(repository: string, reference: string, signal: AbortSignal): Promise<EndpointManifest | undefined>;

  /** A blob's bytes, unverified (the caller hashes them); undefined when absent. */
  getBlob(
    repository: string,
    digest: string,
    signal: AbortSignal,
  ): Promise<{ readonly size: number; readonly body: Readable } | undefined>;

  /**
   * The manifests whose subject is `digest` (signatures, SBOMs, attestations); an endpoint
   * without the referrers API answers from its fallback tag (`sha256-<hex>`), or [].
   */
  listReferrers(repository: string, digest: string, signal: AbortSignal): Promise<EndpointReferrer[]>;
}

export interface BlobWriteOptions {
  /** Bytes per PATCH when sending in chunks; absent sends the blob in one request. */
  readonly chunkBytes?: number;
}

export interface ReplicationDestination {
  readonly description: string;

  /** Whether the repository holds the blob (`HEAD`). */
  hasBlob(repository: string, digest: string, signal: AbortSignal): Promise<boolean>;

  /**
   * Links a blob the destination holds in `fromRepository` into `repository` without sending it
   * (a cross-repository mount); false when the destination would not (the caller then sends it).
   */
  mountBlob(repository: string, digest: string, fromRepository: string, signal: AbortSignal): Promise<boolean>;

  /**
   * Sends a blob of `size` bytes whose digest is `digest`; the destination verifies it and
   * nothing is visible unless all of it arrived. `body` is consumed or destroyed.
   */
  putBlob(
    repository: string,
    digest: string,
    size: number,
    body: Readable,
    options: BlobWriteOptions,
    signal: AbortSignal,
  ): Promise<void>;

  /** The digest a tag or digest resolves to; undefined when absent. */
  headManifest(repository: string, reference: string, signal: AbortSignal): Promise<string | undefined>;

  /** Stores a manifest (its blobs and children already there) under a tag or its digest. */
  putManifest(repository: string, reference: string, manifest: EndpointManifest, signal: AbortSignal): Promise<void>;

  /** Deletes a manifest by digest, its tags with it; false when it was not there. */
  deleteManifest(repository: string, digest: string, signal: AbortSignal): Promise<boolean>;

  /**
   * Deletes one tag, leaving the manifest; false when it was not there. A registry that cannot
   * delete a tag alone (CNCF Distribution) deletes the manifest it names only when no other tag
   * names it, and answers false otherwise.
   */
  deleteTag(repository: string, tag: string, signal: AbortSignal): Promise<boolean>;
}
