// One garbage collection run, online: the steps of the protocol in ./README.md (untagged
// manifests, mark, sweep, doomed parts, orphans, abandoned uploads), each safe against clients
// pushing, pulling and mounting at the same time and against another run on another replica. A
// dry run walks steps 1–3 and deletes nothing. The run stops between two items when asked to.

import type { BlobStore } from "../content/blob-store.ts";
import { expireStaleUploads } from "../content/upload-expiry.ts";
import { PARTS_PREFIX } from "../content/layout.ts";
import type { GcBlob, GcMetadata, ManifestKey } from "../metadata/lifecycle-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { StorageDriver } from "../storage/storage-driver.ts";
import type { GcParameters } from "./gc-parameters.ts";

/** The store as a run uses it. */
export type GcStore = Pick<MetadataStore, "transaction" | "uploads" | "blobs" | "manifests" | "projects"> & {
  readonly gc: GcMetadata;
};

export interface GcOptions {
  /** How long a doomed part's object stays, for reads that began before its blob went. */
  readonly readGraceMs: number;
  /** Upload sessions idle longer than this are abandoned. */
  readonly uploadMaxIdleMs: number;
}

/** What a run reports as it goes and at its end (Harbor's GC shows the freed space). */
export interface GcReport {
  readonly dryRun: boolean;
  /** Untagged manifests deleted (or that would be). */
  manifests: number;
  /** Blobs deleted (or that would be). */
  blobs: number;
  /** Their bytes. */
  freedBytes: number;
  /** Per project (a repository's first path segment): what of the above came from it. */
  readonly projects: Record<string, { manifests: number; blobs: number; freedBytes: number }>;
  /** Storage objects deleted: doomed parts and orphans. */
  objects: number;
  uploads: number;
}

export interface GcProgress {
  readonly signal: AbortSignal;
  log(line: string): void;
  report(report: GcReport): void;
}

const PAGE = 500;
/**
 * An unknown storage object is deleted only once this old, whatever the time window: a part is
 * written before the transaction that records it commits, and under load that commit can take
 * longer than a short time window (a CI run on S3 showed it with 1.8 s).
 */
export const ORPHAN_MIN_AGE_MS = 3_600_000;
const MIB = 1024 * 1024;

export interface GcDeps {
  readonly store: GcStore;
  readonly blobs: Pick<BlobStore, "deleteParts">;
  readonly driver: StorageDriver;
  readonly now?: () => number;
}

export class GarbageCollector {
  private readonly deps: GcDeps;
  private readonly options: GcOptions;

  constructor(deps: GcDeps, options: GcOptions) {
    this.deps = deps;
    this.options = options;
  }

  async run(params: GcParameters, progress: GcProgress): Promise<GcReport> {
    const now = this.deps.now ?? Date.now;
    const cutoff = new Date(now() - params.timeWindowMs);
    const report: GcReport = {
      dryRun: params.dryRun,
      manifests: 0,
      blobs: 0,
      freedBytes: 0,
      projects: {},
      objects: 0,
      uploads: 0,
    };
    const step = (): void => {
      if (progress.signal.aborted) throw progress.signal.reason ?? new Error("stopped");
      progress.report(report);
    };
    progress.log(
      `[INFO] Garbage Collection parameters: [delete_untagged: ${params.deleteUntagged}, dry_run: ${params.dryRun}, ` +
        `time_window: ${params.timeWindowMs / 3_600_000}, workers: ${params.workers}]`,
    );
    progress.log(`[INFO] leaving alone what was pushed or claimed since ${cutoff.toISOString()}`);

    const untagged = params.deleteUntagged ? await this.untagged(cutoff, params, report, progress, step) : [];
    if (params.dryRun) {
      await this.wouldFree(cutoff, untagged, report, step);
    } else {
      await this.sweep(cutoff, params, report, progress, step);
      // Doomed at or before now minus the read grace (a zero grace then takes this run's own).
      await this.deleteDoomed(new Date(now() - this.options.readGraceMs + 1), report, step);
      // Orphans are what a crash left: no hurry, and an hour is far beyond any write's commit.
      await this.deleteOrphans(
        new Date(now() - Math.max(params.timeWindowMs, ORPHAN_MIN_AGE_MS)),
        report,
        progress,
        step,
      );
      report.uploads = await expireStaleUploads(
        this.deps.store,
        this.deps.blobs,
        new Date(now() - this.options.uploadMaxIdleMs),
      );
    }
    progress.report(report);
    const verb = params.dryRun ? "would be" : "were";
    progress.log(
      `[INFO] ${report.blobs} blobs and ${report.manifests} manifests ${verb} deleted, ` +
        `${Math.floor(report.freedBytes / MIB)} MB (${report.freedBytes} bytes) ${verb} freed`,
    );
    if (!params.dryRun) {
      progress.log(`[INFO] ${report.objects} storage objects and ${report.uploads} abandoned uploads removed`);
    }
    return report;
  }

