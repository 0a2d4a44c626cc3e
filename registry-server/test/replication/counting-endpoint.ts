// A decorator of an endpoint for the tests: it passes every call on to the real one and counts
// the destination's (putBlob per digest, only those that completed), and lets a test act at a
// given moment (fail a call, hold it, stop a job) without replacing what it wraps.

import type { Readable } from "node:stream";
import type {
  BlobWriteOptions,
  EndpointManifest,
  EndpointReferrer,
  ReplicationDestination,
  ReplicationSource,
} from "../../src/replication/replication-endpoint.ts";

type Endpoint = ReplicationSource & ReplicationDestination;

export class CountingEndpoint implements ReplicationSource, ReplicationDestination {
  readonly inner: Endpoint;
  /** Digests of the blobs whose putBlob completed, in order. */
  readonly blobsPut: string[] = [];
  /** putBlob calls made, completed or not, with their options. */
  readonly putBlobCalls: Array<{ digest: string; options: BlobWriteOptions }> = [];
  readonly manifestsPut: string[] = [];
  readonly mounts: string[] = [];
  /** Runs (and is awaited) before each putBlob; what it throws is the call's failure. */
  beforePutBlob: (digest: string, call: number) => void | Promise<void> = () => undefined;
  /** Times the endpoint was released (a remote endpoint's connections). */
  closes = 0;
  /** Runs after each putBlob that completed. */
  afterPutBlob: (digest: string, completed: number) => void = () => undefined;

  constructor(inner: Endpoint) {
    this.inner = inner;
  }

  get description(): string {
    return this.inner.description;
  }

  listRepositories(pattern: string, limit: number, signal: AbortSignal): Promise<string[]> {
    return this.inner.listRepositories(pattern, limit, signal);
  }

  listTags(repository: string, signal: AbortSignal): Promise<string[] | undefined> {
    return this.inner.listTags(repository, signal);
  }

  getManifest(repository: string, reference: string, signal: AbortSignal): Promise<EndpointManifest | undefined> {
    return this.inner.getManifest(repository, reference, signal);
  }

  getBlob(repository: string, digest: string, signal: AbortSignal) {
    return this.inner.getBlob(repository, digest, signal);
  }

  listReferrers(repository: string, digest: string, signal: AbortSignal): Promise<EndpointReferrer[]> {
    return this.inner.listReferrers(repository, digest, signal);
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
      await this.beforePutBlob(digest, this.putBlobCalls.length);
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

  async close(): Promise<void> {
    this.closes++;
  }
}
