// Upload sessions that clients abandoned (no cancel, no close) expire: their records and the
// parts they wrote are removed once they have not moved for a while, as the specification
// expects a registry to do eventually.

import type { Logger } from "../logger.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { BlobStore } from "./blob-store.ts";

/** Removes the sessions not updated since `before`; returns how many. */
export async function expireStaleUploads(metadata: MetadataStore, blobs: BlobStore, before: Date): Promise<number> {
  let expired = 0;
  for (const upload of await metadata.uploads.listStale(before)) {
    // Deleting the record first means a racing chunk fails its compare-and-set, not the sweep.
    if (await metadata.uploads.delete(upload.id)) {
      await blobs.deleteParts(upload.parts);
      expired += 1;
    }
  }
  return expired;
}

/** Sweeps every `intervalMs` for sessions idle longer than `maxIdleMs`; returns a stop function. */
export function scheduleUploadExpiry(
  deps: { metadata: MetadataStore; blobs: BlobStore; log: Logger },
  options: { maxIdleMs: number; intervalMs: number },
): () => void {
  let running = false;
  const sweep = (): void => {
    if (running) return;
    running = true;
    expireStaleUploads(deps.metadata, deps.blobs, new Date(Date.now() - options.maxIdleMs))
      .then((count) => {
        if (count > 0) deps.log.info({ count }, "expired abandoned uploads");
      })
      .catch((err: unknown) => deps.log.error({ err }, "upload expiry failed"))
      .finally(() => (running = false));
  };
  const timer = setInterval(sweep, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
