// Blob upload sessions (POST, PATCH…, PUT; GET status; DELETE cancel). Each chunk is written as a
// new part object while it is hashed onto the session's running hash, which stays in memory
// because Node's hash state cannot be saved. A process that does not have it (after a restart, or
// when another worker or replica took the previous chunk: a client opening a connection per
// request lands on each in turn) writes the chunk unhashed, and the digest is computed from the
// stored parts once, when the session closes: rebuilding the hash at every such chunk made a
// push through two workers read back everything before each chunk (quadratic). Requests on one
// session are serialised in this process; across replicas the metadata store's compare-and-set on
// the session size decides, so two chunks can never claim the same offset.
//
// Parts are written with deferred durability and made durable together when the blob is recorded
// (one flush per push, not one per chunk). A crash of the machine before may lose the end of a
// part the session counts; the hash is then rebuilt from what the parts hold, so the PUT fails
// its digest check (the client pushes again) and no blob is ever recorded over lost bytes.

import { randomUUID, type Hash } from "node:crypto";
import { RegistryError } from "../http/errors.ts";
import type { Logger } from "../logger.ts";
import {
  mayHaveCommitted,
  type BlobPart,
  type DigestAlgorithm,
  type MetadataStore,
  type UploadRecord,
} from "../metadata/metadata-store.ts";
import type { StorageDriver } from "../storage/storage-driver.ts";
import type { BlobStore } from "./blob-store.ts";
import { createHasher, type ParsedDigest } from "./digest.ts";
import { newPartPath } from "./layout.ts";
import { verifiedBody } from "./verified-body.ts";
import type { BlobRecord } from "../metadata/metadata-store.ts";

/** What the client said about a chunk: its Content-Range and Content-Length, when sent. */
export interface ChunkHeaders {
  range?: { start: number; end: number };
  length?: number;
}

interface HashState {
  algorithm: DigestAlgorithm;
  hash: Hash;
  size: number;
}

/** In-memory hash states kept at most; beyond, the oldest are dropped (and rebuilt if needed). */
const MAX_HASH_STATES = 10_000;

export function uploadLocation(repository: string, id: string): string {
  return `/v2/${repository}/blobs/uploads/${id}`;
}

