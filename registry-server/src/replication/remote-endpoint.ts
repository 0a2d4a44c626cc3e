// Another registry in a replication, over HTTP: the source and destination roles
// (replication-endpoint.ts) played by the upstream adapter of its endpoint (reads, with the
// type's naming rules such as Docker Hub's `library/`), its writer (blob and manifest pushes,
// deletions) and its discovery (repositories, referrers). All three are built by the upstream
// factory over one set of connections, so the egress proxy and the endpoint's CA apply to every
// request and one token serves a repository's reads and writes. Failures are the adapters'
// UpstreamErrors, whose kinds the copier reads.

import type { Readable } from "node:stream";
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST } from "../content/media-types.ts";
import { defaultUrl } from "../upstream/adapter-catalog.ts";
import type { UpstreamConnection, UpstreamConnectionFactory } from "../upstream/upstream-factory.ts";
import type { UpstreamEndpoint } from "../upstream/upstream-registry.ts";
import type {
  BlobWriteOptions,
  EndpointManifest,
  EndpointReferrer,
  ReplicationDestination,
  ReplicationSource,
} from "./replication-endpoint.ts";

/** Every manifest kind the registry stores, so that the source's bytes come back unconverted. */
const MANIFEST_TYPES = [OCI_IMAGE_MANIFEST, OCI_IMAGE_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST];
/** More tags than any repository has; the tags list follows `Link` pages up to it. */
const MAX_TAGS = 100_000;

export class RemoteEndpoint implements ReplicationSource, ReplicationDestination {
  readonly description: string;
  private readonly connection: UpstreamConnection;

  constructor(endpoint: UpstreamEndpoint, connect: UpstreamConnectionFactory) {
    this.description = `${endpoint.name} (${endpoint.url || defaultUrl(endpoint.type) || endpoint.type})`;
    this.connection = connect(endpoint);
  }

  listRepositories(pattern: string, limit: number, signal: AbortSignal): Promise<string[]> {
    return this.connection.discovery.listRepositories(pattern, limit, signal);
  }

  listTags(repository: string, signal: AbortSignal): Promise<string[] | undefined> {
    return this.connection.registry.listTags(repository, MAX_TAGS, signal);
  }

  async getManifest(repository: string, reference: string, signal: AbortSignal): Promise<EndpointManifest | undefined> {
    const manifest = await this.connection.registry.getManifest(repository, reference, MANIFEST_TYPES, signal);
    return manifest && { digest: manifest.digest, mediaType: manifest.mediaType, content: manifest.content };
  }

  async getBlob(
    repository: string,
    digest: string,
    signal: AbortSignal,
  ): Promise<{ readonly size: number; readonly body: Readable } | undefined> {
    const blob = await this.connection.registry.getBlob(repository, digest, signal);
    return blob && { size: blob.size, body: blob.body };
  }

  listReferrers(repository: string, digest: string, signal: AbortSignal): Promise<EndpointReferrer[]> {
    return this.connection.discovery.listReferrers(repository, digest, signal);
  }

  hasBlob(repository: string, digest: string, signal: AbortSignal): Promise<boolean> {
    return this.connection.writer.hasBlob(repository, digest, signal);
  }

  mountBlob(repository: string, digest: string, fromRepository: string, signal: AbortSignal): Promise<boolean> {
    return this.connection.writer.mountBlob(repository, digest, fromRepository, signal);
  }

  putBlob(
    repository: string,
    digest: string,
    size: number,
    body: Readable,
    options: BlobWriteOptions,
    signal: AbortSignal,
  ): Promise<void> {
    return this.connection.writer.putBlob(repository, { digest, size, body }, options.chunkBytes, signal);
  }

  async headManifest(repository: string, reference: string, signal: AbortSignal): Promise<string | undefined> {
    return (await this.connection.registry.headManifest(repository, reference, MANIFEST_TYPES, signal))?.digest;
  }

  putManifest(repository: string, reference: string, manifest: EndpointManifest, signal: AbortSignal): Promise<void> {
    return this.connection.writer.putManifest(repository, reference, manifest, signal);
  }

  deleteManifest(repository: string, digest: string, signal: AbortSignal): Promise<boolean> {
    return this.connection.writer.deleteManifest(repository, digest, signal);
  }

  deleteTag(repository: string, tag: string, signal: AbortSignal): Promise<boolean> {
    return this.connection.writer.deleteTag(repository, tag, signal);
  }

  /** Releases the endpoint's connections (keep-alive pools, proxy tunnels). */
  close(): Promise<void> {
    return this.connection.registry.close();
  }
}
