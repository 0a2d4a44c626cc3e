// Where the /v2 pull routes get what they send, and whether a repository may be written. The
// local implementation reads this registry's own content; the proxy cache (proxy/) wraps it and
// fetches from an upstream what a proxy-cache project does not hold yet.

import type { Writable } from "node:stream";
import type { BlobRecord } from "../metadata/metadata-store.ts";
import type { BlobStore } from "./blob-store.ts";
import type { ManifestService, Reference, StoredManifest } from "./manifest-service.ts";

/** What a blob request wants: headers only, a byte range, or the whole body. */
export type BlobPurpose = "head" | "range" | "body";

export type BlobSource =
  | { readonly kind: "stored"; readonly blob: BlobRecord }
  /** Bytes still arriving from an upstream, verified as they are stored: whole-body GETs only. */
  | {
      readonly kind: "live";
      readonly digest: string;
      /** Undefined when the upstream did not say (chunked transfer). */
      readonly size: number | undefined;
      /**
       * Streams the bytes into `destination` and ends it once they were stored and verified;
       * rejects when the fetch fails, leaving `destination` as it is (the caller cuts or answers).
       */
      pipe(destination: Writable): Promise<void>;
    };

export interface ContentSource {
  /** The manifest to send for a reference and an Accept header; throws the right error. */
  manifest(repository: string, reference: Reference, accept: string | undefined): Promise<StoredManifest>;
  /** The blob to send, or undefined when the repository has no such blob. */
  blob(repository: string, digest: string, purpose: BlobPurpose): Promise<BlobSource | undefined>;
  /** Throws DENIED when the repository takes no pushes (a proxy-cache project's). */
  assertWritable(repository: string): Promise<void>;
}

/** The registry's own content: what was pushed. */
export class LocalContent implements ContentSource {
  private readonly manifests: ManifestService;
  private readonly blobs: BlobStore;

  constructor(manifests: ManifestService, blobs: BlobStore) {
    this.manifests = manifests;
    this.blobs = blobs;
  }

  async manifest(repository: string, reference: Reference, accept: string | undefined): Promise<StoredManifest> {
    return this.manifests.negotiate(repository, await this.manifests.get(repository, reference), accept);
  }

  async blob(repository: string, digest: string): Promise<BlobSource | undefined> {
    const blob = await this.blobs.stat(repository, digest);
    return blob && { kind: "stored", blob };
  }

  async assertWritable(): Promise<void> {}
}
