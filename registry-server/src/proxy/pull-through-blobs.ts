// Blobs of proxy-cache projects. A cached blob is served without asking the upstream (a digest
// names its bytes for ever). An uncached one is fetched once: the first client to ask gets the
// bytes as they arrive while they are hashed and stored; clients asking meanwhile, from any
// repository of any project on the same upstream, wait for that one fetch and are served from
// the store. Nothing becomes visible unless the digest and length check out.
//
// The first client's response is relayed from the store's own verifying read of the upstream (one
// hash, no second copy of the stream), one chunk behind: the last chunk goes out only once the
// digest and length checked out, so a client never holds a complete body that failed them (its
// connection is cut instead), and its response ends then, while the store still makes the bytes
// durable and records them.

import type { Readable, Writable } from "node:stream";
import type { BlobStore } from "../content/blob-store.ts";
import type { BodyObserver } from "../content/verified-body.ts";
import type { BlobPurpose, BlobSource } from "../content/content-source.ts";
import { parseDigest } from "../content/digest.ts";
import { RegistryError } from "../http/errors.ts";
import type { Logger } from "../logger.ts";
import type { BlobRecord } from "../metadata/metadata-store.ts";
import { UpstreamError, type UpstreamBlob } from "../upstream/upstream-registry.ts";
import type { ProxyMetrics } from "./proxy-metrics.ts";
import type { ProxyTarget } from "./proxy-projects.ts";
import { failureOf, uncachedFailure } from "./upstream-failure.ts";
import { handOverChunks, holdChunk, releaseChunk } from "../storage/handed-over-chunks.ts";

/** Bytes relayed to a live client per socket write. */
const RELAY_BATCH_BYTES = 1024 * 1024;

/** One upstream fetch of a blob in progress. */
interface BlobFetch {
  /** The repository the blob is being stored into. */
  readonly repository: string;
  readonly size: number | undefined;
  /** Settles once the bytes are verified and recorded (or refused). */
  readonly stored: Promise<BlobRecord>;
  /** Relays the bytes to a client as they arrive. */
  readonly relay: LiveRelay;
}

export class PullThroughBlobs {
  private readonly blobs: BlobStore;
  private readonly metrics: ProxyMetrics;
  private readonly log: Logger;
  private readonly fetches = new Map<string, Promise<BlobFetch>>();
  /** Transfers whose bytes are flowing, to finish or cut on shutdown. */
  private readonly transfers = new Set<{ body: Readable; done: Promise<unknown> }>();

  constructor(deps: { blobs: BlobStore; metrics: ProxyMetrics; log: Logger }) {
    this.blobs = deps.blobs;
    this.metrics = deps.metrics;
    this.log = deps.log;
  }

