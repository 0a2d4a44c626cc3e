// Copies one artifact from a replication source to a destination, as Harbor's image transfer
// does (src/controller/replication/transfer/image/transfer.go), and its accessories with it.
//
// Order: the manifest tree depth first, so that a destination validating what a manifest
// references (this registry does) finds it there: an index's children before the index, an
// image's config and layers before the image. A manifest the destination already holds by digest
// is complete there (its push was validated), so its subtree is not walked again. Then the
// accessories of every manifest of the tree: its OCI referrers (signatures, SBOMs, attestations,
// copied the same way, and theirs in turn) and cosign's tags `sha256-<hex>.sig|.att|.sbom`.
//
// Blobs go through blob-transfer.ts: skipped when there, mounted, or streamed (never held whole).
//
// `override` false: a tag the destination has for another digest is left alone (logged), as
// Harbor does; the same digest under the tag is already done. Requests failing in a way another
// try may cure are retried with backoff (retry-policy.ts).

import { digestOf, parseDigest } from "../content/digest.ts";
import { parseManifest, type Descriptor, type ParsedManifest } from "../content/manifest-parser.ts";
import { MANIFEST_KINDS } from "../content/media-types.ts";
import { UpstreamError } from "../upstream/upstream-registry.ts";
import { MountLedger } from "./mount-ledger.ts";
import { SYSTEM_CLOCK, type ReplicationClock } from "./replication-clock.ts";
import type { EndpointManifest, ReplicationDestination, ReplicationSource } from "./replication-endpoint.ts";
import { harborTypeOfManifest } from "./replication-filters.ts";
import { DEFAULT_RETRY, withRetries, type RetryPolicy } from "./retry-policy.ts";
import { transferBlob, type BlobCounters, type TransferContext, type TransferOptions } from "./blob-transfer.ts";

/** cosign's accessory tags, after the subject's digest. */
const COSIGN_SUFFIXES = ["sig", "att", "sbom"] as const;

/** How deep accessories of accessories are followed (a signature of an SBOM of an image…). */
const MAX_ACCESSORY_DEPTH = 4;

export interface CopyOptions extends TransferOptions {
  /** Replace a destination tag that names another digest (Harbor's `override`). */
  readonly override: boolean;
  /** Copy only artifacts Harbor types IMAGE (the policy's "image" resource filter). */
  readonly imagesOnly?: boolean;
}

export interface CopyRequest {
  readonly srcRepository: string;
  readonly dstRepository: string;
  /** The artifact on the source: a tag or a digest. */
  readonly reference: string;
  /** The tags to give it on the destination; none copies it by digest. */
  readonly tags: readonly string[];
}

export interface CopyCounters extends BlobCounters {
  manifestsSent: number;
  /** Manifests the destination already had by digest. */
  manifestsSkipped: number;
  /** Tags left alone because they name another digest there and `override` is off. */
  tagsSkipped: number;
}

export interface CopyOutcome extends CopyCounters {
  /** The artifact's digest on the source. */
  readonly digest: string;
  /** Why nothing was copied, when nothing was. */
  readonly skipped?: string;
}

export interface CopierDeps {
  readonly source: ReplicationSource;
  readonly destination: ReplicationDestination;
  readonly options: CopyOptions;
  readonly clock?: ReplicationClock;
  readonly retry?: RetryPolicy;
  /** Shared by the tasks of an execution: where blobs went, to mount them from. */
  readonly ledger?: MountLedger;
  /** The task's log. */
  readonly log?: (line: string) => void;
}

/** What one copy works with: the copier's parts and its retries. */
interface CopyContext extends TransferContext {
  readonly options: CopyOptions;
}

export class ArtifactCopier {
  private readonly deps: CopierDeps;
  private readonly ledger: MountLedger;

  constructor(deps: CopierDeps) {
    this.deps = deps;
    this.ledger = deps.ledger ?? new MountLedger();
  }

  async copy(request: CopyRequest, signal: AbortSignal): Promise<CopyOutcome> {
    const clock = this.deps.clock ?? SYSTEM_CLOCK;
    const log = this.deps.log ?? (() => undefined);
    const policy = this.deps.retry ?? DEFAULT_RETRY;
    const context: CopyContext = {
      source: this.deps.source,
      destination: this.deps.destination,
      options: this.deps.options,
      clock,
      ledger: this.ledger,
      log,
      attempt: (operation, what) => withRetries(operation, what, { policy, clock, signal, onRetry: log }),
    };
    return new CopyRun(context, request, signal).run();
  }
}

