// The work of LocalEndpoint (local-endpoint.ts says what and why): this registry read through its
// metadata store and blob store, and written through its upload, blob and manifest services, the
// writes naming `operator`. Failures are this registry's own errors here; LocalEndpoint turns
// them into the endpoint contract's.

import { addAbortSignal, type Readable } from "node:stream";
import type { BlobStore } from "../content/blob-store.ts";
import { parseDigest } from "../content/digest.ts";
import { parseReference, type ManifestService, type Reference } from "../content/manifest-service.ts";
import type { UploadService } from "../content/upload-service.ts";
import { artifactTypeOf, harborMediaType } from "../api/artifact-types.ts";
import { RegistryError } from "../http/errors.ts";
import { ConflictError } from "../metadata/identity-store.ts";
import type { ManifestRecord, MetadataStore } from "../metadata/metadata-store.ts";
import { matchPattern } from "../retention/pattern.ts";
import type {
  BlobWriteOptions,
  EndpointManifest,
  EndpointReferrer,
  ReplicationDestination,
  ReplicationSource,
} from "./replication-endpoint.ts";
import { isAccessoryTag, type ArtifactListing, type SourceArtifact } from "./source-artifacts.ts";
import { streamChunks } from "./stream-chunks.ts";

export interface LocalAccessDeps {
  readonly store: Pick<MetadataStore, "repositories" | "tags" | "manifests" | "projects" | "users">;
  readonly blobs: BlobStore;
  readonly uploads: UploadService;
  /** Wired to the bus (events/manifest-events.ts): what is stored or deleted here is published. */
  readonly manifests: ManifestService;
  /** The user owning the projects a replication creates: the administrator's name. */
  readonly projectOwner: string;
}

/** Listing pages read from the store. */
const PAGE = 500;

/** The endpoint's work, failing with this registry's own errors (LocalEndpoint translates them). */
export class LocalAccess implements ReplicationSource, ReplicationDestination, ArtifactListing {
  readonly description = "this registry (local)";
  private readonly deps: LocalAccessDeps;
  private readonly operator: string;

  constructor(deps: LocalAccessDeps, operator: string) {
    this.deps = deps;
    this.operator = operator;
  }

  // The source role.

  async listRepositories(pattern: string, limit: number, signal: AbortSignal): Promise<string[]> {
    const found: string[] = [];
    let after: string | undefined;
    while (found.length < limit) {
      signal.throwIfAborted();
      const page = await this.deps.store.repositories.list({ ...(after !== undefined && { after }), limit: PAGE });
      for (const name of page) if (matchPattern(pattern, name) && found.length < limit) found.push(name);
      if (page.length < PAGE) break;
      after = page[page.length - 1];
    }
    return found;
  }

  async listTags(repository: string, signal: AbortSignal): Promise<string[] | undefined> {
    signal.throwIfAborted();
    if (!(await this.deps.store.repositories.exists(repository))) return undefined;
    return this.deps.store.tags.list(repository, {});
  }

  async listArtifacts(repository: string, signal: AbortSignal): Promise<SourceArtifact[] | undefined> {
    const { store } = this.deps;
    if (!(await store.repositories.exists(repository))) return undefined;
    const artifacts: SourceArtifact[] = [];
    for (let offset = 0; ; offset += PAGE) {
      signal.throwIfAborted();
      const page = await store.manifests.list(repository, { offset, limit: PAGE });
      for (const record of page.items) {
        const artifact = await this.artifactOf(record);
        if (artifact) artifacts.push(artifact);
      }
      if (offset + PAGE >= page.total || page.items.length === 0) break;
    }
    return artifacts;
  }

  /** A manifest as an artifact of its own; undefined for accessories and untagged index children. */
  private async artifactOf(record: ManifestRecord): Promise<SourceArtifact | undefined> {
    const { store } = this.deps;
    if (record.subject !== undefined) return undefined;
    const all = await store.tags.forDigest(record.repository, record.digest);
    const tags = all.filter((tag) => !isAccessoryTag(tag));
    if (all.length > 0 && tags.length === 0) return undefined;
    if (tags.length === 0 && (await store.manifests.parents(record.repository, record.digest)).length > 0) {
      return undefined;
    }
    return { digest: record.digest, tags, type: artifactTypeOf(harborMediaType(record)) };
  }

  async getManifest(repository: string, reference: string, signal: AbortSignal): Promise<EndpointManifest | undefined> {
    signal.throwIfAborted();
    const digest = await this.resolve(repository, reference);
    if (digest === undefined) return undefined;
    const record = await this.deps.store.manifests.get(repository, digest);
    const content = record && (await this.deps.store.manifests.content(repository, digest));
    return record && content && { digest, mediaType: record.mediaType, content };
  }

  async getBlob(
    repository: string,
    digest: string,
    signal: AbortSignal,
  ): Promise<{ readonly size: number; readonly body: Readable } | undefined> {
    signal.throwIfAborted();
    const blob = await this.deps.blobs.stat(repository, digest);
    if (!blob) return undefined;
    return { size: blob.size, body: await this.deps.blobs.open(blob) };
  }

  async listReferrers(repository: string, digest: string, signal: AbortSignal): Promise<EndpointReferrer[]> {
    signal.throwIfAborted();
    const records = await this.deps.store.manifests.referrers(repository, digest);
    return records.map((record) => ({
      digest: record.digest,
      mediaType: record.mediaType,
      size: record.size,
      ...(record.artifactType !== undefined && { artifactType: record.artifactType }),
    }));
  }