  /** Step 1: untagged manifests, deleted one by one, each only if it still qualifies then. */
  private async untagged(
    cutoff: Date,
    params: GcParameters,
    report: GcReport,
    progress: GcProgress,
    step: () => void,
  ): Promise<ManifestKey[]> {
    const chosen: ManifestKey[] = [];
    // A proxy cache stores what is pulled by digest untagged: its expiry policy decides what goes,
    // not delete_untagged, which would empty the cache (Harbor's goharbor/harbor#23570).
    const proxies = new Map<string, boolean>();
    const isProxy = async (repository: string): Promise<boolean> => {
      const name = repository.split("/")[0] ?? "";
      let known = proxies.get(name);
      if (known === undefined) {
        known = (await this.deps.store.projects.getByName(name))?.registryId !== undefined;
        proxies.set(name, known);
      }
      return known;
    };
    let after: ManifestKey | undefined;
    for (;;) {
      const page = await this.deps.store.gc.untaggedManifests(cutoff, { ...(after && { after }), limit: PAGE });
      for (const manifest of page) {
        step();
        if (await isProxy(manifest.repository)) continue;
        if (params.dryRun || (await this.deleteIfStillUntagged(manifest))) {
          chosen.push(manifest);
          report.manifests += 1;
          project(report, manifest.repository).manifests += 1;
          if (!params.dryRun)
            progress.log(`[INFO] deleted the untagged artifact ${manifest.repository}@${manifest.digest}`);
        }
      }
      const last = page.at(-1);
      if (!last || page.length < PAGE) break;
      after = { repository: last.repository, digest: last.digest };
    }
    return chosen;
  }

  /** A tag or an index may have come to the manifest since it was listed: then it stays. */
  private async deleteIfStillUntagged(manifest: ManifestKey): Promise<boolean> {
    return this.deps.store.transaction(async (tx) => {
      if ((await tx.tags.forDigest(manifest.repository, manifest.digest)).length > 0) return false;
      if ((await tx.manifests.parents(manifest.repository, manifest.digest)).length > 0) return false;
      return tx.manifests.delete(manifest.repository, manifest.digest);
    });
  }

