// Two registries for the replication tests, each a data directory a real server can serve. A
// site's content is pushed over HTTP to a server running on its directory (a real push, validated
// as any); the server is then stopped and the directory opened in process as a worker of the
// same server would open it (its metadata store, blob store, upload and manifest services), which
// LocalEndpoint reads and writes. After a replication, a server started again on the destination's
// directory shows over HTTP what arrived. One process writes a directory at a time: two SQLite
// writers in one event loop would wait on each other.

import * as path from "node:path";
import { ensureAdminAccount } from "../../src/auth/admin-account.ts";
import { hashPassword } from "../../src/auth/password-hash.ts";
import type { ServerConfig } from "../../src/config.ts";
import { BlobStore } from "../../src/content/blob-store.ts";
import { ManifestService } from "../../src/content/manifest-service.ts";
import { UploadService } from "../../src/content/upload-service.ts";
import { publishDeletions, publishPushes } from "../../src/events/manifest-events.ts";
import { RegistryEvents, type RegistryEvent } from "../../src/events/registry-events.ts";
import { createLogger } from "../../src/logger.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openMetadataStore } from "../../src/metadata/open-metadata-store.ts";
import { LocalEndpoint } from "../../src/replication/local-endpoint.ts";
import { openStorageDriver } from "../../src/storage/open-storage-driver.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { ADMIN, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";

const log = createLogger("fatal");

/** A registry's data directory opened in process. */
export interface OpenSite {
  readonly dir: string;
  readonly store: MetadataStore;
  readonly blobs: BlobStore;
  readonly uploads: UploadService;
  readonly manifests: ManifestService;
  readonly events: RegistryEvents;
  /** What the site published (its pushes and deletions, through ManifestService), in order. */
  readonly published: RegistryEvent[];
  readonly endpoint: LocalEndpoint;
  close(): Promise<void>;
}

/** Opens a data directory (creating it when new) with the administrator's account. */
export async function openSite(dir: string): Promise<OpenSite> {
  const config = { dataDir: dir } as ServerConfig;
  const storage = await openStorageDriver(config, log);
  const { store } = await openMetadataStore(config, log);
  await ensureAdminAccount(store, ADMIN.username, await hashPassword(ADMIN.password));
  // The bus wired as registry.ts wires it: pushes, deletions and quota refusals published.
  const events = new RegistryEvents(log);
  const published: RegistryEvent[] = [];
  events.subscribe((event) => published.push(event));
  const blobs = new BlobStore(storage.driver, store, log, async () => true, events);
  const uploads = new UploadService(storage.driver, store, blobs, log);
  const manifests = new ManifestService(store, blobs, {
    maxManifestBytes: 4 * 1024 * 1024,
    onStored: publishPushes(events),
    onDeleted: publishDeletions(events),
  });
  const endpoint = new LocalEndpoint({ store, blobs, uploads, manifests, projectOwner: ADMIN.username });
  return {
    dir,
    store,
    blobs,
    uploads,
    manifests,
    events,
    published,
    endpoint,
    close: async () => {
      await store.close();
      await storage.close();
    },
  };
}

/** A new data directory, removed by `remove`. */
export function siteDir(name: string): { dir: string; remove: () => void } {
  const made = tempDir(`replication-${name}`);
  return { dir: path.join(made.dir, "data"), remove: made.remove };
}

/** Starts a server on a data directory (stopping it leaves the directory). */
export async function serveSite(dir: string): Promise<TestRegistry & { client: OciClient }> {
  const server = await startTestRegistry({ dataDir: dir });
  return { ...server, client: new OciClient(server.url) };
}

/** Pushes content over HTTP to a server on `dir`, then stops it. */
export async function pushTo<T>(dir: string, fill: (client: OciClient) => Promise<T>): Promise<T> {
  const server = await serveSite(dir);
  try {
    return await fill(server.client);
  } finally {
    await server.stop();
  }
}
