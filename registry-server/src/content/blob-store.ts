// Blobs as a repository sees them: a blob is readable in a repository once it is linked there,
// its bytes being the ordered parts the metadata store records. Writing whole blobs (monolithic
// uploads, data embedded in manifests), mounting, reading with ranges and unlinking live here;
// chunked upload sessions are in upload-service.ts.

import { Readable, type Writable } from "node:stream";
import { pipeline as pipelinePromise } from "node:stream/promises";
import { RegistryError } from "../http/errors.ts";
import type { Logger } from "../logger.ts";
import { mayHaveCommitted, type BlobPart, type BlobRecord, type MetadataStore } from "../metadata/metadata-store.ts";
import type { ByteRange, StorageDriver } from "../storage/storage-driver.ts";
import { createHasher, type ParsedDigest } from "./digest.ts";
import { NO_EVENTS, type EventPublisher } from "../events/registry-events.ts";
import { checkQuota, crossesWarning, QuotaExceededError, quotaWarningMessage, type QuotaUse } from "./quota-policy.ts";
import { newPartPath } from "./layout.ts";
import { verifiedBody, type BodyObserver } from "./verified-body.ts";

export class BlobStore {
  private readonly driver: StorageDriver;
  private readonly metadata: MetadataStore;
  private readonly log: Logger;
  /** Whether project quotas are enforced (the `quota_per_project_enable` setting). */
  private readonly quotasEnforced: () => Promise<boolean>;
  /** Told of pushes refused for a quota and of usage crossing its warning level. */
  private readonly events: EventPublisher;

  constructor(
    driver: StorageDriver,
    metadata: MetadataStore,
    log: Logger,
    quotasEnforced: () => Promise<boolean> = async () => true,
    events: EventPublisher = NO_EVENTS,
  ) {
    this.driver = driver;
    this.metadata = metadata;
    this.log = log;
    this.quotasEnforced = quotasEnforced;
    this.events = events;
  }

  /** The blob, if it is linked in the repository. */
  async stat(repository: string, digest: string): Promise<BlobRecord | undefined> {
    if (!(await this.metadata.blobs.isLinked(repository, digest))) return undefined;
    return this.metadata.blobs.get(digest);
  }

  /** Streams a blob's bytes, or a range of them, across its parts. */
  async open(blob: BlobRecord, range?: ByteRange): Promise<Readable> {
    const wanted = range ?? { offset: 0, length: blob.size };
    const [only] = blob.parts;
    if (blob.parts.length === 1 && only) return this.driver.read(only.path, range);
    const [first, ...rest] = sliceParts(blob.parts, wanted);
    const driver = this.driver;
    // The first part is opened here, before any byte goes out: a storage that cannot serve fails
    // the request with its own error rather than cutting a response already started.
    const opened = first && (await driver.read(first.path, first.range));
    return Readable.from(
      (async function* () {
        if (opened) yield* opened;
        for (const slice of rest) yield* await driver.read(slice.path, slice.range);
      })(),
      { objectMode: false },
    );
  }

  /**
   * Sends a blob's bytes, or a range, into `destination` and ends it; through the driver's
   * buffer-reusing fast path when it has one.
   */
  async send(blob: BlobRecord, range: ByteRange | undefined, destination: Writable): Promise<void> {
    const copyTo = this.driver.copyTo?.bind(this.driver);
    if (!copyTo) {
      const source = await this.open(blob, range);
      await pipelinePromise(source, destination);
      return;
    }
    for (const slice of sliceParts(blob.parts, range ?? { offset: 0, length: blob.size })) {
      await copyTo(slice.path, destination, slice.range);
    }
    destination.end();
  }

  /**
   * Stores a whole blob from a stream and links it in the repository. The bytes are verified
   * against the digest (and the length, when declared) before anything becomes visible;
   * `observer` sees them pass, and hears when they checked out, before they are committed.
   */
  async write(
    repository: string,
    digest: ParsedDigest,
    body: AsyncIterable<unknown>,
    expectedBytes?: number,
    observer?: BodyObserver,
  ): Promise<BlobRecord> {
    const verified = verifiedBody(body, {
      hash: createHasher(digest.algorithm),
      algorithm: digest.algorithm,
      expectedDigest: digest.text,
      ...(expectedBytes !== undefined && { expectedBytes }),
      ...(observer && { observer }),
    });
    const path = newPartPath();
    // A failure anywhere (client gone, bad length or digest) rejects the write, leaving nothing.
    const size = await this.driver.write(path, verified);
    const parts = size === 0 ? [] : [{ path, size }];
    if (size === 0) await this.driver.delete(path);
    return this.commit(repository, digest.text, size, parts);
  }

  /** Stores a small blob held in memory (already verified by the caller). */
  async writeBytes(repository: string, digest: string, data: Uint8Array): Promise<BlobRecord> {
    const path = newPartPath();
    if (data.length > 0) await this.driver.writeBytes(path, data);
    return this.commit(repository, digest, data.length, data.length === 0 ? [] : [{ path, size: data.length }]);
  }

