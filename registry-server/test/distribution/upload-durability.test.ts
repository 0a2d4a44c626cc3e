// When the parts of a chunked upload reach the disk for good: each chunk is written with deferred
// durability (no flush of its own), and every part is persisted before the blob that is made of
// them is recorded. What a crash can do in between (lose the end of a part the session counts)
// is simulated by truncating a part and starting a new service (a restarted process, whose hash
// is rebuilt from the parts): the PUT then fails its digest check and records nothing.

import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlobStore } from "../../src/content/blob-store.ts";
import { parseDigest, type ParsedDigest } from "../../src/content/digest.ts";
import { UploadService } from "../../src/content/upload-service.ts";
import { createLogger } from "../../src/logger.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";
import { FilesystemDriver } from "../../src/storage/filesystem-driver.ts";
import type { StorageDriver, WriteOptions } from "../../src/storage/storage-driver.ts";

const REPOSITORY = "app/repo";
const log = createLogger("fatal");

function digestOf(...chunks: Buffer[]): ParsedDigest {
  const hash = createHash("sha256");
  for (const chunk of chunks) hash.update(chunk);
  const parsed = parseDigest(`sha256:${hash.digest("hex")}`);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

function body(data: Buffer): Readable {
  return Readable.from([data]);
}

describe("chunked upload durability", () => {
  let dir: string;
  let filesystem: FilesystemDriver;
  let metadata: MetadataStore;
  /** What the service asked of the driver, in order. */
  let events: string[];
  /** Runs as `persist` is called, before it does anything. */
  let onPersist: (() => Promise<void>) | undefined;
  let driver: StorageDriver;
  let blobs: BlobStore;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "airlock-upload-durability-"));
    filesystem = new FilesystemDriver(path.join(dir, "storage"));
    metadata = await openSqliteStore(path.join(dir, "meta.db"));
    events = [];
    onPersist = undefined;
    driver = recording(filesystem);
    blobs = new BlobStore(driver, metadata, log);
  });
  afterEach(async () => {
    await metadata.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The driver, with its write and persist calls noted in `events` and the rest passed on. */
  function recording(target: FilesystemDriver): StorageDriver {
    return new Proxy(target, {
      get(object, property) {
        if (property === "write") {
          return (at: string, data: AsyncIterable<unknown>, options?: WriteOptions) => {
            events.push(`write ${options?.durability ?? "now"} ${at}`);
            return object.write(at, data, options);
          };
        }
        if (property === "persist") {
          return async (paths: readonly string[]) => {
            events.push(`persist ${paths.join(" ")}`);
            await onPersist?.();
            return object.persist(paths);
          };
        }
        const value: unknown = Reflect.get(object, property, object);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(object) : value;
      },
    });
  }

  it.each([
    ["after the last PATCH", false],
    ["with the PUT's own last chunk", true],
  ])("writes each chunk deferred and persists every part before the blob is recorded (%s)", async (_, lastInPut) => {
    const uploads = new UploadService(driver, metadata, blobs, log);
    const chunks = [Buffer.from("first chunk "), Buffer.from("second chunk "), Buffer.from("third chunk")];
    const digest = digestOf(...chunks);
    const upload = await uploads.start(REPOSITORY, "sha256");
    const patched = lastInPut ? chunks.slice(0, -1) : chunks;
    for (const chunk of patched) await uploads.append(REPOSITORY, upload.id, body(chunk), {});
    const session = await metadata.uploads.get(upload.id);
    expect(session?.parts).toHaveLength(patched.length);
    // Nothing persisted yet: each chunk was written deferred, and no blob exists.
    expect(events.filter((event) => event.startsWith("persist"))).toEqual([]);
    expect(events.every((event) => event.startsWith("write deferred "))).toBe(true);

    let recordedAtPersist: unknown = "not persisted";
    onPersist = async () => {
      recordedAtPersist = await metadata.blobs.get(digest.text);
    };
    const last = chunks.at(-1) as Buffer;
    const blob = await uploads.complete(
      REPOSITORY,
      upload.id,
      digest,
      lastInPut ? body(last) : undefined,
      lastInPut ? { length: last.length } : {},
    );

    expect(blob.digest).toBe(digest.text);
    expect(recordedAtPersist).toBeUndefined();
    const parts = blob.parts.map((part) => part.path);
    expect(parts).toHaveLength(chunks.length);
    expect(events.at(-1)).toBe(`persist ${parts.join(" ")}`);
    expect(events.filter((event) => event.startsWith("write deferred "))).toHaveLength(chunks.length);
    const stored = await Promise.all(parts.map((part) => driver.readBytes(part, 1024)));
    expect(Buffer.concat(stored).equals(Buffer.concat(chunks))).toBe(true);
  });

  it.each([
    ["after the last PATCH", false],
    ["with the PUT's own last chunk", true],
  ])("fails the PUT's digest check when a crash cut a part short, and records nothing (%s)", async (_, lastInPut) => {
    const chunks = [Buffer.alloc(64 * 1024, 1), Buffer.alloc(64 * 1024, 2), Buffer.from("the end")];
    const digest = digestOf(...chunks);
    const before = new UploadService(driver, metadata, blobs, log);
    const upload = await before.start(REPOSITORY, "sha256");
    for (const chunk of chunks.slice(0, -1)) await before.append(REPOSITORY, upload.id, body(chunk), {});
    const session = await metadata.uploads.get(upload.id);
    expect(session?.size).toBe(128 * 1024);

    // The machine crashed before the second part's tail reached the disk; the process restarts.
    truncateSync(path.join(filesystem.root, session?.parts[1]?.path ?? "missing"), 1000);
    const after = new UploadService(driver, metadata, new BlobStore(driver, metadata, log), log);
    const last = chunks.at(-1) as Buffer;
    if (!lastInPut) await after.append(REPOSITORY, upload.id, body(last), {});
    await expect(
      after.complete(
        REPOSITORY,
        upload.id,
        digest,
        lastInPut ? body(last) : undefined,
        lastInPut ? { length: last.length } : {},
      ),
    ).rejects.toMatchObject({ code: "DIGEST_INVALID" });
    expect(await metadata.blobs.get(digest.text)).toBeUndefined();
    // The session stays, as after any digest mismatch: the client may cancel it or start over.
    expect(await metadata.uploads.get(upload.id)).toBeDefined();
  });
});
