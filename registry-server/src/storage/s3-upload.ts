// Writes one S3 object from a stream, whole or not at all, in bounded memory.
//
// The body is cut into parts as it arrives. An object that ends within the first part goes up in
// one PutObject; a larger one becomes a multipart upload whose parts are sent while the body is
// still being read, a few at a time: reading waits while that many are in flight, so memory is
// about (maxConcurrentParts + 1) part sizes whatever the object's size. Parts are buffers rather
// than streams so that the S3 client can retry a failed request on its own.
//
// Atomicity comes from S3: a PutObject, or a multipart upload at its completion, replaces the
// object at once. On any failure (the body errors or closes early, a part is refused) the parts in
// flight are cancelled and the multipart upload aborted, so no object appears and no stored part
// stays billed; the write rejects with the first error, the body's own when it failed.

import { Readable } from "node:stream";
import { chunksHandedOver, releaseChunk } from "./handed-over-chunks.ts";
import type { CompletedPart, S3Client } from "./s3-client.ts";

/** S3's limits: parts of at least 5 MiB (but the last), at most 5 GiB, at most 10,000 of them. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024;
const MAX_PARTS = 10_000;
/** Parts are this many at each size before it doubles, so 10,000 parts reach terabytes. */
const PARTS_PER_SIZE = 1_000;

export interface UploadOptions {
  /** Size of every part but the last at first (at least 5 MiB); also the PutObject threshold. */
  readonly partBytes: number;
  /** Parts sent at once; reading the body waits while this many are in flight. */
  readonly maxConcurrentParts: number;
  /** Told when a failed multipart upload could not be aborted (its parts stay until a lifecycle rule). */
  readonly onAbortFailure?: (uploadId: string, error: unknown) => void;
}

export interface UploadTarget {
  /** What an upload needs of the S3 client. */
  readonly client: Pick<
    S3Client,
    "putObject" | "createMultipartUpload" | "uploadPart" | "completeMultipartUpload" | "abortMultipartUpload"
  >;
  readonly bucket: string;
  readonly key: string;
}

/**
 * Writes `body` to the object `target.key`.
 * @returns the number of bytes written
 */
export async function uploadObject(
  target: UploadTarget,
  body: AsyncIterable<unknown>,
  options: UploadOptions,
): Promise<number> {
  const pending = new PendingBytes(chunksHandedOver(body));
  let multipart: MultipartUpload | undefined;
  try {
    // Async iteration reads one chunk at a time (backpressure) and rejects when the stream errors
    // or is destroyed before its end; leaving the loop early destroys the stream.
    for await (const chunk of body) {
      pending.push(asBytes(chunk));
      // Strictly more than a part: an object of exactly one part size still goes up in one PutObject.
      while (pending.size > partBytesFor(multipart?.nextPartNumber ?? 1, options.partBytes)) {
        multipart ??= await MultipartUpload.start(target, options);
        await multipart.send(pending.take(partBytesFor(multipart.nextPartNumber, options.partBytes)));
      }
    }
    if (body instanceof Readable && !body.readableEnded) throw new Error("body stream closed before its end");
    if (!multipart) {
      const size = pending.size;
      const data = pending.take(size);
      await target.client.putObject(target.bucket, target.key, data);
      freeSentPart(data);
      return size;
    }
    if (pending.size > 0) await multipart.send(pending.take(pending.size));
    return await multipart.complete();
  } catch (error) {
    await multipart?.abort();
    throw error;
  }
}

/** Part sizes double every PARTS_PER_SIZE parts, so that no object runs out of part numbers. */
function partBytesFor(partNumber: number, base: number): number {
  return Math.min(base * 2 ** Math.floor((partNumber - 1) / PARTS_PER_SIZE), MAX_PART_BYTES);
}

/** One multipart upload in progress: its parts in flight and those already stored. */
class MultipartUpload {
  readonly #target: UploadTarget;
  readonly #uploadId: string;
  readonly #options: UploadOptions;
  /** Cancels the part requests in flight when the upload fails. */
  readonly #cancel = new AbortController();
  /** Each settles (never rejects) when its part is stored or has failed. */
  readonly #inFlight = new Set<Promise<void>>();
  readonly #parts: CompletedPart[] = [];
  #failure: { error: unknown } | undefined;
  #bytes = 0;
  nextPartNumber = 1;

