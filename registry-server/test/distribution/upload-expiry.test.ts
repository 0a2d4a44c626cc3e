import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { BlobStore } from "../../src/content/blob-store.ts";
import { parseDigest, type ParsedDigest } from "../../src/content/digest.ts";
import { expireStaleUploads } from "../../src/content/upload-expiry.ts";
import { UploadService } from "../../src/content/upload-service.ts";
import { createLogger } from "../../src/logger.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";
import { FilesystemDriver } from "../../src/storage/filesystem-driver.ts";

function digestOf(data: Buffer): ParsedDigest {
  const parsed = parseDigest(`sha256:${createHash("sha256").update(data).digest("hex")}`);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

describe("abandoned uploads", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp() {
    const dir = mkdtempSync(path.join(tmpdir(), "airlock-expiry-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const storage = path.join(dir, "storage");
    const driver = new FilesystemDriver(storage);
    const metadata = await openSqliteStore(path.join(dir, "meta.db"));
    cleanups.push(() => metadata.close());
    const log = createLogger("fatal");
    const blobs = new BlobStore(driver, metadata, log);
    const uploads = new UploadService(driver, metadata, blobs, log);
    /** The part objects in storage. */
    const stored = (): string[] =>
      readdirSync(storage, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(storage, path.join(entry.parentPath, entry.name)))
        .sort();
    return { driver, metadata, blobs, uploads, stored };
  }

  it("expire with the parts they wrote, and recent ones stay", async () => {
    const { driver, metadata, blobs, uploads } = await setUp();

    const abandoned = await uploads.start("app/repo", "sha256");
    const written = await uploads.append("app/repo", abandoned.id, Readable.from([Buffer.from("partial data")]), {});
    const partPath = written.parts[0]?.path ?? "";
    expect(await driver.stat(partPath)).toBeDefined();

    const cutoff = new Date(Date.now() + 1000);
    const fresh = await new Promise<string>((resolve) =>
      setTimeout(() => void uploads.start("app/repo", "sha256").then((u) => resolve(u.id)), 1100),
    );

    expect(await expireStaleUploads(metadata, blobs, cutoff)).toBe(1);
    expect(await metadata.uploads.get(abandoned.id)).toBeUndefined();
    expect(await driver.stat(partPath)).toBeUndefined();
    expect(await metadata.uploads.get(fresh)).toBeDefined();
    await expect(uploads.status("app/repo", abandoned.id)).rejects.toMatchObject({ code: "BLOB_UPLOAD_UNKNOWN" });
  });

  it("stay, with every part, when a chunk lands between the sweep's listing and its deletion", async () => {
    const { metadata, blobs, uploads, stored } = await setUp();
    const session = await uploads.start("app/repo", "sha256");
    await uploads.append("app/repo", session.id, Readable.from([Buffer.from("first")]), {});
    // Another replica appends as the sweep has just listed the session as idle.
    const racing: Pick<MetadataStore, "uploads"> = {
      uploads: {
        ...metadata.uploads,
        listStale: async (before) => {
          const listed = await metadata.uploads.listStale(before);
          await uploads.append("app/repo", session.id, Readable.from([Buffer.from("second")]), {});
          return listed;
        },
      },
    };

    expect(await expireStaleUploads(racing, blobs, new Date(Date.now() + 1_000))).toBe(0);
    const kept = await metadata.uploads.get(session.id);
    expect(kept?.size).toBe("firstsecond".length);
    expect(stored()).toEqual(kept?.parts.map((part) => part.path).sort());
    // And the session still closes into the blob it was sent.
    const blob = await uploads.complete("app/repo", session.id, digestOf(Buffer.from("firstsecond")), undefined, {});
    expect(blob.size).toBe(11);
  });

  it("do not become a blob when the session expired as its last chunk streamed", async () => {
    const { metadata, blobs, uploads, stored } = await setUp();
    const session = await uploads.start("app/repo", "sha256");
    await uploads.append("app/repo", session.id, Readable.from([Buffer.from("first")]), {});
    // The sweep ends the session while the PUT's last chunk is on its way.
    const last = (async function* () {
      yield Buffer.from("sec");
      expect(await expireStaleUploads(metadata, blobs, new Date(Date.now() + 1_000))).toBe(1);
      yield Buffer.from("ond");
    })();

    const closing = uploads.complete("app/repo", session.id, digestOf(Buffer.from("firstsecond")), last, {});
    await expect(closing).rejects.toMatchObject({ code: "BLOB_UPLOAD_UNKNOWN" });
    // No blob over the parts the sweep deleted, and no part left that nothing names.
    expect(await metadata.blobs.get(digestOf(Buffer.from("firstsecond")).text)).toBeUndefined();
    expect(stored()).toEqual([]);
  });

  it("are cancelled with the parts the record holds, a chunk appended since included", async () => {
    const { driver, metadata, blobs, uploads, stored } = await setUp();
    const session = await uploads.start("app/repo", "sha256");
    await uploads.append("app/repo", session.id, Readable.from([Buffer.from("first")]), {});
    // Another replica appends after this one read the session to cancel it.
    const racingUploads: MetadataStore["uploads"] = {
      ...metadata.uploads,
      delete: async (id, expectedSize) => {
        await uploads.append("app/repo", session.id, Readable.from([Buffer.from("second")]), {});
        return metadata.uploads.delete(id, expectedSize);
      },
    };
    const racing = new Proxy(metadata, {
      get: (store, property): unknown => (property === "uploads" ? racingUploads : Reflect.get(store, property, store)),
    });
    const canceller = new UploadService(driver, racing, blobs, createLogger("fatal"));

    await canceller.cancel("app/repo", session.id);
    expect(await metadata.uploads.get(session.id)).toBeUndefined();
    expect(stored()).toEqual([]);
  });
});
