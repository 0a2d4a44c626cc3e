// The write side of another registry, for replication pushes: blobs (exists, mount, upload
// monolithic or chunked), manifests (put, delete by digest) and tags (delete alone). It shares
// the read side's requester, so one token per repository scope serves the copy's reads and
// writes, and applies the same naming rules (Docker Hub's `library/`).
//
// Failures follow the adapter contract (upstream-registry.ts): "not there" is `false`, anything
// else an UpstreamError of its kind. Registry types differ where the factory gives quirks:
// Harbor wants a project before a push into it and deletes a tag alone only through its API; ECR
// wants its repository created and deletes through its own API. Other registries are asked
// `DELETE /v2/<name>/manifests/<tag>` (OCI 1.1), and where that is not supported (CNCF
// Distribution 2.x answers 400/405 UNSUPPORTED) the tag's manifest is deleted when no other tag
// names it, and the answer is false otherwise: the tag cannot go alone.

import type { Readable } from "node:stream";
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST } from "../content/media-types.ts";
import { cancelUpload, sendChunked, sendMonolithic, startUpload, type UploadSession } from "./blob-upload.ts";
import { discard } from "./http-transport.ts";
import { addToReferrersTag } from "./referrers.ts";
import {
  deleteScope,
  failureOf,
  header,
  mountScope,
  pushScope,
  v2Url,
  type RegistryTarget,
} from "./registry-requests.ts";
import { sessionUrl } from "./upload-location.ts";
import { describeRequest } from "./upstream-failures.ts";
import { UpstreamError, type UpstreamRegistry } from "./upstream-registry.ts";

const MANIFEST_TYPES = [OCI_IMAGE_MANIFEST, OCI_IMAGE_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST];
/** Tags compared when deciding whether a tag's manifest may go with it. */
const MAX_TAGS_COMPARED = 1_000;

export interface BlobToWrite {
  readonly digest: string;
  readonly size: number;
  /** Consumed, or destroyed on failure. */
  readonly body: Readable;
}

export interface ManifestToWrite {
  readonly digest: string;
  readonly mediaType: string;
  readonly content: Buffer;
}

export interface RegistryWriter {
  /** `HEAD` of the blob in the repository. */
  hasBlob(repository: string, digest: string, signal?: AbortSignal): Promise<boolean>;
  /** Cross-repository mount; false when the registry started an upload instead (cancelled). */
  mountBlob(repository: string, digest: string, fromRepository: string, signal?: AbortSignal): Promise<boolean>;
  /** Uploads the blob, in `chunkBytes` PATCHes when given; nothing is visible unless all of it is right. */
  putBlob(repository: string, blob: BlobToWrite, chunkBytes: number | undefined, signal?: AbortSignal): Promise<void>;
  /** `PUT` of the manifest under a tag or its digest. */
  putManifest(repository: string, reference: string, manifest: ManifestToWrite, signal?: AbortSignal): Promise<void>;
  /** `DELETE` by digest; false when it was not there. */
  deleteManifest(repository: string, digest: string, signal?: AbortSignal): Promise<boolean>;
  /** Deletes the tag alone, or its manifest when no other tag names it (above); false otherwise. */
  deleteTag(repository: string, tag: string, signal?: AbortSignal): Promise<boolean>;
}

/** What a registry type does its own way; repository names are the registry's spelling. */
export interface WriteQuirks {
  /** Before the first write into a repository (Harbor's project, ECR's repository). */
  readonly prepare?: (repository: string, signal?: AbortSignal) => Promise<void>;
  /** Deletes a tag alone where `/v2` cannot; false when there was no such tag. */
  readonly deleteTag?: (repository: string, tag: string, signal?: AbortSignal) => Promise<boolean>;
  /** Deletes a manifest and its tags where `/v2` cannot; false when it was not there. */
  readonly deleteManifest?: (repository: string, digest: string, signal?: AbortSignal) => Promise<boolean>;
}

export interface HttpRegistryWriterOptions {
  readonly target: RegistryTarget;
  /** The read side (manifest HEAD, tags, the referrers tag), with the same naming rules. */
  readonly reader: UpstreamRegistry;
  /** The repository's name upstream (Docker Hub's `library/`). */
  readonly repositoryName?: (repository: string) => string;
  readonly quirks?: WriteQuirks;
}

export class HttpRegistryWriter implements RegistryWriter {
  private readonly options: HttpRegistryWriterOptions;
  /** Learnt at the first refusal: the registry cannot `DELETE` a tag through `/v2`. */
  private tagDeletionUnsupported = false;

  constructor(options: HttpRegistryWriterOptions) {
    this.options = options;
  }

  async hasBlob(repository: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    const name = this.name(repository);
    const url = v2Url(this.options.target, `${name}/blobs/${digest}`);
    const response = await this.options.target.requester.send({
      method: "HEAD",
      url,
      scope: pushScope(name),
      ...(signal && { signal }),
    });
    await discard(response);
    if (response.statusCode === 200) return true;
    if (response.statusCode === 404) return false;
    throw await failureOf(response, describeRequest("HEAD", url));
  }

