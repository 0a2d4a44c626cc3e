// Where an upload's digest is computed when its chunks land on different processes (two workers,
// or replicas, each with its own UploadService over the same storage and metadata; a client that
// opens a connection per request alternates between them). A process without the session's
// running hash writes a chunk unhashed; the stored parts are read back once, when the session
// closes, never before each chunk (which made such a push quadratic).

import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
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
import type { StorageDriver } from "../../src/storage/storage-driver.ts";

const REPOSITORY = "app/repo";
const CHUNKS = 8;
const log = createLogger("fatal");

function digestOf(data: Buffer): ParsedDigest {
  const parsed = parseDigest(`sha256:${createHash("sha256").update(data).digest("hex")}`);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

describe("upload hashing across processes", () => {
  let dir: string;
  let metadata: MetadataStore;
  /** The parts read back, in order. */
  let reads: string[];
  let driver: StorageDriver;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "airlock-upload-hashing-"));
    const filesystem = new FilesystemDriver(path.join(dir, "storage"));
    metadata = await openSqliteStore(path.join(dir, "meta.db"));
    reads = [];
    driver = new Proxy(filesystem, {
      get(object, property) {
        if (property === "read") {
          return (at: string, range?: { offset: number; length: number }) => {
            reads.push(at);
            return object.read(at, range);
          };
        }
        const value: unknown = Reflect.get(object, property, object);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(object) : value;
      },
    });
  });
  afterEach(async () => {
    await metadata.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A "process": its own upload service (and running hashes) over the shared storage and metadata. */
  function worker(): UploadService {
    return new UploadService(driver, metadata, new BlobStore(driver, metadata, log), log);
  }

  it.each([
    ["closed without a body", false],
    ["closed with the last chunk", true],
  ])(
    "reads each part back once, at the close, when chunks alternate between two processes (%s)",
    async (_, lastInPut) => {
      const [first, second] = [worker(), worker()];
      const chunks = Array.from({ length: CHUNKS }, () => randomBytes(64 * 1024));
      const digest = digestOf(Buffer.concat(chunks));
      const upload = await first.start(REPOSITORY, "sha256");
      const patched = lastInPut ? chunks.slice(0, -1) : chunks;
      for (const [index, chunk] of patched.entries()) {
        await (index % 2 === 0 ? second : first).append(REPOSITORY, upload.id, Readable.from([chunk]), {});
      }
      expect(reads).toEqual([]);

      const last = chunks.at(-1) as Buffer;
      const closer = lastInPut ? first : second;
      const blob = await closer.complete(
        REPOSITORY,
        upload.id,
        digest,
        lastInPut ? Readable.from([last]) : undefined,
        lastInPut ? { length: last.length } : {},
      );
      expect(blob.digest).toBe(digest.text);
      expect(reads).toEqual(patched.map((_, index) => blob.parts[index]?.path));
    },
  );

  it("hashes as the chunks come when one process takes them all, and reads nothing back", async () => {
    const [starter, other] = [worker(), worker()];
    const chunks = Array.from({ length: CHUNKS }, () => randomBytes(32 * 1024));
    const digest = digestOf(Buffer.concat(chunks));
    // Started on one, continued on the other from the first byte: nothing to rebuild.
    const upload = await starter.start(REPOSITORY, "sha256");
    for (const chunk of chunks) await other.append(REPOSITORY, upload.id, Readable.from([chunk]), {});
    const blob = await other.complete(REPOSITORY, upload.id, digest, undefined, {});
    expect(blob.digest).toBe(digest.text);
    expect(reads).toEqual([]);
  });

  it("refuses a wrong digest after unhashed chunks, and records nothing", async () => {
    const [first, second] = [worker(), worker()];
    const upload = await first.start(REPOSITORY, "sha256");
    await first.append(REPOSITORY, upload.id, Readable.from([Buffer.from("one ")]), {});
    await second.append(REPOSITORY, upload.id, Readable.from([Buffer.from("two")]), {});
    const wrong = digestOf(Buffer.from("one three"));
    await expect(first.complete(REPOSITORY, upload.id, wrong, undefined, {})).rejects.toMatchObject({
      code: "DIGEST_INVALID",
    });
    expect(await metadata.blobs.get(wrong.text)).toBeUndefined();
    const right = digestOf(Buffer.from("one two"));
    expect((await second.complete(REPOSITORY, upload.id, right, undefined, {})).digest).toBe(right.text);
  });
});
