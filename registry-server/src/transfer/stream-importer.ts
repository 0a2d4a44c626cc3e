// The server's import: reads an archive as a stream (an HTTP request body) into a project.
// With a bundle, whose manifests come first, the plan is known before the first large blob and
// each blob goes straight where it belongs: skipped when the project has it, verified and linked
// when the registry has it elsewhere, else stored while its digest is checked. Archives in any
// other order (skopeo's, `docker save`) are staged and sorted out at the end. Manifests are
// stored last, children first, each only once everything it references is there: an archive
// that turns out corrupt halfway leaves no manifest, only verified blobs a rerun will skip.
// What the archive may make the server read and write is bounded as it streams (import-limits.ts):
// its decompressed size, each metadata entry's size (refused from its header), and what it writes
// against the project's remaining quota (reserved from each entry's header before writing).

import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { BlobStore } from "../content/blob-store.ts";
import { parseDigest, type ParsedDigest } from "../content/digest.ts";
import type { ManifestService } from "../content/manifest-service.ts";
import { RegistryError } from "../http/errors.ts";
import type { Logger } from "../logger.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { StorageDriver } from "../storage/storage-driver.ts";
import { neededBlobs, planImport, sparseIndexRefusal } from "./archive-plan.ts";
import {
  MAX_MANIFEST_BYTES,
  PlanError,
  type ImportNaming,
  type ImportPlan,
  type PlannedBlob,
} from "./archive-types.ts";
import { digestOfPath, INDEX_FILE } from "./bundle-format.ts";
import { checkEntrySize, ImportBudget, metadataLimit, type ImportLimits } from "./import-limits.ts";
import { CorruptArchiveError, NotYetSeen, StagedArchive } from "./staged-archive.ts";
import { readEntry, readTar, type TarEntry } from "./tar-reader.ts";

export interface ImportDeps {
  readonly metadata: MetadataStore;
  readonly blobs: BlobStore;
  readonly manifests: ManifestService;
  readonly driver: StorageDriver;
  readonly log: Logger;
  /** The largest archive taken; DEFAULT_IMPORT_LIMITS when not given. */
  readonly limits?: ImportLimits;
}

/** limits.maxImportBytes's default: 32 GiB of archive, decompressed. */
export const DEFAULT_IMPORT_LIMITS: ImportLimits = { maxImportBytes: 32 * 1024 * 1024 * 1024 };

export interface ImportSummary {
  readonly format: ImportPlan["format"];
  readonly images: ImportPlan["images"];
  readonly manifests: number;
  readonly blobsStored: number;
  readonly blobsSkipped: number;
  readonly bytesStored: number;
  readonly bytesRead: number;
}

/** Small files kept in memory while the plan is unknown, up to this much in all. */
const SMALL_FILE_BYTES = 256 * 1024;
const MEMORY_BUDGET = 64 * 1024 * 1024;
const TOP_LEVEL_SMALL = /^[^/]+\.json$|^oci-layout$|^repositories$/;

type Needed = ReturnType<typeof neededBlobs> extends Map<string, infer V> ? V : never;

function digestParts(digest: string): ParsedDigest {
  const parsed = parseDigest(digest);
  if (typeof parsed === "string") throw new PlanError(`invalid digest ${digest}`);
  return parsed;
}

class StreamImport {
  private readonly deps: ImportDeps;
  private readonly naming: ImportNaming;
  private readonly archive: StagedArchive;
  private plan: ImportPlan | undefined;
  private needed = new Map<string, Needed>();
  private waitingFor: string | undefined;
  private readonly handled = new Set<string>();
  private budget = new ImportBudget(0);
  stored = 0;
  skipped = 0;
  bytesStored = 0;
  bytesRead = 0;

  constructor(deps: ImportDeps, naming: ImportNaming) {
    this.deps = deps;
    this.naming = naming;
    this.archive = new StagedArchive(deps.driver);
  }