  async mountBlob(repository: string, digest: string, fromRepository: string, signal?: AbortSignal): Promise<boolean> {
    await this.prepare(repository, signal);
    const name = this.name(repository);
    const from = this.name(fromRepository);
    const query = `mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
    const url = v2Url(this.options.target, `${name}/blobs/uploads/?${query}`);
    const response = await this.options.target.requester.send({
      method: "POST",
      url,
      scope: mountScope(name, from),
      body: "",
      ...(signal && { signal }),
    });
    if (response.statusCode === 201) {
      await discard(response);
      return true;
    }
    if (response.statusCode === 202) {
      // Not mountable: the registry opened an ordinary upload session instead, not wanted here.
      await discard(response);
      let location: URL | undefined;
      try {
        location = sessionUrl(header(response, "location"), url, "POST");
      } catch {
        return false; // nowhere to cancel on this registry: the session expires by itself
      }
      await cancelUpload(this.options.target, name, { location, minChunkBytes: undefined });
      return false;
    }
    throw await failureOf(response, describeRequest("POST", url));
  }

  async putBlob(
    repository: string,
    blob: BlobToWrite,
    chunkBytes: number | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const target = this.options.target;
    const name = this.name(repository);
    let session: UploadSession | undefined;
    try {
      await this.prepare(repository, signal);
      session = await startUpload(target, name, signal);
      if (chunkBytes === undefined) await sendMonolithic(target, name, session, blob, signal);
      else await sendChunked(target, name, session, blob, chunkBytes, signal);
    } catch (err) {
      blob.body.destroy();
      if (session) await cancelUpload(target, name, session);
      throw err;
    }
  }

  async putManifest(
    repository: string,
    reference: string,
    manifest: ManifestToWrite,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.prepare(repository, signal);
    const name = this.name(repository);
    const url = v2Url(this.options.target, `${name}/manifests/${reference}`);
    const where = describeRequest("PUT", url);
    if (reference.includes(":") && reference !== manifest.digest) {
      throw new UpstreamError("protocol", `${where}: the manifest's digest is ${manifest.digest}`);
    }
    const response = await this.options.target.requester.send({
      method: "PUT",
      url,
      scope: pushScope(name),
      headers: { "Content-Type": manifest.mediaType },
      body: manifest.content,
      ...(signal && { signal }),
    });
    if (response.statusCode !== 201) throw await failureOf(response, where);
    await discard(response);
    const given = header(response, "docker-content-digest");
    if (given !== undefined && given !== manifest.digest) {
      throw new UpstreamError("protocol", `${where}: the registry stored ${given}, not ${manifest.digest}`);
    }
    // A registry with the referrers API says so with OCI-Subject; others need the tag schema.
    if (header(response, "oci-subject") === undefined && hasSubject(manifest.content)) {
      await addToReferrersTag(
        this.options.target,
        this.options.reader,
        { name: repository, upstream: name },
        manifest,
        signal,
      );
    }
  }

  async deleteManifest(repository: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    const own = this.options.quirks?.deleteManifest;
    if (own) return own(this.name(repository), digest, signal);
    return (await this.deleteReference(repository, digest, signal)) === true;
  }

  async deleteTag(repository: string, tag: string, signal?: AbortSignal): Promise<boolean> {
    const own = this.options.quirks?.deleteTag;
    if (own) return own(this.name(repository), tag, signal);
    if (!this.tagDeletionUnsupported) {
      const deleted = await this.deleteReference(repository, tag, signal, true);
      if (deleted !== "unsupported") return deleted;
      this.tagDeletionUnsupported = true;
    }
    return this.deleteTagByManifest(repository, tag, signal);
  }

  /** The fallback: the tag's manifest goes, and the tag with it, when no other tag names it. */
  private async deleteTagByManifest(repository: string, tag: string, signal?: AbortSignal): Promise<boolean> {
    const reader = this.options.reader;
    const head = await reader.headManifest(repository, tag, MANIFEST_TYPES, signal);
    if (!head) return false;
    const tags = (await reader.listTags(repository, MAX_TAGS_COMPARED, signal)) ?? [];
    for (const other of tags) {
      if (other === tag) continue;
      if ((await reader.headManifest(repository, other, MANIFEST_TYPES, signal))?.digest === head.digest) return false;
    }
    return this.deleteManifest(repository, head.digest, signal);
  }

  private async deleteReference(
    repository: string,
    reference: string,
    signal: AbortSignal | undefined,
    isTag = false,
  ): Promise<boolean | "unsupported"> {
    const name = this.name(repository);
    const url = v2Url(this.options.target, `${name}/manifests/${reference}`);
    const response = await this.options.target.requester.send({
      method: "DELETE",
      url,
      scope: deleteScope(name),
      ...(signal && { signal }),
    });
    if (response.statusCode === 202 || response.statusCode === 200 || response.statusCode === 204) {
      await discard(response);
      return true;
    }
    if (response.statusCode === 404) {
      await discard(response);
      return false;
    }
    if (isTag && (response.statusCode === 400 || response.statusCode === 405)) {
      await discard(response);
      return "unsupported";
    }
    throw await failureOf(response, describeRequest("DELETE", url));
  }

  private async prepare(repository: string, signal: AbortSignal | undefined): Promise<void> {
    await this.options.quirks?.prepare?.(this.name(repository), signal);
  }

  private name(repository: string): string {
    return this.options.repositoryName ? this.options.repositoryName(repository) : repository;
  }
}

function hasSubject(content: Buffer): boolean {
  try {
    const subject = (JSON.parse(content.toString("utf8")) as { subject?: unknown }).subject;
    return subject !== null && typeof subject === "object";
  } catch {
    return false;
  }
}
