import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { BlobStore } from "../../src/content/blob-store.ts";
import { expireStaleUploads } from "../../src/content/upload-expiry.ts";
import { UploadService } from "../../src/content/upload-service.ts";
import { createLogger } from "../../src/logger.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";
import { FilesystemDriver } from "../../src/storage/filesystem-driver.ts";

describe("abandoned uploads", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("expire with the parts they wrote, and recent ones stay", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "airlock-expiry-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const driver = new FilesystemDriver(path.join(dir, "storage"));
    const metadata = await openSqliteStore(path.join(dir, "meta.db"));
    cleanups.push(() => metadata.close());
    const log = createLogger("fatal");
    const blobs = new BlobStore(driver, metadata, log);
    const uploads = new UploadService(driver, metadata, blobs, log);

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
});
