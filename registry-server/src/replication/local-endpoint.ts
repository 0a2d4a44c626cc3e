// This registry as either side of a replication, in process: read through the metadata store and
// the blob store, written through the same services as a push over /v2 (UploadService and
// BlobStore for blobs, ManifestService for manifests), so that quotas, tag immutability and
// manifest validation hold for what a pull replication brings in.
//
// Events: what is written or deleted here goes through ManifestService, which tells the bus
// (events/manifest-events.ts) as it does for a push over /v2: a PUSH_ARTIFACT per manifest stored,
// a DELETE_ARTIFACT or DELETE_TAG per deletion, here with the replication as the operator
// (`withOperator`), as Harbor fires push events for what its replication writes. Webhooks hear
// them, and so does event-based replication, which may carry them on to another site (a hub
// relaying one site to others). This cannot loop: event-based policies have this registry as their
// source, and what a replication writes here comes from pull policies, which are manual or
// scheduled; between two sites that replicate to each other on events, the copier writes nothing
// (and so publishes nothing) for an artifact the destination already holds, which ends the echo
// after one round.
//
// Failures are the contract's UpstreamErrors (local-failures.ts): a refused quota is
// "unauthorized" as a remote's 403 would be, bad bytes "protocol", the database away
// "server-error".
//
// A repository whose project does not exist gets one, private and owned by `projectOwner` (the
// administrator), as Harbor's destination adapter creates projects before pushing. A proxy-cache
// project is never written to: it mirrors its upstream only.

import type { Readable } from "node:stream";
import { LocalAccess, type LocalAccessDeps } from "./local-access.ts";
import { localFailure } from "./local-failures.ts";
import type {
  BlobWriteOptions,
  EndpointManifest,
  EndpointReferrer,
  ReplicationDestination,
  ReplicationSource,
} from "./replication-endpoint.ts";
import type { ArtifactListing, SourceArtifact } from "./source-artifacts.ts";

export interface LocalEndpointDeps extends LocalAccessDeps {
  /** Who the events name as having made the change; "replication" unless told. */
  readonly operator?: string;
}

export class LocalEndpoint implements ReplicationSource, ReplicationDestination, ArtifactListing {
  readonly description = "this registry (local)";
  private readonly deps: LocalEndpointDeps;
  private readonly access: LocalAccess;

  constructor(deps: LocalEndpointDeps) {
    this.deps = deps;
    this.access = new LocalAccess(deps, deps.operator ?? "replication");
  }

  /** The same endpoint, its events naming `operator` (a replication policy) as their author. */
  withOperator(operator: string): LocalEndpoint {
    return new LocalEndpoint({ ...this.deps, operator });
  }

  listRepositories(pattern: string, limit: number, signal: AbortSignal): Promise<string[]> {
    return this.guard("listing repositories", signal, () => this.access.listRepositories(pattern, limit, signal));
  }

  listTags(repository: string, signal: AbortSignal): Promise<string[] | undefined> {
    return this.guard(`listing the tags of ${repository}`, signal, () => this.access.listTags(repository, signal));
  }

  listArtifacts(repository: string, signal: AbortSignal): Promise<SourceArtifact[] | undefined> {
    return this.guard(`listing the artifacts of ${repository}`, signal, () =>
      this.access.listArtifacts(repository, signal),
    );
  }

  getManifest(repository: string, reference: string, signal: AbortSignal): Promise<EndpointManifest | undefined> {
    return this.guard(`reading ${repository}:${reference}`, signal, () =>
      this.access.getManifest(repository, reference, signal),
    );
  }

  getBlob(
    repository: string,
    digest: string,
    signal: AbortSignal,
  ): Promise<{ readonly size: number; readonly body: Readable } | undefined> {
    return this.guard(`reading blob ${digest}`, signal, () => this.access.getBlob(repository, digest, signal));
  }

  listReferrers(repository: string, digest: string, signal: AbortSignal): Promise<EndpointReferrer[]> {
    return this.guard(`listing the referrers of ${repository}@${digest}`, signal, () =>
      this.access.listReferrers(repository, digest, signal),
    );
  }

  hasBlob(repository: string, digest: string, signal: AbortSignal): Promise<boolean> {
    return this.guard(`looking for blob ${digest}`, signal, () => this.access.hasBlob(repository, digest, signal));
  }

  mountBlob(repository: string, digest: string, fromRepository: string, signal: AbortSignal): Promise<boolean> {
    return this.guard(`mounting blob ${digest} in ${repository}`, signal, () =>
      this.access.mountBlob(repository, digest, fromRepository, signal),
    );
  }

  putBlob(
    repository: string,
    digest: string,
    size: number,
    body: Readable,
    options: BlobWriteOptions,
    signal: AbortSignal,
  ): Promise<void> {
    return this.guard(`storing blob ${digest} in ${repository}`, signal, () =>
      this.access.putBlob(repository, digest, size, body, options, signal),
    );
  }

  headManifest(repository: string, reference: string, signal: AbortSignal): Promise<string | undefined> {
    return this.guard(`looking for ${repository}:${reference}`, signal, () =>
      this.access.headManifest(repository, reference, signal),
    );
  }

  putManifest(repository: string, reference: string, manifest: EndpointManifest, signal: AbortSignal): Promise<void> {
    return this.guard(`storing ${repository}:${reference}`, signal, () =>
      this.access.putManifest(repository, reference, manifest, signal),
    );
  }

  deleteManifest(repository: string, digest: string, signal: AbortSignal): Promise<boolean> {
    return this.guard(`deleting ${repository}@${digest}`, signal, () =>
      this.access.deleteManifest(repository, digest, signal),
    );
  }

  deleteTag(repository: string, tag: string, signal: AbortSignal): Promise<boolean> {
    return this.guard(`deleting ${repository}:${tag}`, signal, () => this.access.deleteTag(repository, tag, signal));
  }

  private async guard<T>(what: string, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw localFailure(error, what, signal);
    }
  }
}