  /**
   * Records a blob made of parts already written, links it, and drops the parts if the same
   * blob was recorded meanwhile (the first copy wins; identical bytes either way). With `session`,
   * the upload session those parts were written for ends in the same transaction, provided it is
   * still there at the size its caller read: otherwise (expired, closed or appended to by another
   * replica meanwhile) nothing is recorded, as its parts are no longer the caller's.
   */
  async commit(
    repository: string,
    digest: string,
    size: number,
    parts: BlobPart[],
    session?: { id: string; size: number },
  ): Promise<BlobRecord> {
    let outcome: { record: BlobRecord; created: boolean };
    let use: QuotaUse | undefined;
    try {
      const enforced = await this.quotasEnforced();
      outcome = await this.metadata.transaction(async (tx) => {
        use = undefined;
        if (enforced && !(await tx.blobs.isLinked(repository, digest))) {
          use = await checkQuota(tx, repository, digest, size);
        }
        const result = await tx.blobs.create({ digest, size, parts, createdAt: new Date() });
        // Recorded a moment ago in this transaction: nothing can have deleted it since.
        if (!(await tx.blobs.link(repository, digest))) throw new Error(`blob ${digest} vanished as it was committed`);
        if (session && !(await tx.uploads.delete(session.id, session.size))) {
          throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "the upload session ended or moved on as it was closed");
        }
        return result;
      });
    } catch (err) {
      this.quotaExceeded(err, repository, digest);
      // Refused (over quota): the bytes written for nothing go. An upload session keeps its parts,
      // and so does a commit cut off on its way (the database went down): it may have landed, and
      // a blob recorded without its bytes would be corrupt where a stray object is only waste.
      if (session === undefined && !mayHaveCommitted(err)) await this.deleteParts(parts);
      throw err;
    }
    if (!outcome.created) await this.deleteParts(parts);
    this.quotaWarning(use, repository, digest);
    return outcome.record;
  }

  /**
   * Links a blob into `repository` from one of `sources` (repositories the caller may read).
   * Without sources, any repository holding the blob will do ("mount without from").
   */
  async mount(repository: string, digest: string, sources?: readonly string[]): Promise<BlobRecord | undefined> {
    const blob = await this.metadata.blobs.get(digest);
    if (!blob) return undefined;
    if (sources !== undefined) {
      const holders = new Set(await this.metadata.blobs.repositoriesOf(digest));
      if (!sources.some((source) => holders.has(source))) return undefined;
    }
    const enforced = await this.quotasEnforced();
    let use: QuotaUse | undefined;
    const linked = await this.metadata
      .transaction(async (tx) => {
        use = undefined;
        if (enforced && !(await tx.blobs.isLinked(repository, digest))) {
          use = await checkQuota(tx, repository, digest, blob.size);
        }
        return tx.blobs.link(repository, digest);
      })
      .catch((err: unknown) => {
        this.quotaExceeded(err, repository, digest);
        throw err;
      });
    if (linked) this.quotaWarning(use, repository, digest);
    // Garbage collection deleted it since it was read: the client uploads it instead.
    return linked ? blob : undefined;
  }

  /** The repositories holding a blob (mount candidates). */
  async holders(digest: string): Promise<string[]> {
    return this.metadata.blobs.repositoriesOf(digest);
  }

  /** Removes a blob from a repository; its bytes go when garbage collection finds them unused. */
  async unlink(repository: string, digest: string): Promise<boolean> {
    return this.metadata.blobs.unlink(repository, digest);
  }

  /** QUOTA_EXCEED when `error` is a refusal for the quota (the caller is not known here: operator ""). */
  private quotaExceeded(error: unknown, repository: string, digest: string): void {
    if (!(error instanceof QuotaExceededError)) return;
    this.events.publish({
      type: "QUOTA_EXCEED",
      occurredAt: new Date(),
      operator: "",
      projectName: error.use.project,
      repository,
      digest,
      details: error.message,
    });
  }

  /** QUOTA_WARNING when the blob just linked took its project across the warning level. */
  private quotaWarning(use: QuotaUse | undefined, repository: string, digest: string): void {
    if (!use || !crossesWarning(use)) return;
    this.events.publish({
      type: "QUOTA_WARNING",
      occurredAt: new Date(),
      operator: "",
      projectName: use.project,
      repository,
      digest,
      details: quotaWarningMessage(use),
    });
  }

  async deleteParts(parts: readonly BlobPart[]): Promise<void> {
    for (const part of parts) {
      await this.driver
        .delete(part.path)
        .catch((err: unknown) => this.log.warn({ err, path: part.path }, "could not delete part"));
    }
  }
}

/** The parts, and the range within each, that cover `range` of the whole blob. */
export function sliceParts(parts: readonly BlobPart[], range: ByteRange): Array<{ path: string; range: ByteRange }> {
  const slices: Array<{ path: string; range: ByteRange }> = [];
  let start = 0;
  const end = range.offset + range.length;
  for (const part of parts) {
    const partEnd = start + part.size;
    const from = Math.max(start, range.offset);
    const to = Math.min(partEnd, end);
    if (to > from) slices.push({ path: part.path, range: { offset: from - start, length: to - from } });
    start = partEnd;
  }
  return slices;
}
