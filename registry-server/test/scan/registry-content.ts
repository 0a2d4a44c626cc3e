// The content of a test registry as its own parts read it (the blob store, the manifests, and the
// proxy cache in front of them, over its storage and metadata), opened a second time in this
// process as another worker of the same server would: the built-in scanner's tests hand it to the
// scanner the composition root will build.

import * as path from "node:path";
import { Registry } from "prom-client";
import { loadOrCreateSecretBox } from "../../src/auth/secret-box.ts";
import { BlobStore } from "../../src/content/blob-store.ts";
import { LocalContent, type ContentSource } from "../../src/content/content-source.ts";
import { ManifestService } from "../../src/content/manifest-service.ts";
import type { ServerConfig } from "../../src/config.ts";
import type { Logger } from "../../src/logger.ts";
import { openMetadataStore } from "../../src/metadata/open-metadata-store.ts";
import { createProxyCache } from "../../src/proxy/proxy-cache.ts";
import { openStorageDriver } from "../../src/storage/open-storage-driver.ts";
import { openUpstreams } from "../../src/upstream/upstreams.ts";

export interface RegistryContent {
  /** What the pull routes read: proxy-cache projects through their upstream, the rest locally. */
  content: ContentSource;
  blobs: BlobStore;
  close(): Promise<void>;
}

/** The content of the filesystem and SQLite registry under `dataDir`. */
export async function openRegistryContent(dataDir: string, log: Logger): Promise<RegistryContent> {
  const config = {
    dataDir,
    upstream: { timeoutMs: 10_000, healthCheckIntervalMs: 300_000 },
    mirror: { namespaces: {}, hosts: {} },
  } as ServerConfig;
  const storage = await openStorageDriver(config, log);
  const { store } = await openMetadataStore(config, log);
  const blobs = new BlobStore(storage.driver, store, log, async () => false);
  const manifests = new ManifestService(store, blobs, { maxManifestBytes: 4 * 1024 * 1024 });
  const upstreams = openUpstreams(config, store, await loadOrCreateSecretBox(path.join(dataDir, "auth")), log);
  const proxy = createProxyCache({
    metadata: store,
    manifests,
    blobs,
    local: new LocalContent(manifests, blobs),
    endpoints: (id) => upstreams.endpoints.get(id),
    factory: upstreams.factory,
    mirror: config.mirror,
    metricsRegistry: new Registry(),
    statsFlushIntervalMs: 5_000,
    log,
  });
  return {
    content: proxy.content,
    blobs,
    close: async () => {
      await proxy.close();
      await store.close();
      await storage.close();
    },
  };
}