  /** Steps 2 and 3: candidates by digest, each deleted by the store's atomic conditional step. */
  private async sweep(
    cutoff: Date,
    params: GcParameters,
    report: GcReport,
    progress: GcProgress,
    step: () => void,
  ): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const page = await this.deps.store.gc.candidateBlobs(cutoff, {
        ...(after !== undefined && { after }),
        limit: PAGE,
      });
      const queue = [...page];
      const worker = async (): Promise<void> => {
        for (let blob = queue.shift(); blob; blob = queue.shift()) {
          step();
          // Its repositories, read before it goes, to say whose bytes were freed.
          const holders = await this.deps.store.blobs.repositoriesOf(blob.digest);
          const deleted = await this.deps.store.gc.deleteUnreferencedBlob(blob.digest, cutoff, new Date());
          if (!deleted) continue;
          count(report, deleted, holders[0]);
          progress.log(`[INFO] deleted the blob ${deleted.digest} (${deleted.size} bytes)`);
        }
      };
      await Promise.all(Array.from({ length: Math.min(params.workers, Math.max(page.length, 1)) }, worker));
      const last = page.at(-1);
      if (!last || page.length < PAGE) break;
      after = last.digest;
    }
  }

  /**
   * A dry run's answer to "what would be freed": the blobs unreferenced now, and those only the
   * untagged manifests that would go reference.
   */
  private async wouldFree(cutoff: Date, untagged: readonly ManifestKey[], report: GcReport, step: () => void) {
    const seen = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const page = await this.deps.store.gc.candidateBlobs(cutoff, {
        ...(after !== undefined && { after }),
        limit: PAGE,
      });
      for (const blob of page) {
        step();
        seen.add(blob.digest);
        count(report, blob, (await this.deps.store.blobs.repositoriesOf(blob.digest))[0]);
      }
      const last = page.at(-1);
      if (!last || page.length < PAGE) break;
      after = last.digest;
    }
    // Blob → [how many of the going manifests reference it, a repository of one of them].
    const referencedBy = new Map<string, { count: number; repository: string }>();
    for (const manifest of untagged) {
      step();
      const references = await this.deps.store.manifests.references(manifest.repository, manifest.digest);
      for (const digest of references?.blobs ?? []) {
        const entry = referencedBy.get(digest);
        if (entry) entry.count += 1;
        else referencedBy.set(digest, { count: 1, repository: manifest.repository });
      }
    }
    const digests = [...referencedBy.keys()].filter((digest) => !seen.has(digest));
    for (let i = 0; i < digests.length; i += PAGE) {
      const batch = digests.slice(i, i + PAGE);
      const totals = await this.deps.store.gc.blobReferenceCounts(batch);
      for (const digest of batch) {
        step();
        const entry = referencedBy.get(digest);
        if (!entry || totals.get(digest) !== entry.count) continue;
        const blob = await this.deps.store.blobs.get(digest);
        if (blob) count(report, blob, entry.repository);
      }
    }
  }

  /** Step 4: the objects of deleted blobs, once no read that began before can still want them. */
  private async deleteDoomed(before: Date, report: GcReport, step: () => void): Promise<void> {
    for (;;) {
      const paths = await this.deps.store.gc.doomedParts(before, PAGE);
      if (paths.length === 0) return;
      step();
      for (const path of paths) await this.deps.driver.delete(path);
      await this.deps.store.gc.forgetDoomed(paths);
      report.objects += paths.length;
      if (paths.length < PAGE) return;
    }
  }

  /**
   * Step 5: objects no record names, older than the cutoff (an hour at least). Listed before the
   * store is asked, so that a part recorded meanwhile is known by then.
   */
  private async deleteOrphans(cutoff: Date, report: GcReport, progress: GcProgress, step: () => void) {
    const old: string[] = [];
    for await (const object of this.deps.driver.list(PARTS_PREFIX)) {
      if (object.modifiedAt < cutoff) old.push(object.path);
      if (old.length % PAGE === 0) step();
    }
    if (old.length === 0) return;
    const known = await this.deps.store.gc.knownPartPaths();
    for (const path of old) {
      if (known.has(path)) continue;
      step();
      await this.deps.driver.delete(path);
      report.objects += 1;
      progress.log(`[INFO] deleted the orphan object ${path}`);
    }
  }
}

function project(report: GcReport, repository: string | undefined) {
  const name = repository?.split("/")[0] ?? "";
  return (report.projects[name] ??= { manifests: 0, blobs: 0, freedBytes: 0 });
}

function count(report: GcReport, blob: Pick<GcBlob, "size">, repository: string | undefined): void {
  report.blobs += 1;
  report.freedBytes += blob.size;
  const entry = project(report, repository);
  entry.blobs += 1;
  entry.freedBytes += blob.size;
}