/** One copy: its counters and the manifests it has seen through. */
class CopyRun {
  private readonly context: CopyContext;
  private readonly request: CopyRequest;
  private readonly signal: AbortSignal;
  private readonly counters: CopyCounters = {
    blobsSent: 0,
    blobsSkipped: 0,
    blobsMounted: 0,
    bytesSent: 0,
    manifestsSent: 0,
    manifestsSkipped: 0,
    tagsSkipped: 0,
  };
  /** Manifests known to be complete on the destination. */
  private readonly done = new Set<string>();
  /** Manifests whose accessories were looked for. */
  private readonly accessoriesSeen = new Set<string>();

  constructor(context: CopyContext, request: CopyRequest, signal: AbortSignal) {
    this.context = context;
    this.request = request;
    this.signal = signal;
  }

  private get src(): string {
    return this.request.srcRepository;
  }

  private get dst(): string {
    return this.request.dstRepository;
  }

  private get log(): (line: string) => void {
    return this.context.log;
  }

  async run(): Promise<CopyOutcome> {
    const { source } = this.context;
    const { reference } = this.request;
    this.log(
      `[INFO] copying ${this.src}:${reference} (${source.description}) to ${this.dst} (${this.destinationName})`,
    );
    const top = await this.fetch(reference);
    if (!top) throw new Error(`${this.src}:${reference} is not on the source`);
    const parsed = parse(top);
    if (this.context.options.imagesOnly && harborTypeOfManifest(parsed) !== "IMAGE") {
      this.log(`[INFO] ${this.src}:${reference} is not an image and the policy replicates images only: skipped`);
      return { ...this.counters, digest: top.digest, skipped: "not an image" };
    }
    const tags = await this.tagsToPut(top.digest, this.requestedTags());
    if (tags === undefined) {
      return { ...this.counters, digest: top.digest, skipped: "its tags name other artifacts on the destination" };
    }
    await this.ensure(top, parsed, tags);
    await this.copyAccessories(top.digest, parsed, 0);
    this.log(
      `[INFO] copied ${this.src}:${reference}: ${this.counters.blobsSent} blobs sent (${this.counters.bytesSent} bytes), ` +
        `${this.counters.blobsSkipped} already there, ${this.counters.blobsMounted} mounted; ` +
        `${this.counters.manifestsSent} manifests sent, ${this.counters.manifestsSkipped} already there`,
    );
    return { ...this.counters, digest: top.digest };
  }

  /** The tags asked for; a copy by tag without a list gets that tag. */
  private requestedTags(): readonly string[] {
    const { reference, tags } = this.request;
    return tags.length > 0 || reference.includes(":") ? tags : [reference];
  }

  private get destinationName(): string {
    return this.context.destination.description;
  }

  /**
   * The tags to point at `digest` on the destination: those absent there or (with `override`)
   * naming another digest; undefined when every tag is taken by another digest and `override`
   * is off (nothing to do, as Harbor skips such an artifact).
   */
  private async tagsToPut(digest: string, requested: readonly string[]): Promise<string[] | undefined> {
    const { destination, options } = this.context;
    const wanted: string[] = [];
    let present = 0;
    for (const tag of requested) {
      const existing = await this.context.attempt(
        () => destination.headManifest(this.dst, tag, this.signal),
        `HEAD ${this.dst}:${tag}`,
      );
      if (existing === digest) {
        present++;
        this.log(`[INFO] ${this.dst}:${tag} is already ${digest} on the destination`);
      } else if (existing !== undefined && !options.override) {
        this.counters.tagsSkipped++;
        this.log(`[WARNING] ${this.dst}:${tag} names ${existing} on the destination and "override" is off: left alone`);
      } else {
        if (existing !== undefined)
          this.log(`[INFO] ${this.dst}:${tag} names ${existing}: replaced ("override" is on)`);
        wanted.push(tag);
      }
    }
    if (requested.length > 0 && wanted.length === 0 && present === 0) return undefined;
    return wanted;
  }

  /**
   * Makes `manifest` complete on the destination: its children or blobs first, then the manifest
   * under each of `tags`, or by digest when there are none.
   */
  private async ensure(manifest: EndpointManifest, parsed: ParsedManifest, tags: readonly string[]): Promise<void> {
    const { destination } = this.context;
    if (!this.done.has(manifest.digest)) {
      const there = await this.context.attempt(
        () => destination.headManifest(this.dst, manifest.digest, this.signal),
        `HEAD ${this.dst}@${manifest.digest}`,
      );
      if (there === manifest.digest) {
        this.counters.manifestsSkipped++;
      } else {
        for (const child of parsed.children) await this.ensureChild(child);
        for (const blob of parsed.blobs) {
          await transferBlob(this.context, this.counters, { from: this.src, to: this.dst }, blob, this.signal);
        }
        if (tags.length === 0) await this.put(manifest, manifest.digest);
      }
      this.done.add(manifest.digest);
    }
    for (const tag of tags) await this.put(manifest, tag);
  }

