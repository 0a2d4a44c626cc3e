// The storage driver for a local directory: the object at "a/b/c" is the file <root>/a/b/c.
//
// Writes go to a temporary file next to the target, are fsynced and then renamed into place, so
// readers see the old object or the new one, never a part. A write with deferred durability skips
// the fsyncs (of the file and of its directory after the rename) until `persist` asks for them.
// Temporary names contain "~", which no valid path segment can, so they can never collide with an
// object nor be listed as one.
//
// Symlinks: the driver never creates any and never follows any below the root (the root itself
// may be reached through one). An object reached through a symlink does not exist for read,
// readBytes, stat, list and delete; write refuses it with SymlinkRefusedError. This keeps a
// planted or restored symlink from exposing or overwriting files outside the root; it is not a
// defence against someone who can modify the root while the driver runs.
//
// A write that runs out of room (ENOSPC, or EDQUOT under a filesystem quota) removes its temporary
// file like any failed write and rejects with StorageFullError once `onFull` has heard of it (the
// health check), so the space was already given back when it measures.
//
// Known limit of a filesystem: "a" cannot be an object and a prefix ("a/b") at the same time.

import { randomUUID } from "node:crypto";
import { constants, type Stats } from "node:fs";
import { lstat, mkdir, open, readdir, realpath, rename, rmdir, unlink, type FileHandle } from "node:fs/promises";
import * as nodePath from "node:path";
import { Readable, type Writable } from "node:stream";
import { chunksHandedOver, releaseChunk } from "./handed-over-chunks.ts";
import {
  assertValidPath,
  InvalidRangeError,
  ObjectNotFoundError,
  ObjectTooLargeError,
  type ByteRange,
  type ObjectInfo,
  StorageFullError,
  type StorageDriver,
  type WriteOptions,
} from "./storage-driver.ts";

type Durability = NonNullable<WriteOptions["durability"]>;

/** Incoming chunks are gathered until they hold this many bytes, then written with one writev. */
const WRITE_BATCH_BYTES = 4 * 1024 * 1024;
/** ... or until there are this many of them (the kernel takes at most 1,024 per writev). */
const WRITE_BATCH_CHUNKS = 1024;
/**
 * A large object's data is synced to disk in the background every this many bytes (one write
 * batch). Without it the whole object waited for the disk at the commit: 256 MiB of dirty pages
 * written back while the client waits for its 201, and each 16 MiB chunk of a chunked push
 * likewise (chunked pushes of 256 MiB: 287–373 MiB/s syncing every 32 MiB, 416–446 every 4 MiB).
 */
const SYNC_AHEAD_BYTES = 4 * 1024 * 1024;
/** Files `persist` syncs at once. */
const PERSIST_CONCURRENCY = 8;
/** Chunk size of read streams: large reads keep the per-chunk overhead low for big layers. */
const READ_CHUNK_BYTES = 1024 * 1024;
/** A concurrent delete may prune the directory a write has just created; tries before giving up. */
const CREATE_TEMPORARY_ATTEMPTS = 5;
const TEMPORARY_PREFIX = ".tmp~";
const SEGMENT = /^[A-Za-z0-9._-]+$/;
/** The errors of a filesystem with no room left, and how they are reported. */
const NO_ROOM: Readonly<Record<string, string>> = {
  ENOSPC: "no space left (ENOSPC)",
  EDQUOT: "disk quota exceeded (EDQUOT)",
};

/** Thrown by write when the target's directory is reached through a symlink. */
export class SymlinkRefusedError extends Error {
  override name = "SymlinkRefusedError";
  readonly path: string;
  constructor(path: string) {
    super(`refusing to write ${path}: its directory is reached through a symlink`);
    this.path = path;
  }
}

type DirectoryState = "real" | "missing" | "symlinked";

export interface FilesystemDriverOptions {
  /** Called after a write failed for lack of room, once its temporary file is gone; awaited. */
  onFull?: (error: StorageFullError) => void | Promise<void>;
}

export class FilesystemDriver implements StorageDriver {
  readonly name = "filesystem";
  readonly root: string;
  /** The root with its own symlinks resolved, once it exists. */
  #realRoot: string | undefined;
  readonly #onFull: ((error: StorageFullError) => void | Promise<void>) | undefined;

  constructor(root: string, options: FilesystemDriverOptions = {}) {
    if (!nodePath.isAbsolute(root)) throw new Error(`storage root must be an absolute path: ${root}`);
    this.root = nodePath.resolve(root);
    this.#onFull = options.onFull;
  }

