// One blob of a replicated artifact, from the source repository to the destination repository:
// skipped when the destination has it (HEAD), mounted from another repository this execution put
// it in, or else streamed from the source through the bandwidth limit to the destination, in
// chunks when the policy says so. The destination verifies the digest and the length before the
// blob is visible; nothing here holds a blob in memory. Foreign layers are never copied.

import { pipeline, type Readable } from "node:stream";
import type { Descriptor } from "../content/manifest-parser.ts";
import { UpstreamError } from "../upstream/upstream-registry.ts";
import type { MountLedger } from "./mount-ledger.ts";
import type { ReplicationClock } from "./replication-clock.ts";
import type { ReplicationDestination, ReplicationSource } from "./replication-endpoint.ts";
import { bytesPerSecondOf, throttle } from "./throttle.ts";

/** Harbor's default chunk when copying by chunk (REPLICATION_CHUNK_SIZE): 10 MiB. */
export const DEFAULT_CHUNK_BYTES = 10 * 1024 * 1024;

/** Layers a registry must not redistribute (Windows base layers): referenced, never copied. */
const FOREIGN_LAYERS: ReadonlySet<string> = new Set([
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
]);

export interface TransferOptions {
  /** Send blobs in chunks (Harbor's `copy_by_chunk`). */
  readonly copyByChunk: boolean;
  /** Bandwidth in KB/s; 0 or less is unlimited (Harbor's `speed`). */
  readonly speedKbps: number;
  /** Bytes per chunk; DEFAULT_CHUNK_BYTES unless told. Blobs no larger go in one request. */
  readonly chunkBytes?: number;
}

/** What moving blobs works with. */
export interface TransferContext {
  readonly source: ReplicationSource;
  readonly destination: ReplicationDestination;
  readonly options: TransferOptions;
  readonly clock: ReplicationClock;
  readonly ledger: MountLedger;
  readonly log: (line: string) => void;
  /** `operation` with the copy's retries. */
  attempt<T>(operation: () => Promise<T>, what: string): Promise<T>;
}

export interface BlobCounters {
  blobsSent: number;
  /** Blobs the destination repository already had. */
  blobsSkipped: number;
  blobsMounted: number;
  bytesSent: number;
}

/** Puts `blob` of `from` (source) in `to` (destination), counting what it did. */
export async function transferBlob(
  context: TransferContext,
  counters: BlobCounters,
  route: { readonly from: string; readonly to: string },
  blob: Descriptor,
  signal: AbortSignal,
): Promise<void> {
  const { destination, ledger, log } = context;
  const { digest } = blob;
  if (FOREIGN_LAYERS.has(blob.mediaType) || (blob.urls !== undefined && blob.urls.length > 0)) {
    log(`[INFO] ${digest} is a foreign layer: not copied`);
    return;
  }
  const present =
    ledger.holds(digest, route.to) ||
    (await context.attempt(() => destination.hasBlob(route.to, digest, signal), `HEAD blob ${digest}`));
  if (present) {
    counters.blobsSkipped++;
    ledger.add(digest, route.to);
    return;
  }
  for (const source of ledger.sources(digest, route.to).reverse()) {
    const mounted = await context.attempt(
      () => destination.mountBlob(route.to, digest, source, signal),
      `mount of ${digest} from ${source}`,
    );
    if (mounted) {
      counters.blobsMounted++;
      ledger.add(digest, route.to);
      log(`[INFO] blob ${digest} mounted from ${source}`);
      return;
    }
  }
  // An attempt whose answer was lost (the destination went down after storing the blob) may have
  // landed: a retry asks before sending it again, so that nothing arrives twice.
  let retrying = false;
  const arrived = await context.attempt(async () => {
    if (retrying && (await destination.hasBlob(route.to, digest, signal))) return true;
    retrying = true;
    await send(context, route, blob, signal);
    return false;
  }, `copy of blob ${digest}`);
  ledger.add(digest, route.to);
  if (arrived) {
    counters.blobsSkipped++;
    log(`[INFO] blob ${digest} had arrived before the connection failed: not sent again`);
    return;
  }
  counters.blobsSent++;
  counters.bytesSent += blob.size;
}

/** Streams one blob from the source to the destination, through the bandwidth limit. */
async function send(
  context: TransferContext,
  route: { readonly from: string; readonly to: string },
  blob: Descriptor,
  signal: AbortSignal,
): Promise<void> {
  const { source, destination, options, clock, log } = context;
  const fetched = await source.getBlob(route.from, blob.digest, signal);
  if (!fetched) throw new Error(`blob ${blob.digest} of ${route.from} is not on the source`);
  if (fetched.size !== blob.size && fetched.size !== 0) {
    fetched.body.destroy();
    throw new UpstreamError(
      "protocol",
      `blob ${blob.digest} has ${fetched.size} bytes on the source, not ${blob.size}`,
    );
  }
  const rate = bytesPerSecondOf(options.speedKbps);
  let body: Readable = fetched.body;
  if (rate !== undefined) body = pipeline(fetched.body, throttle(rate, clock, signal), () => undefined);
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const chunked = options.copyByChunk && blob.size > chunkBytes;
  log(
    `[INFO] sending blob ${blob.digest} (${blob.size} bytes${chunked ? `, in chunks of ${chunkBytes}` : ""}` +
      `${rate === undefined ? "" : `, at most ${options.speedKbps} KB/s`})`,
  );
  await destination.putBlob(route.to, blob.digest, blob.size, body, chunked ? { chunkBytes } : {}, signal);
}
