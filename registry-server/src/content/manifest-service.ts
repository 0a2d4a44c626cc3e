// Manifests in a repository: push (validated, referenced content checked against what the
// repository holds, sizes included, then stored byte for byte with its tags in one transaction),
// pull by tag or digest with content negotiation, delete (refused while an index needs the
// manifest), tags listing and the referrers index. What must be present is the configured
// ManifestValidation: everything by default, or sparse indexes and images.

import { RegistryError } from "../http/errors.ts";
import type { ManifestRecord, MetadataAreas, MetadataStore } from "../metadata/metadata-store.ts";
import type { BlobStore } from "./blob-store.ts";
import { digestOf, parseDigest, type ParsedDigest } from "./digest.ts";
import { parseManifest, type Descriptor, type ParsedManifest } from "./manifest-parser.ts";
import { childRequired, STRICT_VALIDATION, type ManifestValidation } from "./manifest-validation.ts";
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  MANIFEST_KINDS,
  OCI_IMAGE_INDEX,
  OCI_IMAGE_MANIFEST,
} from "./media-types.ts";
import { isValidTag } from "./names.ts";
import type { ImmutableTagGuard } from "../immutability/immutable-tag-guard.ts";

export interface PushResult {
  digest: string;
  mediaType: string;
  /** The manifest's size in bytes. */
  size: number;
  subject?: string;
  tags: string[];
}

/** What a deletion removed: a manifest (with the tags that named it) or one tag. */
export type DeleteResult =
  | { readonly kind: "manifest"; readonly record: ManifestRecord; readonly tags: readonly string[] }
  | { readonly kind: "tag"; readonly tag: string; readonly digest: string };

export interface StoredManifest {
  record: ManifestRecord;
  content: Buffer;
}

/** A manifest reference from a URL: a digest or a tag. */
export type Reference = { kind: "digest"; digest: ParsedDigest } | { kind: "tag"; tag: string };

export function parseReference(text: string): Reference {
  if (text.includes(":")) {
    const digest = parseDigest(text);
    if (typeof digest === "string") {
      throw new RegistryError(
        "DIGEST_INVALID",
        `${digest === "unsupported" ? "unsupported" : "invalid"} digest ${text}`,
      );
    }
    return { kind: "digest", digest };
  }
  if (!isValidTag(text))
    throw new RegistryError("MANIFEST_INVALID", `invalid tag ${JSON.stringify(text)}`, { status: 400 });
  return { kind: "tag", tag: text };
}

const INDEX_TYPES = new Set([OCI_IMAGE_INDEX, DOCKER_MANIFEST_LIST]);

/**
 * Garbage collection's claim on the blobs a manifest being put references (gc/README.md, claim 3),
 * in the transaction that records the references: a blob the push found but that a collection
 * removed meanwhile makes the push fail as if it had never been there.
 */
async function claimBlobs(tx: MetadataAreas, present: readonly string[], at: Date): Promise<void> {
  if (present.length === 0) return;
  const recorded = await tx.blobs.touch(present, at);
  const gone = present.find((digest) => !recorded.has(digest));
  if (gone !== undefined) {
    throw new RegistryError("MANIFEST_BLOB_UNKNOWN", `manifest references a blob unknown to the repository: ${gone}`, {
      detail: { digest: gone },
    });
  }
}

/** A descriptor whose size is not that of the content it names. */
function sizeMismatch(where: string, d: Descriptor, stored: number): RegistryError {
  return new RegistryError(
    "MANIFEST_INVALID",
    `manifest invalid: ${where} declares ${d.size} bytes for ${d.digest}, which has ${stored}`,
    { detail: { digest: d.digest, declared: d.size, stored } },
  );
}

/** A manifest this registry now holds: pushed by a client, or fetched by the proxy cache. */
export interface StoredManifestEvent {
  readonly repository: string;
  readonly record: ManifestRecord;
  readonly source: "push" | "proxy";
  /** The tags the push or fetch pointed at it. */
  readonly tags: readonly string[];
  /** Who pushed it ("" when unknown or anonymous); "" for the proxy cache. */
  readonly operator: string;
}