  // The destination role.

  async hasBlob(repository: string, digest: string, signal: AbortSignal): Promise<boolean> {
    signal.throwIfAborted();
    return (await this.deps.blobs.stat(repository, digest)) !== undefined;
  }

  async mountBlob(repository: string, digest: string, fromRepository: string, signal: AbortSignal): Promise<boolean> {
    signal.throwIfAborted();
    await this.ensureWritable(repository);
    return (await this.deps.blobs.mount(repository, digest, [fromRepository])) !== undefined;
  }

  async putBlob(
    repository: string,
    digest: string,
    size: number,
    body: Readable,
    options: BlobWriteOptions,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      signal.throwIfAborted();
      const parsed = parseDigest(digest);
      if (typeof parsed === "string") throw new Error(`cannot store a blob whose digest is ${parsed}: ${digest}`);
      await this.ensureWritable(repository);
      const bytes = addAbortSignal(signal, body);
      if (options.chunkBytes === undefined || options.chunkBytes >= size) {
        await this.deps.blobs.write(repository, parsed, bytes, size);
        return;
      }
      const { uploads } = this.deps;
      const upload = await uploads.start(repository, parsed.algorithm);
      try {
        let received = 0;
        for await (const piece of streamChunks(bytes, options.chunkBytes)) {
          const length = Math.min(options.chunkBytes, size - received);
          if (length <= 0) throw new Error(`blob ${digest} is longer than the ${size} bytes declared`);
          const updated = await uploads.append(repository, upload.id, piece, {
            range: { start: received, end: received + length - 1 },
            length,
          });
          received = updated.size;
        }
        if (received !== size) throw new Error(`blob ${digest} ended after ${received} of its ${size} bytes`);
        await uploads.complete(repository, upload.id, parsed, undefined, {});
      } catch (error) {
        await uploads.cancel(repository, upload.id).catch(() => undefined);
        throw error;
      }
    } finally {
      if (!body.readableEnded) body.destroy();
    }
  }

  async headManifest(repository: string, reference: string, signal: AbortSignal): Promise<string | undefined> {
    signal.throwIfAborted();
    const digest = await this.resolve(repository, reference);
    if (digest === undefined) return undefined;
    return (await this.deps.store.manifests.get(repository, digest)) ? digest : undefined;
  }

  async putManifest(
    repository: string,
    reference: string,
    manifest: EndpointManifest,
    signal: AbortSignal,
  ): Promise<void> {
    signal.throwIfAborted();
    await this.ensureWritable(repository);
    const pushed = await this.deps.manifests.push(
      repository,
      parseReference(reference),
      manifest.content,
      manifest.mediaType,
      [],
      this.operator,
    );
    if (pushed.digest !== manifest.digest) {
      throw new Error(`the manifest stored as ${pushed.digest} was sent as ${manifest.digest}`);
    }
  }

  async deleteManifest(repository: string, digest: string, signal: AbortSignal): Promise<boolean> {
    signal.throwIfAborted();
    return this.deleted(repository, { kind: "digest", digest: parsedDigest(digest) });
  }

  async deleteTag(repository: string, tag: string, signal: AbortSignal): Promise<boolean> {
    signal.throwIfAborted();
    return this.deleted(repository, { kind: "tag", tag });
  }

  /** Deletes through the manifest service (immutability, indexes' children); false when not there. */
  private async deleted(repository: string, reference: Reference): Promise<boolean> {
    try {
      await this.deps.manifests.delete(repository, reference, this.operator);
      return true;
    } catch (error) {
      if (error instanceof RegistryError && (error.code === "MANIFEST_UNKNOWN" || error.code === "NAME_UNKNOWN")) {
        return false;
      }
      throw error;
    }
  }

  /** The digest a tag or digest names here; undefined when absent. */
  private async resolve(repository: string, reference: string): Promise<string | undefined> {
    if (reference.includes(":")) return reference;
    return (await this.deps.store.tags.get(repository, reference))?.digest;
  }

  /** Creates the repository's project when missing; refuses proxy-cache projects. */
  private async ensureWritable(repository: string): Promise<void> {
    const { store } = this.deps;
    const name = repository.split("/")[0] ?? "";
    if (name === "" || name === repository) {
      throw new Error(`cannot write ${JSON.stringify(repository)}: a repository here is named <project>/<name>`);
    }
    const project = await store.projects.getByName(name);
    if (project) {
      if (project.registryId !== undefined) {
        throw new Error(`project ${name} is a proxy cache: replication cannot write into it`);
      }
      return;
    }
    const owner = await store.users.getByName(this.deps.projectOwner);
    if (!owner) throw new Error(`cannot create project ${name}: no user ${JSON.stringify(this.deps.projectOwner)}`);
    try {
      await store.projects.create(
        { name, ownerId: owner.id, metadata: { public: "false" }, storageLimit: -1 },
        new Date(),
      );
    } catch (error) {
      // Created meanwhile by a push or another task: just as good.
      if (!(error instanceof ConflictError)) throw error;
    }
  }
}

function parsedDigest(digest: string): Extract<Reference, { kind: "digest" }>["digest"] {
  const parsed = parseDigest(digest);
  if (typeof parsed === "string") throw new Error(`${digest} is not a digest this registry takes (${parsed})`);
  return parsed;
}
