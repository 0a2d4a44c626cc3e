// The content of a test registry as its own parts read it (the blob store and the manifests over
// its storage and metadata), opened a second time in this process as another worker of the same
// server would: the built-in scanner's tests hand it to the scanner the composition root will build.

import { BlobStore } from "../../src/content/blob-store.ts";
import { LocalContent, type ContentSource } from "../../src/content/content-source.ts";
import { ManifestService } from "../../src/content/manifest-service.ts";
import type { ServerConfig } from "../../src/config.ts";
import type { Logger } from "../../src/logger.ts";
import { openMetadataStore } from "../../src/metadata/open-metadata-store.ts";
import { openStorageDriver } from "../../src/storage/open-storage-driver.ts";

export interface RegistryContent {
  content: ContentSource;
  blobs: BlobStore;
  close(): Promise<void>;
}

/** The content of the filesystem and SQLite registry under `dataDir`. */
export async function openRegistryContent(dataDir: string, log: Logger): Promise<RegistryContent> {
  const config = { dataDir } as ServerConfig;
  const storage = await openStorageDriver(config, log);
  const { store } = await openMetadataStore(config, log);
  const blobs = new BlobStore(storage.driver, store, log, async () => false);
  const manifests = new ManifestService(store, blobs, { maxManifestBytes: 4 * 1024 * 1024 });
  return {
    content: new LocalContent(manifests, blobs),
    blobs,
    close: async () => {
      await store.close();
      await storage.close();
    },
  };
}