/** A tag or manifest this registry no longer holds, deleted by a client or through the API. */
export interface DeletedManifestEvent {
  readonly repository: string;
  readonly result: DeleteResult;
  /** Who deleted it ("" when unknown). */
  readonly operator: string;
}

export class ManifestService {
  private readonly metadata: MetadataStore;
  private readonly onStored: ((event: StoredManifestEvent) => void) | undefined;
  private readonly onDeleted: ((event: DeletedManifestEvent) => void) | undefined;
  private readonly blobs: BlobStore;
  private readonly maxBytes: number;
  private readonly validation: ManifestValidation;
  private readonly immutability: ImmutableTagGuard | undefined;

  constructor(
    metadata: MetadataStore,
    blobs: BlobStore,
    options: {
      maxManifestBytes: number;
      validation?: ManifestValidation;
      immutability?: ImmutableTagGuard;
      /** Told of each manifest stored, after its commit (scan on push); must not throw nor block. */
      onStored?: (event: StoredManifestEvent) => void;
      /** Told of each deletion, after its commit; must not throw nor block. */
      onDeleted?: (event: DeletedManifestEvent) => void;
    },
  ) {
    this.onStored = options.onStored;
    this.onDeleted = options.onDeleted;
    this.metadata = metadata;
    this.blobs = blobs;
    this.maxBytes = options.maxManifestBytes;
    this.validation = options.validation ?? STRICT_VALIDATION;
    this.immutability = options.immutability;
  }

  get maxManifestBytes(): number {
    return this.maxBytes;
  }

  async push(
    repository: string,
    reference: Reference,
    body: Buffer,
    contentType: string | undefined,
    extraTags: string[],
    operator = "",
  ): Promise<PushResult> {
    const algorithm = reference.kind === "digest" ? reference.digest.algorithm : "sha256";
    const digest = digestOf(algorithm, body);
    if (reference.kind === "digest" && reference.digest.text !== digest) {
      throw new RegistryError("DIGEST_INVALID", "provided digest did not match uploaded content", {
        detail: { expected: reference.digest.text, actual: digest },
      });
    }
    for (const tag of extraTags) {
      if (!isValidTag(tag)) throw new RegistryError("MANIFEST_INVALID", `invalid tag ${JSON.stringify(tag)}`);
    }
    const manifest = parseManifest(body, contentType);
    const present = await this.checkBlobs(repository, manifest.blobs);

    const tags = [...new Set([...(reference.kind === "tag" ? [reference.tag] : []), ...extraTags])];
    await this.assertTagsMutable(repository, tags);
    const record = manifestRecord(repository, digest, body, manifest);
    await this.metadata.transaction(async (tx) => {
      // In the transaction that stores the index, so that a child deleted meanwhile cannot be missed.
      await this.checkChildren(tx, repository, manifest.children);
      const now = new Date();
      await claimBlobs(tx, present, now);
      await tx.manifests.put(record, body, references(manifest));
      for (const tag of tags) await tx.tags.put(repository, tag, digest, now);
    });
    this.onStored?.({ repository, record, source: "push", tags, operator });
    return {
      digest,
      mediaType: record.mediaType,
      size: record.size,
      ...(manifest.subject && { subject: manifest.subject.digest }),
      tags,
    };
  }

  /**
   * Refuses a push that would point an immutable tag that exists anywhere (ImmutableTagError);
   * tags that do not exist yet are free.
   */
  private async assertTagsMutable(repository: string, tags: readonly string[]): Promise<void> {
    if (!this.immutability || tags.length === 0) return;
    const existing: string[] = [];
    for (const tag of tags) if (await this.metadata.tags.get(repository, tag)) existing.push(tag);
    await this.immutability.assertMutable(repository, existing);
  }

  /** Resolves a reference to the stored manifest, or throws the right 404. */
  async get(repository: string, reference: Reference): Promise<StoredManifest> {
    const digest =
      reference.kind === "digest"
        ? reference.digest.text
        : (await this.metadata.tags.get(repository, reference.tag))?.digest;
    const record = digest === undefined ? undefined : await this.metadata.manifests.get(repository, digest);
    const content = record && (await this.metadata.manifests.content(repository, record.digest));
    if (!record || !content) throw await this.unknown(repository);
    return { record, content };
  }