  async run(source: AsyncIterable<Buffer>): Promise<ImportSummary> {
    try {
      this.budget = new ImportBudget(
        (this.deps.limits ?? DEFAULT_IMPORT_LIMITS).maxImportBytes,
        await this.remainingQuota(),
      );
      for await (const entry of readTar(this.budget.meter(source))) {
        this.bytesRead += entry.size;
        // The archive's declared size: an entry that would take it past the limit is not read.
        this.budget.declare(entry.size);
        if (entry.type === "symlink" || entry.type === "hardlink") this.archive.link(entry);
        else if (entry.type === "file") await this.accept(entry);
      }
      this.archive.complete = true;
      const plan = this.plan ?? (await planImport(this.archive, this.naming));
      if (!this.plan) await this.adopt(plan);
      for (const need of this.needed.values()) if (!this.handled.has(need.digest)) await this.fromArchive(need);
      for (const manifest of plan.manifests) {
        await this.deps.manifests.push(
          manifest.repository,
          { kind: "digest", digest: digestParts(manifest.digest) },
          manifest.content,
          manifest.mediaType,
          manifest.tags,
        );
      }
      return {
        format: plan.format,
        images: plan.images,
        manifests: plan.manifests.length,
        blobsStored: this.stored,
        blobsSkipped: this.skipped,
        bytesStored: this.bytesStored,
        bytesRead: this.bytesRead,
      };
    } finally {
      await this.archive.discard();
    }
  }

  /**
   * Takes a plan, once this registry is known to accept it: an index the archive holds without
   * some children (sparse) is refused before anything is stored, unless the configuration lets
   * the repository go without them.
   */
  private async adopt(plan: ImportPlan): Promise<void> {
    for (const manifest of plan.manifests) {
      if (manifest.absentChildren.length === 0) continue;
      const missing = await this.deps.manifests.requiredMissing(manifest.repository, manifest.absentChildren);
      if (missing.length > 0) throw new PlanError(sparseIndexRefusal(manifest, missing));
    }
    this.plan = plan;
    this.needed = neededBlobs(plan);
  }

  /** Tries to work out the plan from what has arrived (only for layouts that put index.json first). */
  private async tryPlan(): Promise<void> {
    if (this.plan || !this.archive.has(INDEX_FILE)) return;
    if (this.waitingFor !== undefined && !this.archive.has(this.waitingFor)) return;
    try {
      await this.adopt(await planImport(this.archive, this.naming));
      this.waitingFor = undefined;
    } catch (err) {
      if (!(err instanceof NotYetSeen)) throw err;
      this.waitingFor = err.file;
    }
  }

  /** The project's quota and what it uses now, when it has one. */
  private async remainingQuota(): Promise<{ limit: number; used: number } | undefined> {
    const project = await this.deps.metadata.projects.getByName(this.naming.project);
    if (!project || project.storageLimit < 0) return undefined;
    return { limit: project.storageLimit, used: await this.deps.metadata.projects.storageUsed(project.name) };
  }

  /** Stages a file in storage, once the quota has room for it. */
  private async stage(entry: TarEntry): Promise<void> {
    this.budget.reserve(entry.size);
    await this.archive.stage(entry);
  }

  /** Whether a file may be kept in memory: small, and within the budget of the whole import. */
  private fits(size: number, limit: number): boolean {
    return size <= limit && this.archive.memoryBytes + size <= MEMORY_BUDGET;
  }

  private async accept(entry: TarEntry): Promise<void> {
    const digest = digestOfPath(entry.name);
    if (digest === undefined) {
      // A 1 GiB index.json is refused here, from its header, not staged.
      checkEntrySize(entry.name, entry.size, metadataLimit(entry.name));
      // docker save: configs and manifest.json in memory, layer tars staged with their digest.
      if (TOP_LEVEL_SMALL.test(entry.name) && this.fits(entry.size, MAX_MANIFEST_BYTES)) {
        this.archive.keep(entry.name, await readEntry(entry));
      } else {
        await this.stage(entry);
      }
      return;
    }
    // Small files (manifests, configs) are kept until a large one arrives: by then a bundle has
    // delivered every manifest, and one attempt at the plan settles where everything goes.
    const small = this.fits(entry.size, SMALL_FILE_BYTES);
    if (!this.plan && !small) await this.tryPlan();
    // The manifest the plan waits for (index.json names it) is refused from its header when too large.
    if (!this.plan && entry.name === this.waitingFor) checkEntrySize(entry.name, entry.size, MAX_MANIFEST_BYTES);
    if (this.plan) {
      const need = this.needed.get(digest);
      if (need && !this.handled.has(digest)) await this.direct(entry, need);
      // Anything else (an unreferenced blob, a second copy) is skipped by the reader.
      return;
    }
    if (small) this.archive.keep(entry.name, await readEntry(entry));
    else await this.stage(entry);
  }