  /**
   * Lets transfers in flight finish for up to `graceMs`, then cuts the rest (nothing partial
   * becomes visible): called on shutdown, before the metadata store closes.
   */
  async close(graceMs: number): Promise<void> {
    const pending = (): Promise<unknown> => Promise.allSettled([...this.transfers].map((t) => t.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([pending(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const transfer of this.transfers) transfer.body.destroy(new Error("the registry is shutting down"));
    await pending();
  }

  /** Whether the repository already holds the blob. */
  async isCached(repository: string, digest: string): Promise<boolean> {
    return (await this.blobs.stat(repository, digest)) !== undefined;
  }

  async get(target: ProxyTarget, repository: string, digest: string, purpose: BlobPurpose): Promise<BlobSource> {
    const cached = (await this.blobs.stat(repository, digest)) ?? (await this.fromSibling(target, repository, digest));
    if (cached) {
      this.metrics.hit(target.upstream.endpoint, "blob");
      if (purpose === "body") this.metrics.servedFromCache(target.upstream.endpoint, cached.size);
      return { kind: "stored", blob: cached };
    }
    const key = `${target.upstream.endpoint.id}/${digest}`;
    let pending = this.fetches.get(key);
    const leader = pending === undefined;
    if (!pending) {
      this.metrics.miss(target.upstream.endpoint, "blob");
      pending = this.start(target, repository, digest);
      this.fetches.set(key, pending);
      const forget = (): void => void this.fetches.delete(key);
      pending.then((fetch) => fetch.stored.then(forget, forget), forget);
    }
    const fetch = await pending;
    if (leader && purpose === "body") {
      return { kind: "live", digest, size: fetch.size, pipe: (destination) => this.pipe(fetch, destination) };
    }
    return { kind: "stored", blob: await this.storedIn(repository, digest, fetch) };
  }

  /**
   * Links a blob another repository of the same proxy-cache project already fetched: base layers
   * shared by many images then cross the upstream link once. Only within the project: whoever
   * may pull from it may fetch any of its upstream's repositories through it anyway.
   */
  private async fromSibling(target: ProxyTarget, repository: string, digest: string): Promise<BlobRecord | undefined> {
    const prefix = `${target.project.name}/`;
    const siblings = (await this.blobs.holders(digest)).filter((holder) => holder.startsWith(prefix));
    return siblings.length === 0 ? undefined : this.blobs.mount(repository, digest, siblings);
  }

  /**
   * Sends the bytes live when they have not started flowing yet, else from the store. A failed
   * fetch rejects, the destination left to the caller: cut when bytes went out, else answered.
   */
  private async pipe(fetch: BlobFetch, destination: Writable): Promise<void> {
    if (fetch.relay.attach(destination)) {
      // Ended by the relay once the bytes checked out; a failure before that leaves it to us.
      await Promise.race([fetch.relay.delivered, fetch.stored]);
      return;
    }
    await this.blobs.send(await fetch.stored, undefined, destination);
  }

  /** The fetched blob, linked into `repository` when another repository fetched it. */
  private async storedIn(repository: string, digest: string, fetch: BlobFetch): Promise<BlobRecord> {
    const blob = await fetch.stored;
    if (fetch.repository === repository) return blob;
    const linked = await this.blobs.mount(repository, digest, [fetch.repository]);
    if (!linked) throw new RegistryError("BLOB_UNKNOWN", "blob unknown to registry", { detail: { digest } });
    return linked;
  }

  /** Asks the upstream for the blob; once it answers, its bytes flow to the store (and a client). */
  private async start(target: ProxyTarget, repository: string, digest: string): Promise<BlobFetch> {
    const name = target.upstream.endpoint.name;
    const parsed = parseDigest(digest);
    if (typeof parsed === "string") throw new RegistryError("DIGEST_INVALID", `invalid digest ${digest}`);
    const release = await target.connections.acquire();
    let upstream: UpstreamBlob | undefined;
    try {
      upstream = await this.metrics.request(
        target.upstream.endpoint,
        "blob_get",
        () => target.upstream.getBlob(target.upstreamRepository, digest),
        failureOf,
      );
    } catch (err) {
      release();
      this.log.warn({ upstream: name, repository, digest, reason: failureOf(err) }, "upstream blob fetch failed");
      throw uncachedFailure(name, `blob ${digest}`, err);
    }
    if (!upstream) {
      release();
      throw new RegistryError("BLOB_UNKNOWN", `blob unknown to upstream registry ${name}`, { detail: { digest } });
    }
    const size = Number.isSafeInteger(upstream.size) && upstream.size >= 0 ? upstream.size : undefined;
    // Its chunks are the store's alone, but for the relay, which holds those it writes to a
    // client: each is freed once both are done with it (storage/handed-over-chunks.ts).
    const body = handOverChunks(
      target.bandwidth.bytesPerSecond === undefined ? upstream.body : throttled(upstream.body, target),
    );
    // An upstream that breaks off before the store reads (it opens its file first) errors the
    // body with nobody listening yet, which would end the process; the store still sees the
    // error when it reads (an errored stream rejects its iteration).
    body.on("error", () => undefined);
    const relay = new LiveRelay();
    // The route attaches its client within this tick; the bytes start flowing after it.
    const stored = new Promise((resolve) => setImmediate(resolve))
      .then(() => this.blobs.write(repository, parsed, body, size, relay))
      .catch((err: unknown) => {
        throw transferFailure(name, digest, err);
      });
    const transfer = {
      body,
      done: stored
        .then((blob) => this.metrics.fetchedFromUpstream(target.upstream.endpoint, blob.size))
        .catch((err: unknown) => {
          this.log.warn(
            { upstream: name, repository, digest, err: { message: (err as Error).message } },
            "upstream blob transfer failed",
          );
        })
        .finally(() => {
          release();
          this.transfers.delete(transfer);
        }),
    };
    this.transfers.add(transfer);
    return { repository, size, stored, relay };
  }
}

/**
 * The first client of a fetch, served from the store's verifying read one chunk behind: the
 * chunk held back is the proof of completeness, released once the digest and length checked out.
 * A handed-over chunk is held from its arrival until the client's socket has taken it, or until
 * it is dropped, and released exactly once.
 */
class LiveRelay implements BodyObserver {
  /** Settles when the client's response was ended after a verified body (never rejects). */
  readonly delivered: Promise<void>;
  private resolveDelivered!: () => void;
  private client: Writable | undefined;
  private held: Uint8Array | undefined;
  /** Whether `held` is a handed-over chunk this relay holds (and must release). */
  private heldHandedOver = false;
  /** Whether bytes have passed: a client attached now would miss them. */
  private started = false;
  private wroteFirst = false;
  /** Bytes written to the corked client since its last uncork. */
  private corked = 0;

  constructor() {
    this.delivered = new Promise((resolve) => (this.resolveDelivered = resolve));
  }

  /** Takes `destination` as the client, unless bytes already passed (false then). */
  attach(destination: Writable): boolean {
    if (this.started || this.client) return false;
    this.client = destination;
    return true;
  }

  bytes(chunk: Uint8Array, handedOver: boolean): void | Promise<void> {
    this.started = true;
    const previous = this.held;
    if (handedOver) holdChunk(chunk);
    this.held = chunk;
    this.heldHandedOver = handedOver;
    const client = this.client;
    if (!previous) return;
    if (!client || client.destroyed) {
      this.client = undefined;
      if (handedOver) releaseChunk(previous);
      return;
    }
    const written = handedOver ? (): void => releaseChunk(previous) : undefined;
    if (!this.wroteFirst) {
      // At once, with the status line: a fetch failing after it is a cut download, not a
      // response that never came.
      this.wroteFirst = true;
      client.write(previous, written);
    } else {
      // A batch at a time (one writev): a socket write per 64 KiB chunk cost more CPU than the
      // copies themselves.
      if (this.corked === 0) client.cork();
      client.write(previous, written);
      this.corked += previous.length;
      if (this.corked < RELAY_BATCH_BYTES) return;
      this.corked = 0;
      client.uncork();
    }
    // The client's pace slows the store too, as one stream would: memory stays bounded.
    if (client.writableNeedDrain) {
      return drained(client).then((open) => {
        if (!open) this.client = undefined;
      });
    }
  }

  verified(): void {
    const client = this.client;
    const held = this.held;
    const written = held && this.heldHandedOver ? (): void => releaseChunk(held) : undefined;
    this.client = undefined;
    this.held = undefined;
    if (client && !client.destroyed) {
      if (held) client.write(held, written);
      if (this.corked > 0) client.uncork();
      client.end();
    } else written?.();
    this.corked = 0;
    this.resolveDelivered();
  }
}

/**
 * What clients waiting for a fetch are told when it failed: an upstream that broke off or sent
 * other bytes than the digest names is the upstream's failure (503, or 429 with its Retry-After),
 * as when it cannot be reached at all; a refusal of our own (the quota, a full disk, the storage
 * away) keeps its own answer.
 */
function transferFailure(upstreamName: string, digest: string, err: unknown): Error {
  const upstreamFault =
    err instanceof UpstreamError ||
    (err instanceof RegistryError && (err.code === "SIZE_INVALID" || err.code === "DIGEST_INVALID"));
  if (!upstreamFault) return err instanceof Error ? err : new Error(String(err));
  const cause = err instanceof UpstreamError ? err : new UpstreamError("protocol", err.message);
  return uncachedFailure(upstreamName, `blob ${digest}`, cause);
}

/**
 * Waits until `stream` wants more: true on 'drain', false once it is closed. Plain listeners:
 * `events.once` with an AbortSignal built an AbortError per wait, a tenth of a relay's CPU.
 */
function drained(stream: Writable): Promise<boolean> {
  if (stream.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const settle = (open: boolean) => (): void => {
      stream.off("drain", onDrain);
      stream.off("close", onClose);
      resolve(open);
    };
    const onDrain = settle(true);
    const onClose = settle(false);
    stream.on("drain", onDrain);
    stream.on("close", onClose);
  });
}

function throttled(body: Readable, target: ProxyTarget): Readable {
  const throttle = target.bandwidth.throttle();
  body.on("error", (err) => throttle.destroy(err));
  return body.pipe(throttle);
}
