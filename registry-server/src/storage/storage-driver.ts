// The storage driver contract: where blob bytes live. It is shaped so that an object store (S3)
// can implement it as directly as a filesystem:
//   - objects are written whole, from a stream, and become visible atomically when the stream
//     ends without error (S3: PutObject or a multipart upload completed at the end; filesystem:
//     a temporary file renamed into place). There is no append and no rename in the contract:
//     a chunked blob upload writes one object per chunk and the blob is the ordered list of
//     its parts (kept by the metadata store);
//   - reads may ask for a byte range;
//   - paths are relative, "/"-separated, made of [A-Za-z0-9._-] segments; drivers refuse
//     anything else (no "..", no leading "/", no empty segment);
//   - a backend that cannot be reached for now (refused or cut connections, timeouts, its own
//     5xx and throttling) fails the call with StorageUnavailableError, which clients are told to
//     retry; a backend out of room (a full disk, a filesystem quota) fails a write with
//     StorageFullError, leaving nothing behind; any other failure is passed on as it is;
//   - a write is durable when it resolves, unless asked for deferred durability: then it is
//     durable once `persist` has been called for it (the parts of an upload in progress).
//
// Every backend runs the shared contract suite in test/contracts/storage-driver-contract.ts.

import type { Readable, Writable } from "node:stream";
import { DependencyUnavailableError } from "../dependency-unavailable.ts";
import { InsufficientStorageError } from "../insufficient-storage.ts";

export interface ObjectInfo {
  /** The object's path, as given to the driver. */
  readonly path: string;
  readonly size: number;
  readonly modifiedAt: Date;
}

export interface ByteRange {
  /** First byte, from 0. */
  readonly offset: number;
  /** Number of bytes; the range must lie within the object. */
  readonly length: number;
}

/** How a write may be made durable. */
export interface WriteOptions {
  /**
   * "now" (the default): the object survives a crash of the machine once `write` resolves.
   * "deferred": it need not until `persist` is called for it. For objects that can be sent again
   * when lost (the parts of an upload still in progress), so that a chunk costs no disk flush of
   * its own; on a backend where every write is durable the two are the same.
   */
  durability?: "now" | "deferred";
}

export interface StorageDriver {
  /** Short name for logs and metrics, e.g. "filesystem". */
  readonly name: string;

  /**
   * Writes (creates or replaces) the object at `path` from `body` (a stream, or any async
   * iterable of bytes). The object becomes visible only when `body` ends without error, all at
   * once; if `body` errors or is destroyed, or the write fails, nothing is left behind and the
   * promise rejects with that error. A driver that stops early ends the iteration (which
   * destroys a stream). A driver never alters the chunks it reads, but may free those of a body
   * whose chunks were handed over (`handed-over-chunks.ts`) once it no longer needs them.
   * @throws StorageFullError when the backend has no room left for it
   * @returns the number of bytes written
   */
  write(path: string, body: AsyncIterable<unknown>, options?: WriteOptions): Promise<number>;

  /**
   * Makes the objects at `paths`, written with deferred durability, as durable as any other:
   * resolves once they would survive a crash of the machine. A path with no object is skipped
   * (whoever deleted it meant to), and paths written durably cost little or nothing.
   * @throws StorageFullError when the backend finds only now that it has no room for them
   */
  persist(paths: readonly string[]): Promise<void>;

  /** Writes a small object from memory, with the same atomicity as `write`. */
  writeBytes(path: string, data: Uint8Array): Promise<void>;

  /**
   * Opens the object for reading, whole or a byte range.
   * @throws ObjectNotFoundError when there is no such object
   * @throws InvalidRangeError when the range does not lie within the object
   */
  read(path: string, range?: ByteRange): Promise<Readable>;

  /**
   * Optional fast path for serving content: writes the object, or a range of it, into
   * `destination` (which is not ended) and resolves when all of it was handed over. A driver
   * implements it when it can do better than `read()`, e.g. by reusing buffers.
   * @throws ObjectNotFoundError, InvalidRangeError as `read` does; a destination error rejects
   * @returns the number of bytes written
   */
  copyTo?(path: string, destination: Writable, range?: ByteRange): Promise<number>;

  /**
   * Reads a whole small object into memory.
   * @throws ObjectNotFoundError when there is no such object
   * @throws ObjectTooLargeError when it is larger than `maxBytes`
   */
  readBytes(path: string, maxBytes: number): Promise<Buffer>;

  /** Size and modification time of an object, or undefined when there is none. */
  stat(path: string): Promise<ObjectInfo | undefined>;

  /** Deletes an object. Deleting an object that does not exist is not an error. */
  delete(path: string): Promise<void>;

  /** Lists the objects whose path starts with `prefix` + "/" (recursively), in lexical order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
}

export class ObjectNotFoundError extends Error {
  override name = "ObjectNotFoundError";
  readonly path: string;
  constructor(path: string) {
    super(`no object at ${path}`);
    this.path = path;
  }
}

export class ObjectTooLargeError extends Error {
  override name = "ObjectTooLargeError";
  readonly path: string;
  readonly maxBytes: number;
  constructor(path: string, maxBytes: number) {
    super(`object ${path} is larger than ${maxBytes} bytes`);
    this.path = path;
    this.maxBytes = maxBytes;
  }
}

export class InvalidRangeError extends Error {
  override name = "InvalidRangeError";
  readonly path: string;
  readonly range: ByteRange;
  readonly size: number;
  constructor(path: string, range: ByteRange, size: number) {
    super(`range ${range.offset}+${range.length} is outside ${path} (${size} bytes)`);
    this.path = path;
    this.range = range;
    this.size = size;
  }
}

/** The backend cannot serve for now (see the contract above); `reason` names how, briefly. */
export class StorageUnavailableError extends DependencyUnavailableError {
  override name = "StorageUnavailableError";
  constructor(reason: string, options?: { cause?: unknown }) {
    super("storage", reason, `the blob storage is unavailable (${reason})`, options);
  }
}

/**
 * The backend has no room for the object (`reason` says how: "no space left (ENOSPC)"); the
 * write left nothing behind, and the same write succeeds once space is freed.
 */
export class StorageFullError extends InsufficientStorageError {
  override name = "StorageFullError";
  constructor(reason: string, options?: { cause?: unknown }) {
    super("storage", reason, `the blob storage is full: ${reason}`, options);
  }
}

export class InvalidPathError extends Error {
  override name = "InvalidPathError";
  readonly path: string;
  constructor(path: string) {
    super(`invalid storage path ${JSON.stringify(path)}`);
    this.path = path;
  }
}

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Checks a driver path; every driver calls it before touching its backend. */
export function assertValidPath(path: string): void {
  const segments = path.split("/");
  const valid = path.length > 0 && segments.every((s) => SEGMENT.test(s) && s !== "." && s !== "..");
  if (!valid) throw new InvalidPathError(path);
}