  async write(path: string, body: AsyncIterable<unknown>, options: WriteOptions = {}): Promise<number> {
    assertValidPath(path);
    return this.#commit(path, (handle) => copyInto(body, handle), options.durability ?? "now");
  }

  /**
   * fdatasyncs each object's file (a few at a time: the disk takes them together), then each of
   * their directories once, which makes their renames durable.
   */
  async persist(paths: readonly string[]): Promise<void> {
    for (const path of paths) assertValidPath(path);
    const directories = new Set<string>();
    let next = 0;
    const persistNext = async (): Promise<void> => {
      while (next < paths.length) {
        const file = this.#file(paths[next++] as string);
        if (await syncFile(file)) directories.add(nodePath.dirname(file));
      }
    };
    try {
      // A disk that allocates blocks on writeback may find itself full only now.
      await Promise.all(Array.from({ length: Math.min(PERSIST_CONCURRENCY, paths.length) }, persistNext));
      await Promise.all([...directories].map(syncDirectory));
    } catch (error) {
      throw await this.#noRoomReported(error);
    }
  }

  async writeBytes(path: string, data: Uint8Array): Promise<void> {
    assertValidPath(path);
    await this.#commit(path, async (handle) => {
      await writeAll(handle, data, data.length, 0);
      return data.length;
    });
  }

  async read(path: string, range?: ByteRange): Promise<Readable> {
    assertValidPath(path);
    const { handle, size } = await this.#openObject(path);
    if (!range) return handle.createReadStream({ start: 0, highWaterMark: READ_CHUNK_BYTES });
    const { offset, length } = range;
    const valid =
      Number.isSafeInteger(offset) &&
      Number.isSafeInteger(length) &&
      offset >= 0 &&
      length >= 0 &&
      offset + length <= size;
    if (!valid || length === 0) {
      await handle.close();
      // A read stream cannot express an empty range (its end is inclusive).
      if (valid) return Readable.from([]);
      throw new InvalidRangeError(path, range, size);
    }
    return handle.createReadStream({ start: offset, end: offset + length - 1, highWaterMark: READ_CHUNK_BYTES });
  }

  /**
   * Serves an object through two reused buffers: a read stream allocates a fresh buffer per
   * chunk, and at registry speeds collecting them costs more CPU than copying the bytes.
   */
  async copyTo(path: string, destination: Writable, range?: ByteRange): Promise<number> {
    assertValidPath(path);
    const { handle, size } = await this.#openObject(path);
    try {
      const offset = range?.offset ?? 0;
      const length = range?.length ?? size;
      const valid =
        Number.isSafeInteger(offset) &&
        Number.isSafeInteger(length) &&
        offset >= 0 &&
        length >= 0 &&
        offset + length <= size;
      if (!valid) throw new InvalidRangeError(path, { offset, length }, size);
      const buffers = [Buffer.allocUnsafeSlow(READ_CHUNK_BYTES), Buffer.allocUnsafeSlow(READ_CHUNK_BYTES)];
      // A buffer is read into again only once the destination has taken its previous contents.
      const handedOver: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
      let position = offset;
      let remaining = length;
      let turn = 0;
      while (remaining > 0) {
        await handedOver[turn];
        const buffer = buffers[turn] as Buffer;
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, remaining), position);
        if (bytesRead === 0) throw new Error(`${path} is shorter than ${offset + length} bytes`);
        const handing = writeChunk(destination, buffer.subarray(0, bytesRead));
        // Awaited on the buffer's next turn or at the end; a destination that went away fails
        // both writes in flight, and the one not awaited then must not count as unhandled.
        handing.catch(() => undefined);
        handedOver[turn] = handing;
        position += bytesRead;
        remaining -= bytesRead;
        turn = 1 - turn;
      }
      await Promise.all(handedOver);
      // Every write is done: free the buffers now rather than when the collector finds them.
      // Left to it, a burst of pulls (a proxy miss's waiting clients) freed them in no order and
      // a worker's malloc heap kept ~20 MiB (bench/RESULTS.md, "2026-12-07, third").
      for (const buffer of buffers) releaseChunk(buffer);
      return length;
    } finally {
      await handle.close();
    }
  }

  async readBytes(path: string, maxBytes: number): Promise<Buffer> {
    assertValidPath(path);
    const { handle, size } = await this.#openObject(path);
    try {
      if (size > maxBytes) throw new ObjectTooLargeError(path, maxBytes);
      const data = await handle.readFile();
      // Objects are replaced by rename, never changed in place, so the size cannot have moved.
      if (data.length > maxBytes) throw new ObjectTooLargeError(path, maxBytes);
      return data;
    } finally {
      await handle.close();
    }
  }

  async stat(path: string): Promise<ObjectInfo | undefined> {
    assertValidPath(path);
    if ((await this.#directoryState(parentOf(path))) !== "real") return undefined;
    const stats = await lstatOrUndefined(this.#file(path));
    if (!stats?.isFile()) return undefined;
    return { path, size: stats.size, modifiedAt: stats.mtime };
  }

  async delete(path: string): Promise<void> {
    assertValidPath(path);
    if ((await this.#directoryState(parentOf(path))) !== "real") return;
    const file = this.#file(path);
    // Only regular files are objects: a directory is a prefix, a symlink is not ours to touch.
    const stats = await lstatOrUndefined(file);
    if (!stats?.isFile()) return;
    try {
      await unlink(file);
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw error;
    }
    await this.#pruneEmptyDirectories(nodePath.dirname(file));
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    assertValidPath(prefix);
    if ((await this.#directoryState(prefix)) !== "real") return;
    yield* this.#walk(prefix);
  }

  /** Objects below the directory `prefix`, depth first in lexical order of their full paths. */
  async *#walk(prefix: string): AsyncGenerator<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(this.#file(prefix), { withFileTypes: true });
    } catch (error) {
      // Deleted (or replaced by a file) since we got here: nothing below it any more.
      if (errorCode(error) === "ENOENT" || errorCode(error) === "ENOTDIR") return;
      throw error;
    }
    // Sorting a directory as "name/" puts "a-b" and "a.b" before everything under "a/", as in a
    // lexical sort of full paths ("-" and "." sort before "/"). Skipping names that are not valid
    // segments skips temporary files; symlinks are neither files nor directories here.
    const children = entries
      .filter((entry) => SEGMENT.test(entry.name) && (entry.isFile() || entry.isDirectory()))
      .map((entry) => ({ name: entry.name, isDirectory: entry.isDirectory() }))
      .sort((a, b) => compareStrings(sortKey(a), sortKey(b)));
    for (const child of children) {
      const path = `${prefix}/${child.name}`;
      if (child.isDirectory) {
        yield* this.#walk(path);
        continue;
      }
      const stats = await lstatOrUndefined(this.#file(path));
      if (stats?.isFile()) yield { path, size: stats.size, modifiedAt: stats.mtime };
    }
  }

  /**
   * Fills a temporary file beside the target, makes it durable and renames it into place.
   * On failure the temporary file, and the directories left empty, are removed; a failure for
   * lack of room is then reported as StorageFullError.
   */
  async #commit(
    path: string,
    fill: (handle: FileHandle) => Promise<number>,
    durability: Durability = "now",
  ): Promise<number> {
    try {
      return await this.#commitOrFail(path, fill, durability);
    } catch (error) {
      throw await this.#noRoomReported(error);
    }
  }

  /** `error`, or the StorageFullError it means (once `onFull` has heard of it). */
  async #noRoomReported(error: unknown): Promise<unknown> {
    const reason = NO_ROOM[errorCode(error) ?? ""];
    if (reason === undefined) return error;
    const full = new StorageFullError(reason, { cause: error });
    await Promise.resolve(this.#onFull?.(full)).catch(() => undefined);
    return full;
  }

  async #commitOrFail(
    path: string,
    fill: (handle: FileHandle) => Promise<number>,
    durability: Durability,
  ): Promise<number> {
    const target = this.#file(path);
    const { handle, file } = await this.#createTemporary(path);
    let handleOpen = true;
    try {
      const size = await fill(handle);
      // Deferred: `persist` makes the data and the rename durable later. A crash before may
      // leave the object short, empty or absent, never another object's bytes.
      if (durability === "now") await handle.sync();
      handleOpen = false;
      await handle.close();
      await rename(file, target);
      // Without this a crash could forget the rename. Should it fail, the object is already
      // visible although the write rejects: the one exception to "nothing is left behind".
      if (durability === "now") await syncDirectory(nodePath.dirname(target));
      return size;
    } catch (error) {
      if (handleOpen) await handle.close().catch(() => undefined);
      await unlink(file).catch(() => undefined);
      await this.#pruneEmptyDirectories(nodePath.dirname(target));
      throw error;
    }
  }

  #file(path: string): string {
    return nodePath.join(this.root, path);
  }

  /** Opens an object for reading; a missing object, a directory or a symlink is not found. */
  async #openObject(path: string): Promise<{ handle: FileHandle; size: number }> {
    if ((await this.#directoryState(parentOf(path))) !== "real") throw new ObjectNotFoundError(path);
    let handle: FileHandle;
    try {
      handle = await open(this.#file(path), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      const code = errorCode(error);
      if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP") throw new ObjectNotFoundError(path);
      throw error;
    }
    try {
      // The size comes from the open file, so a concurrent replace cannot make it disagree.
      const stats = await handle.stat();
      if (!stats.isFile()) throw new ObjectNotFoundError(path);
      return { handle, size: stats.size };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Creates the target's directories and an empty temporary file beside the target. */
  async #createTemporary(path: string): Promise<{ handle: FileHandle; file: string }> {
    const relativeDirectory = parentOf(path);
    const directory = this.#file(relativeDirectory);
    for (let attempt = 1; ; attempt++) {
      // Checked before mkdir: creating directories through a symlink would already escape the root.
      await this.#refuseSymlinkedAncestors(path, relativeDirectory);
      const file = nodePath.join(directory, `${TEMPORARY_PREFIX}${randomUUID()}`);
      try {
        await mkdir(directory, { recursive: true });
        return { handle: await open(file, "wx"), file };
      } catch (error) {
        if (errorCode(error) !== "ENOENT" || attempt >= CREATE_TEMPORARY_ATTEMPTS) throw error;
      }
    }
  }

  /** Throws unless the deepest existing directory on the way to `relativeDirectory` is real. */
  async #refuseSymlinkedAncestors(path: string, relativeDirectory: string): Promise<void> {
    let directory = relativeDirectory;
    // Each round removes one segment, so this ends at the root at the latest.
    for (;;) {
      const state = await this.#directoryState(directory);
      if (state === "symlinked") throw new SymlinkRefusedError(path);
      if (state === "real" || directory === "") return;
      directory = parentOf(directory);
    }
  }

  /**
   * Whether <root>/<relativeDirectory> exists and is reached without any symlink below the
   * root ("" is the root itself). A path through a regular file counts as real: opening below
   * it then fails with ENOTDIR, which callers treat as missing.
   */
  async #directoryState(relativeDirectory: string): Promise<DirectoryState> {
    const realRoot = await this.#resolvedRoot();
    if (realRoot === undefined) return "missing";
    if (relativeDirectory === "") return "real";
    let resolved: string;
    try {
      resolved = await realpath(this.#file(relativeDirectory));
    } catch (error) {
      const code = errorCode(error);
      if (code === "ENOENT" || code === "ENOTDIR") return "missing";
      throw error;
    }
    return resolved === nodePath.join(realRoot, relativeDirectory) ? "real" : "symlinked";
  }

  async #resolvedRoot(): Promise<string | undefined> {
    if (this.#realRoot !== undefined) return this.#realRoot;
    try {
      this.#realRoot = await realpath(this.root);
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw error;
    }
    return this.#realRoot;
  }

  /** Removes `directory` and its parents while they are empty, stopping below the root. */
  async #pruneEmptyDirectories(directory: string): Promise<void> {
    let current = directory;
    while (current.startsWith(this.root + nodePath.sep)) {
      try {
        await rmdir(current);
      } catch {
        // Not empty (or already gone, or busy): best effort, leave the rest alone.
        return;
      }
      current = nodePath.dirname(current);
    }
  }
}

/**
 * Streams `body` into `handle`, the chunks themselves written in batches of at least
 * WRITE_BATCH_BYTES with one writev each: no copy into a buffer of ours. One batch is written while
 * the next gathers, so reading and writing overlap and memory stays near two batches whatever the
 * object's size. A handed-over body's chunks are freed once written. Every SYNC_AHEAD_BYTES the
 * data written so far goes to disk in the background (fdatasync, one at a time, never holding the
 * writes up), so the disk writes a large object while the rest arrives and the fsync that
 * commits it waits mostly for the tail.
 * @returns the number of bytes written
 */
async function copyInto(body: AsyncIterable<unknown>, handle: FileHandle): Promise<number> {
  const release = chunksHandedOver(body);
  let gathered: Uint8Array[] = [];
  let gatheredBytes = 0;
  let position = 0;
  let writing: Promise<void> | undefined;
  /** The background syncs: the one in flight, the first failure, the position covered. */
  let syncing: Promise<void> | undefined;
  let syncFailure: { error: unknown } | undefined;
  let syncedTo = 0;

  const flush = async (): Promise<void> => {
    if (writing) await writing;
    if (syncFailure) throw syncFailure.error;
    // Everything before `position` is written (awaited above). A sync never holds the writes
    // up: while one runs, none starts, and the next covers what was written meanwhile (a proxy
    // miss relays its bytes to the client at the pace of these writes).
    if (!syncing && position - syncedTo >= SYNC_AHEAD_BYTES) {
      syncing = handle.datasync().then(
        () => {
          syncing = undefined;
        },
        (error: unknown) => {
          syncFailure ??= { error };
          syncing = undefined;
        },
      );
      syncedTo = position;
    }
    const batch = gathered;
    const done = writeAllChunks(handle, batch, position).then(() => {
      if (release) for (const chunk of batch) releaseChunk(chunk);
    });
    // Awaited at the next flush or at the end; until then a failure must not count as unhandled.
    done.catch(() => undefined);
    writing = done;
    position += gatheredBytes;
    gathered = [];
    gatheredBytes = 0;
  };

  try {
    // Async iteration reads one chunk at a time (backpressure) and rejects when the stream
    // errors or is destroyed before its end; leaving the loop early destroys the stream.
    for await (const chunk of body) {
      const bytes = asBytes(chunk);
      if (bytes.length === 0) continue;
      gathered.push(bytes);
      gatheredBytes += bytes.length;
      if (gatheredBytes >= WRITE_BATCH_BYTES || gathered.length >= WRITE_BATCH_CHUNKS) await flush();
    }
    if (body instanceof Readable && !body.readableEnded) throw new Error("body stream closed before its end");
    if (gatheredBytes > 0) await flush();
    await writing;
    await syncing;
    if (syncFailure) throw syncFailure.error;
    return position;
  } catch (error) {
    // The file is removed next: let the write and the sync in flight finish first.
    await writing?.catch(() => undefined);
    await syncing;
    throw error;
  }
}

/** Writes a chunk; resolves once the destination no longer needs the buffer. */
function writeChunk(destination: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    destination.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}

/** Writes `chunks` one after the other from `position`, however many calls it takes (exported for its tests). */
export async function writeAllChunks(
  handle: { writev(buffers: Uint8Array[], position: number): Promise<{ bytesWritten: number }> },
  chunks: readonly Uint8Array[],
  position: number,
): Promise<void> {
  let left = chunks;
  let at = position;
  while (left.length > 0) {
    const { bytesWritten } = await handle.writev([...left], at);
    if (bytesWritten === 0) throw new Error("write made no progress");
    at += bytesWritten;
    left = withoutFirstBytes(left, bytesWritten);
  }
}

/** `chunks` with their first `count` bytes dropped (after a short write). */
function withoutFirstBytes(chunks: readonly Uint8Array[], count: number): readonly Uint8Array[] {
  let skipped = 0;
  for (let index = 0; index < chunks.length; index++) {
    const chunk = chunks[index] as Uint8Array;
    if (skipped + chunk.length > count) {
      return [chunk.subarray(count - skipped), ...chunks.slice(index + 1)];
    }
    skipped += chunk.length;
  }
  return [];
}

async function writeAll(handle: FileHandle, buffer: Uint8Array, length: number, position: number): Promise<void> {
  let written = 0;
  while (written < length) {
    const { bytesWritten } = await handle.write(buffer, written, length - written, position + written);
    if (bytesWritten === 0) throw new Error("write made no progress");
    written += bytesWritten;
  }
}

function asBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === "string") return Buffer.from(chunk, "utf8");
  throw new TypeError("body stream must yield bytes");
}

/** fdatasyncs a file; false when there is none (a symlink is none). */
async function syncFile(file: string): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP") return false;
    throw error;
  }
  try {
    await handle.datasync();
    return true;
  } finally {
    await handle.close();
  }
}

/** Makes a rename in `directory` durable. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function lstatOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await lstat(file);
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

/** The directory part of a driver path; "" for a top-level object. */
function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

function sortKey(entry: { name: string; isDirectory: boolean }): string {
  return entry.isDirectory ? `${entry.name}/` : entry.name;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : undefined;
}
