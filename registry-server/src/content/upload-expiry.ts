// Upload sessions that clients abandoned (no cancel, no close) expire: their records and the
// parts they wrote are removed once they have not moved for a while, as the specification
// expects a registry to do eventually. The sweep is a job, run by one worker at a time.

import type { JobHandler } from "../jobs/job-service.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { BlobStore } from "./blob-store.ts";

/** Removes the sessions not updated since `before`; returns how many. */
export async function expireStaleUploads(
  metadata: Pick<MetadataStore, "uploads">,
  blobs: Pick<BlobStore, "deleteParts">,
  before: Date,
): Promise<number> {
  let expired = 0;
  for (const upload of await metadata.uploads.listStale(before)) {
    // Deleting the record first means a racing chunk fails its compare-and-set, not the sweep;
    // and only at the size listed, so that a chunk appended since keeps the session alive.
    const ended = await metadata.uploads.delete(upload.id, upload.size);
    if (ended) {
      await blobs.deleteParts(ended.parts);
      expired += 1;
    }
  }
  return expired;
}

export const UPLOAD_EXPIRY_VENDOR = "UPLOAD_EXPIRY";
/** How often the sweep runs: a job of the job system, so once across workers and replicas. */
export const UPLOAD_EXPIRY_CRON = "@every 10m";

/** The sweep as a job: removes the sessions idle longer than `maxIdleMs`, and says how many. */
export function uploadExpiryJob(deps: { metadata: MetadataStore; blobs: BlobStore }, maxIdleMs: number): JobHandler {
  return {
    vendorType: UPLOAD_EXPIRY_VENDOR,
    keepExecutions: 10,
    async run(context) {
      const expired = await expireStaleUploads(deps.metadata, deps.blobs, new Date(Date.now() - maxIdleMs));
      context.log(`[INFO] expired ${expired} abandoned upload session(s)`);
      return { expired };
    },
  };
}