  /**
   * Stores a manifest fetched from an upstream registry, byte for byte, and points `tag` at it.
   * Unlike a push, the blobs and child manifests it references need not be here: a proxy cache
   * fetches them when they are first pulled. `digest` is the content's, checked by the caller.
   */
  async storeFetched(
    repository: string,
    digest: string,
    content: Buffer,
    contentType: string,
    tag?: string,
  ): Promise<StoredManifest> {
    const manifest = parseManifest(content, contentType);
    const record = manifestRecord(repository, digest, content, manifest);
    await this.metadata.transaction(async (tx) => {
      await tx.manifests.put(record, content, references(manifest));
      if (tag !== undefined) await tx.tags.put(repository, tag, record.digest, new Date());
    });
    this.onStored?.({ repository, record, source: "proxy", tags: tag === undefined ? [] : [tag], operator: "" });
    return { record, content };
  }

  /** Forgets a tag, if it exists (a proxy cache whose upstream no longer has it). */
  async untag(repository: string, tag: string): Promise<void> {
    await this.metadata.tags.delete(repository, tag);
  }

  /**
   * Picks what to send for an Accept header: the manifest itself when acceptable; for an index a
   * client cannot read, its linux/amd64 image (what Distribution does for old Docker clients).
   */
  async negotiate(
    repository: string,
    stored: StoredManifest,
    accept: string | undefined,
    load: (digest: ParsedDigest) => Promise<StoredManifest> = (digest) =>
      this.get(repository, { kind: "digest", digest }),
  ): Promise<StoredManifest> {
    const accepted = acceptedTypes(accept);
    if (accepted === "any" || accepted.has(stored.record.mediaType)) return stored;
    if (INDEX_TYPES.has(stored.record.mediaType)) {
      const child = pickDefaultPlatform(stored.content);
      if (child && (accepted.has(OCI_IMAGE_MANIFEST) || accepted.has(DOCKER_MANIFEST))) {
        const resolved = await load(child).catch((err: unknown) => {
          // A sparse index may lack that image here.
          if (err instanceof RegistryError && err.code === "MANIFEST_UNKNOWN") {
            throw new RegistryError(
              "MANIFEST_UNKNOWN",
              `manifest is an index whose image for old clients (${child.text}) is not in this repository`,
            );
          }
          throw err;
        });
        if (accepted.has(resolved.record.mediaType)) return resolved;
      }
    }
    throw new RegistryError(
      "MANIFEST_UNKNOWN",
      `manifest is ${stored.record.mediaType}, which the Accept header does not allow`,
    );
  }

  /**
   * Deletes a tag, or a manifest with its tags. A manifest that an index of the repository needs
   * (every child, by default; with sparse indexes, the children the configuration requires) is
   * kept, as Harbor keeps it: deleting it would leave the index pointing at nothing. Delete the
   * index first.
   */
  /**
   * Deletes a tag (the manifest stays) or a manifest by digest (its tags with it), telling
   * `onDeleted` what went once it has committed.
   */
  async delete(repository: string, reference: Reference, operator = ""): Promise<DeleteResult> {
    if (reference.kind === "tag") {
      await this.immutability?.assertMutable(repository, [reference.tag]);
      const named = await this.metadata.tags.get(repository, reference.tag);
      if (!named || !(await this.metadata.tags.delete(repository, reference.tag))) throw await this.unknown(repository);
      const result: DeleteResult = { kind: "tag", tag: reference.tag, digest: named.digest };
      this.onDeleted?.({ repository, result, operator });
      return result;
    }
    const digest = reference.digest.text;
    const tags = await this.metadata.tags.forDigest(repository, digest);
    await this.immutability?.assertMutable(repository, tags);
    const deleted = await this.metadata.transaction(async (tx) => {
      const record = await tx.manifests.get(repository, digest);
      if (!record) return undefined;
      const needing = await this.indexesNeeding(tx, repository, digest);
      if (needing.length > 0) {
        // Harbor answers 412 with "the deleting artifact is referenced by others" (its code
        // VIOLATE_FOREIGN_KEY_CONSTRAINT, on /v2 as on its API). The status and message are
        // Harbor's, so its users' scripts keep working; the code must be one of the OCI
        // specification's, and UNSUPPORTED ("the operation is unsupported", what registries
        // answer for deletes they do not allow) says it best: DENIED would read as a missing
        // permission, and clients react to it by asking for credentials.
        throw new RegistryError("UNSUPPORTED", "the deleting artifact is referenced by others", {
          status: 412,
          detail: { digest, referencedBy: needing },
        });
      }
      return (await tx.manifests.delete(repository, digest)) ? record : undefined;
    });
    if (!deleted) throw await this.unknown(repository);
    const result: DeleteResult = { kind: "manifest", record: deleted, tags };
    this.onDeleted?.({ repository, result, operator });
    return result;
  }

