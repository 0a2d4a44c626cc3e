// The storage driver for an S3 bucket: the object at "a/b/c" is the key "<prefix>/a/b/c".
//
// S3 gives the contract's atomicity itself: a PutObject or a completed multipart upload replaces
// an object at once, and readers see the old object or the new one (s3-upload.ts writes). Keys
// are listed in UTF-8 byte order, which for the contract's [A-Za-z0-9._-] segments is the
// lexical order the contract asks for. Unlike a filesystem, "a" can be an object and a prefix.
//
// Reads stream the response body as it arrives; a range becomes a ranged GetObject, checked
// against the size S3 reports in Content-Range. Serving content (copyTo) writes the body's chunks
// to the client and frees each one as soon as the client's socket has taken it.
//
// An S3 that cannot serve for now (down, cut off, 5xx, throttling) fails a call with
// StorageUnavailableError, as s3-failures.ts decides; a refusal (no bucket, access denied) is
// passed on as the S3 client reports it (S3ResponseError, named by S3's code).

import { Readable, type Writable } from "node:stream";
import { releaseChunk } from "./handed-over-chunks.ts";
import { S3ResponseError, type ObjectBody, type S3Client } from "./s3-client.ts";
import { s3BodyFailure, s3Call, s3Failure } from "./s3-failures.ts";
import { uploadObject, MIN_PART_BYTES, type UploadOptions } from "./s3-upload.ts";
import {
  assertValidPath,
  InvalidRangeError,
  ObjectNotFoundError,
  ObjectTooLargeError,
  type ByteRange,
  type ObjectInfo,
  type StorageDriver,
} from "./storage-driver.ts";

export interface S3DriverOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Keys start with "<prefix>/" ("" for none): several registries, or other data, may share a bucket. */
  readonly prefix: string;
  /** Part size of multipart uploads, at least 5 MiB: memory per write is a few parts. */
  readonly partBytes: number;
  /** Parts of one write sent at once. */
  readonly maxConcurrentParts: number;
  /** Told when a failed multipart upload could not be aborted. */
  readonly onAbortFailure?: (key: string, uploadId: string, error: unknown) => void;
}

/** Keys per ListObjectsV2 page (S3's maximum). */
const LIST_PAGE_KEYS = 1000;

export class S3Driver implements StorageDriver {
  readonly name = "s3";
  readonly bucket: string;
  readonly #client: S3Client;
  /** "" or "<prefix>/". */
  readonly #keyPrefix: string;
  readonly #options: S3DriverOptions;

  constructor(options: S3DriverOptions) {
    if (options.prefix !== "") assertValidPath(options.prefix);
    if (!Number.isSafeInteger(options.partBytes) || options.partBytes < MIN_PART_BYTES) {
      throw new Error(`S3 parts must be at least ${MIN_PART_BYTES} bytes`);
    }
    if (!Number.isSafeInteger(options.maxConcurrentParts) || options.maxConcurrentParts < 1) {
      throw new Error("at least one S3 part must be allowed in flight");
    }
    this.#client = options.client;
    this.bucket = options.bucket;
    this.#keyPrefix = options.prefix === "" ? "" : `${options.prefix}/`;
    this.#options = options;
  }

