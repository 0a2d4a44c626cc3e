// A ReplicationDestination decorator for the tests: it passes every call on to the real one and
// counts them (putBlob per digest, only those that completed), and lets a test act at a given
// moment (fail a call, stop a job) without replacing what it wraps.

import type { Readable } from "node:stream";
import type {
  BlobWriteOptions,
  EndpointManifest,
  ReplicationDestination,
} from "../../src/replication/replication-endpoint.ts";

export class CountingDestination implements ReplicationDestination {
  readonly inner: ReplicationDestination;
  /** Digests of the blobs whose putBlob completed, in order. */
  readonly blobsPut: string[] = [];
  /** putBlob calls made, completed or not, with their options. */
  readonly putBlobCalls: Array<{ digest: string; options: BlobWriteOptions }> = [];
  readonly manifestsPut: string[] = [];
  readonly mounts: string[] = [];
  /** Runs before each putBlob; what it throws is the call's failure. */
  beforePutBlob: (digest: string, call: number) => void = () => undefined;
  /** Runs after each putBlob that completed. */
  afterPutBlob: (digest: string, completed: number) => void = () => undefined;

  constructor(inner: ReplicationDestination) {
    this.inner = inner;
  }

  get description(): string {
    return this.inner.description;
  }

  hasBlob(repository: string, digest: string, signal: AbortSignal): Promise<boolean> {
    return this.inner.hasBlob(repository, digest, signal);
  }

  async mountBlob(repository: string, digest: string, from: string, signal: AbortSignal): Promise<boolean> {
    const mounted = await this.inner.mountBlob(repository, digest, from, signal);
    if (mounted) this.mounts.push(digest);
    return mounted;
  }

  async putBlob(
    repository: string,
    digest: string,
    size: number,
    body: Readable,
    options: BlobWriteOptions,
    signal: AbortSignal,
  ): Promise<void> {
    this.putBlobCalls.push({ digest, options });
    try {
      this.beforePutBlob(digest, this.putBlobCalls.length);
    } catch (error) {
      body.destroy();
      throw error;
    }
    await this.inner.putBlob(repository, digest, size, body, options, signal);
    this.blobsPut.push(digest);
    this.afterPutBlob(digest, this.blobsPut.length);
  }

  headManifest(repository: string, reference: string, signal: AbortSignal): Promise<string | undefined> {
    return this.inner.headManifest(repository, reference, signal);
  }

  async putManifest(repository: string, reference: string, manifest: EndpointManifest, signal: AbortSignal) {
    await this.inner.putManifest(repository, reference, manifest, signal);
    this.manifestsPut.push(`${repository}:${reference}`);
  }

  deleteManifest(repository: string, digest: string, signal: AbortSignal): Promise<boolean> {
    return this.inner.deleteManifest(repository, digest, signal);
  }

  deleteTag(repository: string, tag: string, signal: AbortSignal): Promise<boolean> {
    return this.inner.deleteTag(repository, tag, signal);
  }
}