  async tags(repository: string, page: { after?: string; limit?: number }): Promise<string[]> {
    if (!(await this.metadata.repositories.exists(repository))) {
      throw new RegistryError("NAME_UNKNOWN", "repository name not known to registry");
    }
    return this.metadata.tags.list(repository, page);
  }

  /** The referrers index of a subject: one descriptor per manifest whose subject it is. */
  async referrers(repository: string, subject: string, artifactType?: string): Promise<Record<string, unknown>> {
    const records = await this.metadata.manifests.referrers(repository, subject, artifactType);
    return {
      schemaVersion: 2,
      mediaType: OCI_IMAGE_INDEX,
      manifests: records.map((r) => ({
        mediaType: r.mediaType,
        digest: r.digest,
        size: r.size,
        ...(r.artifactType !== undefined && { artifactType: r.artifactType }),
        ...(r.annotations !== undefined && { annotations: r.annotations }),
      })),
    };
  }

  private async unknown(repository: string): Promise<RegistryError> {
    return (await this.metadata.repositories.exists(repository))
      ? new RegistryError("MANIFEST_UNKNOWN", "manifest unknown to registry")
      : new RegistryError("NAME_UNKNOWN", "repository name not known to registry");
  }

  /**
   * Every config and layer must be in the repository with the size the manifest declares, or
   * embedded (`data`), or foreign (`urls`); with sparse images, absent ones are let through.
   */
  private async checkBlobs(repository: string, descriptors: readonly Descriptor[]): Promise<string[]> {
    const present: string[] = [];
    for (const [i, d] of descriptors.entries()) {
      const stored = await this.blobs.stat(repository, d.digest);
      if (stored) {
        if (stored.size !== d.size) throw sizeMismatch(i === 0 ? "config" : `layers[${i - 1}]`, d, stored.size);
        present.push(d.digest);
        continue;
      }
      if (d.data !== undefined) {
        await this.storeEmbedded(repository, d);
        present.push(d.digest);
        continue;
      }
      if (d.urls && d.urls.length > 0) continue;
      if (this.validation.blobs === "none") continue;
      throw new RegistryError(
        "MANIFEST_BLOB_UNKNOWN",
        `manifest references a blob unknown to the repository: ${d.digest}`,
        {
          detail: { digest: d.digest },
        },
      );
    }
    return present;
  }

  /** Embedded data (already checked against its descriptor) becomes a blob like any other. */
  private async storeEmbedded(repository: string, d: Descriptor): Promise<void> {
    await this.blobs.writeBytes(repository, d.digest, Buffer.from(d.data ?? "", "base64"));
  }

  /**
   * An index may only list manifests already in the repository, with their sizes; with sparse
   * indexes, only the children the configuration requires must be there.
   */
  private async checkChildren(tx: MetadataAreas, repository: string, children: readonly Descriptor[]): Promise<void> {
    if (children.length === 0) return;
    const present = await tx.manifests.existing(
      repository,
      children.map((c) => c.digest),
    );
    const missing: string[] = [];
    for (const [i, child] of children.entries()) {
      const size = present.get(child.digest);
      if (size === undefined) {
        if (childRequired(this.validation, child)) missing.push(child.digest);
      } else if (size !== child.size) {
        throw sizeMismatch(`manifests[${i}]`, child, size);
      }
    }
    const [first] = missing;
    if (first !== undefined) {
      // Every missing child in the detail: an importer probing with a sparse index learns at
      // once whether what it lacks is needed, before it sends anything.
      throw new RegistryError(
        "MANIFEST_BLOB_UNKNOWN",
        `index references a manifest unknown to the repository: ${first}`,
        {
          detail: { digest: first, missing },
        },
      );
    }
  }