  async write(path: string, body: AsyncIterable<unknown>): Promise<number> {
    assertValidPath(path);
    const key = this.#key(path);
    const options: UploadOptions = {
      partBytes: this.#options.partBytes,
      maxConcurrentParts: this.#options.maxConcurrentParts,
      onAbortFailure: (uploadId, error) => this.#options.onAbortFailure?.(key, uploadId, error),
    };
    return s3Call(uploadObject({ client: this.#client, bucket: this.bucket, key }, body, options));
  }

  /** Every S3 write is durable once it resolves (deferred durability is the same here). */
  async persist(paths: readonly string[]): Promise<void> {
    for (const path of paths) assertValidPath(path);
  }

  async writeBytes(path: string, data: Uint8Array): Promise<void> {
    await this.write(path, Readable.from([data]));
  }

  async read(path: string, range?: ByteRange): Promise<Readable> {
    assertValidPath(path);
    if (range === undefined) return (await this.#get(path)).body;
    const { offset, length } = range;
    const valid = Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0;
    // HTTP cannot ask for zero bytes, nor for a malformed range: the object's size decides.
    if (!valid || length === 0) {
      const info = await this.stat(path);
      if (!info) throw new ObjectNotFoundError(path);
      if (valid && offset <= info.size) return Readable.from([]);
      throw new InvalidRangeError(path, range, info.size);
    }
    let output: ObjectBody;
    try {
      output = await this.#get(path, `bytes=${offset}-${offset + length - 1}`);
    } catch (error) {
      if (statusOf(error) !== 416) throw error;
      // The range starts past the end: report it with the size, or the object as missing.
      const info = await this.stat(path);
      if (!info) throw new ObjectNotFoundError(path);
      throw new InvalidRangeError(path, range, info.size);
    }
    const body = output.body;
    // S3 shortens a range that runs past the end; the contract refuses it.
    const size = totalSize(output.contentRange);
    if (size === undefined || offset + length > size) {
      body.destroy();
      if (size === undefined) throw new Error(`S3 answered a ranged read of ${path} without Content-Range`);
      throw new InvalidRangeError(path, range, size);
    }
    return body;
  }

  /**
   * Writes the object, or a range of it, into `destination` as S3 sends it, freeing each chunk
   * once the destination has taken it. Left to the garbage collector, the chunks of concurrent
   * pulls were freed in no particular order and a replica's malloc heap kept 82-87 MiB after
   * eight 256 MiB pulls (bench/profiles/README.md, "Memory").
   */
  async copyTo(path: string, destination: Writable, range?: ByteRange): Promise<number> {
    const body = await this.read(path, range);
    let written = 0;
    try {
      const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = await chunks.next();
        } catch (error) {
          throw s3BodyFailure(error);
        }
        if (next.done) return written;
        const chunk = next.value;
        written += chunk.length;
        // A destination gone (the client left) takes no more, and its write would not say so.
        if (destination.destroyed) throw destinationFailure(destination);
        // The chunk is this body's alone (the response's parser made it): once the socket has
        // it, nothing reads it again.
        if (!destination.write(chunk, () => releaseChunk(chunk))) await drained(destination);
      }
    } finally {
      // Done, or left early (the destination failed): an unfinished body must not hold its socket.
      if (!body.readableEnded) body.destroy();
    }
  }

  async readBytes(path: string, maxBytes: number): Promise<Buffer> {
    assertValidPath(path);
    const output = await this.#get(path);
    const body = output.body;
    if ((output.contentLength ?? 0) > maxBytes) {
      body.destroy();
      throw new ObjectTooLargeError(path, maxBytes);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        total += chunk.length;
        // Leaving the loop destroys the body: never buffer more than was allowed.
        if (total > maxBytes) throw new ObjectTooLargeError(path, maxBytes);
        chunks.push(chunk);
      }
    } catch (error) {
      throw s3BodyFailure(error);
    }
    return Buffer.concat(chunks, total);
  }

  async stat(path: string): Promise<ObjectInfo | undefined> {
    assertValidPath(path);
    const head = await s3Call(this.#client.headObject(this.bucket, this.#key(path)));
    return head && { path, size: head.size, modifiedAt: head.modifiedAt };
  }

  async delete(path: string): Promise<void> {
    assertValidPath(path);
    try {
      await this.#client.deleteObject(this.bucket, this.#key(path));
    } catch (error) {
      // S3 itself answers 204 for a missing key; some compatible servers answer 404.
      if (!isNotFound(error)) throw s3Failure(error);
    }
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    assertValidPath(prefix);
    const keyPrefix = `${this.#key(prefix)}/`;
    const seenTokens = new Set<string>();
    let token: string | undefined;
    // Each round reads one page; a token seen twice (a broken server) ends it with an error.
    for (;;) {
      const page = await s3Call(this.#client.listObjects(this.bucket, keyPrefix, LIST_PAGE_KEYS, token));
      for (const object of page.objects) {
        const path = object.key.slice(this.#keyPrefix.length);
        // Keys that are no valid path (directory markers "x/", written by other tools) are not objects.
        if (!object.key.startsWith(keyPrefix) || !isValidPath(path)) continue;
        yield { path, size: object.size, modifiedAt: object.modifiedAt };
      }
      if (!page.isTruncated) return;
      token = page.nextContinuationToken;
      if (token === undefined || seenTokens.has(token)) throw new Error(`S3 listing of ${keyPrefix} does not advance`);
      seenTokens.add(token);
    }
  }

  /**
   * Whether the bucket can be reached with these credentials (HeadBucket): rejects with
   * StorageUnavailableError when S3 cannot serve, with the client's S3ResponseError when it refuses.
   */
  async checkBucket(signal?: AbortSignal): Promise<void> {
    await s3Call(this.#client.headBucket(this.bucket, signal));
  }

  /** GetObject, a missing key becoming ObjectNotFoundError. */
  async #get(path: string, range?: string): Promise<ObjectBody> {
    try {
      return await this.#client.getObject(this.bucket, this.#key(path), range);
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(path);
      throw s3Failure(error);
    }
  }

  #key(path: string): string {
    return this.#keyPrefix + path;
  }
}

/** Why `destination` takes no more: its own error, or that it closed. */
function destinationFailure(destination: Writable): Error {
  return destination.errored ?? new Error("the destination closed before the object was written");
}

/** Resolves when `destination` wants more, rejects when it fails or closes first. */
function drained(destination: Writable): Promise<void> {
  // Gone already: its `close` has been and will not come again.
  if (destination.destroyed) return Promise.reject(destinationFailure(destination));
  if (!destination.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const settle = (error?: Error): void => {
      destination.off("drain", onDrain);
      destination.off("error", onError);
      destination.off("close", onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onDrain = (): void => settle();
    const onError = (error: Error): void => settle(error);
    const onClose = (): void => settle(destinationFailure(destination));
    destination.on("drain", onDrain);
    destination.on("error", onError);
    destination.on("close", onClose);
  });
}

/** The object's total size from "bytes 0-9/1000". */
function totalSize(contentRange: string | undefined): number | undefined {
  const match = /^bytes \d+-\d+\/(\d+)$/.exec(contentRange ?? "");
  return match ? Number(match[1]) : undefined;
}

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ResponseError ? error.status : undefined;
}

/**
 * A missing key: NoSuchKey from a GET, or a bodiless 404 from a HEAD. A missing bucket is not
 * (NoSuchBucket), except behind a HEAD, which cannot tell: the health check reports that case.
 */
function isNotFound(error: unknown): boolean {
  return error instanceof S3ResponseError && (error.code === "NoSuchKey" || error.code === "NotFound");
}

function isValidPath(path: string): boolean {
  try {
    assertValidPath(path);
    return true;
  } catch {
    return false;
  }
}