  private constructor(target: UploadTarget, uploadId: string, options: UploadOptions) {
    this.#target = target;
    this.#uploadId = uploadId;
    this.#options = options;
  }

  static async start(target: UploadTarget, options: UploadOptions): Promise<MultipartUpload> {
    const uploadId = await target.client.createMultipartUpload(target.bucket, target.key);
    return new MultipartUpload(target, uploadId, options);
  }

  /** Starts sending a part once fewer than maxConcurrentParts are in flight. */
  async send(data: Buffer): Promise<void> {
    while (this.#inFlight.size >= this.#options.maxConcurrentParts) await Promise.race(this.#inFlight);
    this.#throwIfFailed();
    const partNumber = this.nextPartNumber++;
    if (partNumber > MAX_PARTS) throw new Error(`${this.#target.key} needs more than ${MAX_PARTS} parts`);
    this.#bytes += data.length;
    const { bucket, key } = this.#target;
    const sent: Promise<void> = this.#target.client
      .uploadPart(bucket, key, this.#uploadId, partNumber, data, this.#cancel.signal)
      .then((etag) => {
        freeSentPart(data);
        this.#parts.push({ partNumber, etag });
      })
      .catch((error: unknown) => {
        this.#failure ??= { error };
      })
      .finally(() => this.#inFlight.delete(sent));
    this.#inFlight.add(sent);
  }

  /** Waits for the parts in flight, then makes the object visible. */
  async complete(): Promise<number> {
    await Promise.all(this.#inFlight);
    this.#throwIfFailed();
    const parts = [...this.#parts].sort((a, b) => a.partNumber - b.partNumber);
    await this.#target.client.completeMultipartUpload(this.#target.bucket, this.#target.key, this.#uploadId, parts);
    return this.#bytes;
  }

  /**
   * Cancels the parts in flight and, once they have settled (a part finishing after the abort
   * would be stored again), aborts the upload. Never throws: the caller rethrows the first error.
   */
  async abort(): Promise<void> {
    this.#cancel.abort();
    await Promise.all(this.#inFlight);
    try {
      await this.#target.client.abortMultipartUpload(this.#target.bucket, this.#target.key, this.#uploadId);
    } catch (error) {
      this.#options.onAbortFailure?.(this.#uploadId, error);
    }
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}

/** Chunks received and not yet sent, taken out as parts of an exact size. */
class PendingBytes {
  /** Whether the chunks were handed over: each is freed once copied whole into a part. */
  readonly #release: boolean;
  #chunks: Uint8Array[] = [];
  /** Index of the first chunk not yet taken (shifting an array of many tiny chunks is quadratic). */
  #head = 0;
  size = 0;

  constructor(release: boolean) {
    this.#release = release;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.size += chunk.length;
  }

  /** The first `count` bytes, as one buffer of its own (a part must not pin the chunks it came from). */
  take(count: number): Buffer {
    const part = Buffer.allocUnsafeSlow(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.#chunks[this.#head];
      if (!chunk) throw new Error("fewer pending bytes than asked for");
      const used = Math.min(chunk.length, count - filled);
      part.set(chunk.subarray(0, used), filled);
      filled += used;
      if (used === chunk.length) {
        this.#head++;
        if (this.#release) releaseChunk(chunk);
      } else this.#chunks[this.#head] = chunk.subarray(used);
    }
    this.#chunks = this.#chunks.slice(this.#head);
    this.#head = 0;
    this.size -= count;
    return part;
  }
}

/**
 * Frees a part's buffer once S3 has answered that it stored it: the request has sent every byte
 * and the client retries no more. Freed at once, as the request's own chunks are, rather than by the
 * collector in no particular order (by hand, the pushing replica's heap did not move clearly
 * either way: bench/profiles/README.md, "Memory"). A part that failed is left to the collector:
 * its request may have ended before its body was written out.
 */
function freeSentPart(part: Buffer): void {
  releaseChunk(part);
}

function asBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === "string") return Buffer.from(chunk, "utf8");
  throw new TypeError("body stream must yield bytes");
}