/** The upload's `Range` header value: the inclusive range of bytes received. */
export function uploadRange(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function rangeNotSatisfiable(upload: UploadRecord, message: string): RegistryError {
  return new RegistryError("BLOB_UPLOAD_INVALID", message, {
    status: 416,
    headers: {
      Location: uploadLocation(upload.repository, upload.id),
      Range: uploadRange(upload.size),
      "Docker-Upload-UUID": upload.id,
    },
  });
}

export class UploadService {
  private readonly driver: StorageDriver;
  private readonly metadata: MetadataStore;
  private readonly blobs: BlobStore;
  private readonly hashes = new Map<string, HashState>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(driver: StorageDriver, metadata: MetadataStore, blobs: BlobStore, _log: Logger) {
    this.driver = driver;
    this.metadata = metadata;
    this.blobs = blobs;
  }

  async start(repository: string, algorithm: DigestAlgorithm): Promise<UploadRecord> {
    const now = new Date();
    const upload: UploadRecord = {
      id: randomUUID(),
      repository,
      algorithm,
      size: 0,
      parts: [],
      createdAt: now,
      updatedAt: now,
    };
    await this.metadata.uploads.create(upload);
    this.remember(upload.id, { algorithm, hash: createHasher(algorithm), size: 0 });
    return upload;
  }

  /** The session, which must belong to the repository. */
  async status(repository: string, id: string): Promise<UploadRecord> {
    const upload = await this.metadata.uploads.get(id);
    if (!upload || upload.repository !== repository) {
      throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry");
    }
    return upload;
  }

  append(repository: string, id: string, body: AsyncIterable<unknown>, chunk: ChunkHeaders): Promise<UploadRecord> {
    return this.serialised(id, async () => this.appendChunk(await this.status(repository, id), body, chunk));
  }

  /**
   * Closes the session: the optional last chunk, then the digest check, then the blob. When the
   * running hash is at hand, the last chunk is verified as it streams and the blob is recorded
   * in the same transaction that ends the session (the usual POST-then-PUT push costs one
   * metadata commit, not two).
   */
  complete(
    repository: string,
    id: string,
    digest: ParsedDigest,
    body: AsyncIterable<unknown> | undefined,
    chunk: ChunkHeaders,
  ): Promise<BlobRecord> {
    return this.serialised(id, async () => {
      let upload = await this.status(repository, id);
      if (body && (await this.hashState(upload)).algorithm === digest.algorithm) {
        const written = await this.writeChunk(upload, body, chunk, digest.text);
        const parts = written.part ? [...upload.parts, written.part] : [...upload.parts];
        try {
          return await this.commitBlob(repository, digest.text, upload.size + (written.part?.size ?? 0), parts, upload);
        } catch (err) {
          // A commit cut off on its way may have recorded the blob: its last part stays then.
          if (written.part && !mayHaveCommitted(err)) await this.blobs.deleteParts([written.part]);
          throw err;
        }
      }
      if (body) upload = await this.appendChunk(upload, body, chunk);
      const actual = await this.digestOf(upload, digest.algorithm);
      if (actual !== digest.text) {
        throw new RegistryError("DIGEST_INVALID", "provided digest did not match uploaded content", {
          detail: { expected: digest.text, actual },
        });
      }
      return this.commitBlob(repository, digest.text, upload.size, [...upload.parts], upload);
    });
  }

  /**
   * Records the blob and ends the session, once every part is durable: the chunks were written
   * with deferred durability, and a blob must never be recorded over parts a crash could cut.
   */
  private async commitBlob(
    repository: string,
    digest: string,
    size: number,
    parts: BlobPart[],
    session: UploadRecord,
  ): Promise<BlobRecord> {
    await this.driver.persist(parts.map((part) => part.path));
    const blob = await this.blobs.commit(repository, digest, size, parts, { id: session.id, size: session.size });
    this.hashes.delete(session.id);
    return blob;
  }

  cancel(repository: string, id: string): Promise<void> {
    return this.serialised(id, async () => {
      const upload = await this.status(repository, id);
      // The parts the record held when it went: a chunk another replica appended since included.
      const ended = await this.metadata.uploads.delete(upload.id);
      if (ended) await this.blobs.deleteParts(ended.parts);
      this.hashes.delete(id);
    });
  }

  /**
   * Checks a chunk's range and writes it as a new part, hashing it onto a copy of the session's
   * running hash; with `expectedDigest`, the stream fails before the part is kept unless the
   * whole upload then has that digest. Nothing is recorded in the session here.
   */
  private async writeChunk(
    upload: UploadRecord,
    body: AsyncIterable<unknown>,
    chunk: ChunkHeaders,
    expectedDigest?: string,
  ): Promise<{ part?: BlobPart; state: HashState | undefined }> {
    const { range, length } = chunk;
    if (range) {
      if (range.start !== upload.size) {
        throw rangeNotSatisfiable(upload, `chunk starts at ${range.start}, the upload has ${upload.size} bytes`);
      }
      if (length !== undefined && range.end - range.start + 1 !== length) {
        throw rangeNotSatisfiable(
          upload,
          `Content-Range ${range.start}-${range.end} does not match Content-Length ${length}`,
        );
      }
    }
    const expectedBytes = length ?? (range ? range.end - range.start + 1 : undefined);

    // Checking a digest now needs the whole hash (rebuilt here if need be, once); otherwise the
    // chunk is hashed only onto a running hash this process has.
    const state = expectedDigest !== undefined ? await this.hashState(upload) : this.runningHash(upload);
    const working = state?.hash.copy();
    const verified = verifiedBody(body, {
      ...(working && { hash: working }),
      algorithm: upload.algorithm,
      ...(expectedBytes !== undefined && { expectedBytes }),
      ...(expectedDigest !== undefined && { expectedDigest }),
    });
    const path = newPartPath();
    const size = await this.driver.write(path, verified, { durability: "deferred" });
    const next = working && { algorithm: upload.algorithm, hash: working, size: upload.size + size };
    if (size === 0) {
      await this.driver.delete(path);
      return { state: next };
    }
    return { part: { path, size }, state: next };
  }

  private async appendChunk(
    upload: UploadRecord,
    body: AsyncIterable<unknown>,
    chunk: ChunkHeaders,
  ): Promise<UploadRecord> {
    const { part, state } = await this.writeChunk(upload, body, chunk);
    if (!part) return upload;
    let updated: UploadRecord | undefined;
    try {
      updated = await this.metadata.uploads.appendPart(upload.id, upload.size, part, new Date());
    } catch (err) {
      // Not recorded (the database is full or away): the part would be garbage nobody lists. A
      // commit cut off on its way may have recorded it: it stays then, as a stray at worst.
      if (!mayHaveCommitted(err)) await this.blobs.deleteParts([part]);
      throw err;
    }
    if (!updated) {
      await this.driver.delete(part.path);
      this.hashes.delete(upload.id);
      const current = (await this.metadata.uploads.get(upload.id)) ?? upload;
      throw rangeNotSatisfiable(current, "another chunk was written at this offset first");
    }
    if (state) this.remember(upload.id, state);
    else this.hashes.delete(upload.id);
    return updated;
  }

  /** The digest of everything received, in the algorithm asked for. */
  private async digestOf(upload: UploadRecord, algorithm: DigestAlgorithm): Promise<string> {
    const state = this.hashes.get(upload.id);
    const hash =
      state && state.algorithm === algorithm && state.size === upload.size
        ? state.hash.copy()
        : await this.rehash(upload, algorithm);
    return `${algorithm}:${hash.digest("hex")}`;
  }

  /** The session's running hash when this process has it, or nothing was received yet. */
  private runningHash(upload: UploadRecord): HashState | undefined {
    const known = this.hashes.get(upload.id);
    if (known && known.size === upload.size) return known;
    if (upload.size === 0) return { algorithm: upload.algorithm, hash: createHasher(upload.algorithm), size: 0 };
    return undefined;
  }

  private async hashState(upload: UploadRecord): Promise<HashState> {
    const known = this.hashes.get(upload.id);
    if (known && known.size === upload.size) return known;
    const rebuilt = {
      algorithm: upload.algorithm,
      hash: await this.rehash(upload, upload.algorithm),
      size: upload.size,
    };
    this.remember(upload.id, rebuilt);
    return rebuilt;
  }

  /** Hashes the parts stored so far. */
  private async rehash(upload: UploadRecord, algorithm: DigestAlgorithm): Promise<Hash> {
    const hash = createHasher(algorithm);
    for (const part of upload.parts) {
      for await (const chunk of await this.driver.read(part.path)) hash.update(chunk as Buffer);
    }
    return hash;
  }

  private remember(id: string, state: HashState): void {
    this.hashes.delete(id);
    this.hashes.set(id, state);
    if (this.hashes.size > MAX_HASH_STATES) {
      const oldest = this.hashes.keys().next().value;
      if (oldest !== undefined) this.hashes.delete(oldest);
    }
  }

  /** Runs `work` after every earlier request on the same session has finished. */
  private serialised<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.queues.set(id, settled);
    void settled.then(() => {
      if (this.queues.get(id) === settled) this.queues.delete(id);
    });
    return next;
  }
}