  /** Repositories that still lack the blob, and whether the project holds it anywhere. */
  private async missingFrom(need: Needed): Promise<{ missing: string[]; inProject: boolean; known: boolean }> {
    const missing: string[] = [];
    for (const repository of need.repositories) {
      if (!(await this.deps.metadata.blobs.isLinked(repository, need.digest))) missing.push(repository);
    }
    const known = missing.length > 0 && (await this.deps.metadata.blobs.get(need.digest)) !== undefined;
    const holders = known ? await this.deps.blobs.holders(need.digest) : [];
    return { missing, inProject: holders.some((h) => h.startsWith(`${this.naming.project}/`)), known };
  }

  private async link(repositories: readonly string[], digest: string): Promise<void> {
    for (const repository of repositories) await this.deps.blobs.mount(repository, digest);
  }

  /** A blob arriving when the plan is known: skipped, linked after a check, or stored. */
  private async direct(entry: TarEntry, need: Needed): Promise<void> {
    this.handled.add(need.digest);
    if (entry.size !== need.size)
      throw new CorruptArchiveError(`${entry.name} is ${entry.size} bytes, its manifest says ${need.size}`);
    const { missing, inProject, known } = await this.missingFrom(need);
    if (missing.length === 0 || inProject) {
      await this.link(missing, need.digest);
      this.skipped++;
      return;
    }
    const digest = digestParts(need.digest);
    if (known) {
      // The registry has these bytes elsewhere: the archive must still prove it holds them.
      const hash = createHash(digest.algorithm);
      for await (const chunk of entry.body) hash.update(chunk);
      if (`${digest.algorithm}:${hash.digest("hex")}` !== need.digest) throw corrupt(entry.name);
      await this.link(missing, need.digest);
    } else {
      const [first, ...others] = missing as [string, ...string[]];
      this.budget.reserve(entry.size);
      try {
        await this.deps.blobs.write(first, digest, Readable.from(entry.body), entry.size);
      } catch (err) {
        if (err instanceof RegistryError && (err.code === "DIGEST_INVALID" || err.code === "SIZE_INVALID"))
          throw corrupt(entry.name);
        throw err;
      }
      await this.link(others, need.digest);
      this.bytesStored += entry.size;
    }
    this.stored++;
  }

  /** At the end: a blob from what was kept or staged, or one the repositories already hold. */
  private async fromArchive(need: PlannedBlob & { repositories: Set<string> }): Promise<void> {
    // Whatever was staged for a blob that is not taken here is deleted with the rest at the end.
    const { missing, inProject, known } = await this.missingFrom(need);
    if (missing.length === 0 || inProject) {
      await this.link(missing, need.digest);
      this.skipped++;
      return;
    }
    const content = this.archive.peek(need.path);
    if (!content) {
      if (need.optional) return;
      throw new PlanError(`the archive lacks blob ${need.digest}, and ${missing[0]} does not hold it`);
    }
    // What was kept or staged was verified on arrival (or hashed, for docker save layers).
    if (content.kind === "staged" && content.file.digest !== need.digest) throw corrupt(need.path);
    const [first, ...others] = missing as [string, ...string[]];
    if (known) {
      await this.link(missing, need.digest);
    } else if (content.kind === "memory") {
      this.budget.reserve(content.data.length);
      await this.deps.blobs.writeBytes(first, need.digest, content.data);
      this.bytesStored += need.size;
    } else {
      this.archive.take(need.path);
      await this.deps.blobs.commit(first, need.digest, content.file.size, content.file.parts);
      this.bytesStored += need.size;
    }
    await this.link(others, need.digest);
    this.stored++;
  }
}

function corrupt(name: string): CorruptArchiveError {
  return new CorruptArchiveError(`${name} does not match its digest: the archive is corrupt`);
}

/**
 * Imports an archive read from `source`; PlanError and CorruptArchiveError say what is wrong,
 * ImportTooLargeError, OversizedEntryError and ImportOverQuotaError which limit it went past.
 */
export async function importArchive(
  deps: ImportDeps,
  source: AsyncIterable<Buffer>,
  naming: ImportNaming,
): Promise<ImportSummary> {
  return new StreamImport(deps, naming).run(source);
}