  /**
   * The children among `absent` (an index's children that an import does not bring) that this
   * registry would still require of the repository: what makes it refuse a sparse index.
   */
  async requiredMissing(repository: string, absent: readonly Descriptor[]): Promise<Descriptor[]> {
    const required = absent.filter((child) => childRequired(this.validation, child));
    if (required.length === 0) return [];
    const present = await this.metadata.manifests.existing(
      repository,
      required.map((child) => child.digest),
    );
    return required.filter((child) => !present.has(child.digest));
  }

  /** The indexes of the repository that must keep `digest` as a child, by digest. */
  private async indexesNeeding(tx: MetadataAreas, repository: string, digest: string): Promise<string[]> {
    const parents = await tx.manifests.parents(repository, digest);
    if (this.validation.indexChildren === "all") return parents;
    const needing: string[] = [];
    for (const parent of parents) {
      const content = await tx.manifests.content(repository, parent);
      if (!content) continue;
      const entries = childEntries(content).filter((entry) => entry.digest === digest);
      if (entries.some((entry) => childRequired(this.validation, entry))) needing.push(parent);
    }
    return needing;
  }
}

/** An index's entries as descriptors (as stored, it parsed when it was pushed); none if it no longer does. */
function childEntries(content: Buffer): Descriptor[] {
  try {
    return [...parseManifest(content, undefined).children];
  } catch {
    return [];
  }
}

function manifestRecord(repository: string, digest: string, body: Buffer, manifest: ParsedManifest): ManifestRecord {
  return {
    repository,
    digest,
    mediaType: manifest.mediaType,
    size: body.length,
    ...(manifest.artifactType !== undefined && { artifactType: manifest.artifactType }),
    ...(manifest.subject && { subject: manifest.subject.digest }),
    ...(manifest.annotations && { annotations: manifest.annotations }),
    ...(manifest.kind === "image" && manifest.blobs[0] && { configMediaType: manifest.blobs[0].mediaType }),
    createdAt: new Date(),
  };
}

function references(manifest: ParsedManifest): { blobs: string[]; manifests: string[] } {
  return {
    blobs: [...new Set(manifest.blobs.map((d) => d.digest))],
    manifests: [...new Set(manifest.children.map((d) => d.digest))],
  };
}

/** The media types an Accept header allows, or "any" (absent, or a wildcard). */
function acceptedTypes(accept: string | undefined): Set<string> | "any" {
  if (!accept) return "any";
  const types = accept
    .split(",")
    .map((part) => part.split(";")[0]?.trim().toLowerCase() ?? "")
    .filter(Boolean);
  if (types.length === 0 || types.some((t) => t === "*/*" || t === "application/*")) return "any";
  // Clients that only say application/json predate content negotiation: give them what is stored.
  if (types.every((t) => t === "application/json")) return "any";
  return new Set(types.filter((t) => MANIFEST_KINDS[t] !== undefined || t.startsWith("application/")));
}

/** The linux/amd64 entry of an index (else its first image entry), as a digest. */
function pickDefaultPlatform(index: Buffer): ParsedDigest | undefined {
  try {
    const parsed = JSON.parse(index.toString("utf8")) as {
      manifests?: Array<{ digest?: string; mediaType?: string; platform?: { os?: string; architecture?: string } }>;
    };
    const entries = (parsed.manifests ?? []).filter(
      (m) => m.mediaType === OCI_IMAGE_MANIFEST || m.mediaType === DOCKER_MANIFEST,
    );
    const chosen = entries.find((m) => m.platform?.os === "linux" && m.platform.architecture === "amd64") ?? entries[0];
    const digest = chosen?.digest === undefined ? undefined : parseDigest(chosen.digest);
    return digest === undefined || typeof digest === "string" ? undefined : digest;
  } catch {
    return undefined;
  }
}