  private async ensureChild(child: Descriptor): Promise<void> {
    if (this.done.has(child.digest)) return;
    const manifest = await this.fetch(child.digest);
    if (!manifest) throw new Error(`${this.src}@${child.digest}, listed by an index, is not on the source`);
    await this.ensure(manifest, parse(manifest), []);
  }

  private async put(manifest: EndpointManifest, reference: string): Promise<void> {
    const { destination } = this.context;
    await this.context.attempt(
      () => destination.putManifest(this.dst, reference, manifest, this.signal),
      `PUT ${this.dst}:${reference}`,
    );
    this.counters.manifestsSent++;
    this.log(`[INFO] manifest ${manifest.digest} put as ${this.dst}:${reference}`);
  }

  /** Referrers and cosign tags of every manifest of the tree under `digest`. */
  private async copyAccessories(digest: string, parsed: ParsedManifest, depth: number): Promise<void> {
    if (this.accessoriesSeen.has(digest) || depth > MAX_ACCESSORY_DEPTH) return;
    this.accessoriesSeen.add(digest);
    const { source } = this.context;
    for (const child of parsed.children) {
      const manifest = MANIFEST_KINDS[child.mediaType] === "index" ? await this.fetch(child.digest) : undefined;
      await this.copyAccessories(child.digest, manifest ? parse(manifest) : EMPTY, depth);
    }
    const referrers = await this.context.attempt(
      () => source.listReferrers(this.src, digest, this.signal),
      `referrers of ${this.src}@${digest}`,
    );
    for (const referrer of referrers) {
      const manifest = await this.fetch(referrer.digest);
      if (!manifest) continue;
      const accessory = parse(manifest);
      this.log(`[INFO] accessory ${referrer.digest} (${referrer.artifactType ?? referrer.mediaType}) of ${digest}`);
      await this.ensure(manifest, accessory, []);
      await this.copyAccessories(manifest.digest, accessory, depth + 1);
    }
    const hex = digest.startsWith("sha256:") ? digest.slice("sha256:".length) : undefined;
    if (hex === undefined) return;
    for (const suffix of COSIGN_SUFFIXES) {
      const tag = `sha256-${hex}.${suffix}`;
      const manifest = await this.fetch(tag);
      if (!manifest) continue;
      this.log(`[INFO] cosign accessory ${tag} (${manifest.digest}) of ${digest}`);
      const accessory = parse(manifest);
      const tags = await this.tagsFor(tag, manifest.digest);
      await this.ensure(manifest, accessory, tags);
      await this.copyAccessories(manifest.digest, accessory, depth + 1);
    }
  }

  /** `[tag]` when it is to be put (absent, or another digest with `override`), else []. */
  private async tagsFor(tag: string, digest: string): Promise<string[]> {
    const { destination, options } = this.context;
    const existing = await this.context.attempt(
      () => destination.headManifest(this.dst, tag, this.signal),
      `HEAD ${this.dst}:${tag}`,
    );
    if (existing === digest) return [];
    if (existing !== undefined && !options.override) {
      this.counters.tagsSkipped++;
      this.log(`[WARNING] ${this.dst}:${tag} names ${existing} on the destination and "override" is off: left alone`);
      return [];
    }
    return [tag];
  }

  /** A manifest of the source, checked against its digest; undefined when absent. */
  private async fetch(reference: string): Promise<EndpointManifest | undefined> {
    const { source } = this.context;
    const manifest = await this.context.attempt(
      () => source.getManifest(this.src, reference, this.signal),
      `GET ${this.src}:${reference}`,
    );
    if (!manifest) return undefined;
    const parsed = parseDigest(manifest.digest);
    if (typeof parsed !== "string" && digestOf(parsed.algorithm, manifest.content) !== manifest.digest) {
      throw new UpstreamError(
        "protocol",
        `the source sent ${this.src}:${reference} with bytes not matching ${manifest.digest}`,
      );
    }
    return manifest;
  }
}

const EMPTY: ParsedManifest = { mediaType: "", kind: "image", blobs: [], children: [] };

function parse(manifest: EndpointManifest): ParsedManifest {
  return parseManifest(manifest.content, manifest.mediaType);
}
