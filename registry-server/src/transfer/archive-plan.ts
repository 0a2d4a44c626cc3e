// What an image archive holds and where each part goes, worked out from its small files: the
// images and their names, every manifest (children before the index that lists them, so that
// each is stored only once all it references is there), and the blobs each repository needs.
// Both importers use it: the server reading a stream, and the command line reading a file.
//
// Two kinds of archive: an OCI image layout (our bundles, skopeo's `oci-archive:`, `docker save`
// from Docker 25 on), and the older `docker save` format (manifest.json naming a config and
// uncompressed layer tars, for which a Docker schema 2 manifest is built).

import { RegistryError } from "../http/errors.ts";
import { parseManifest, type Descriptor } from "../content/manifest-parser.ts";
import { isValidTag } from "../content/names.ts";
import {
  blobPath,
  BUNDLE_FILE,
  bundleDescriptionSchema,
  IMAGE_NAME_ANNOTATION,
  INDEX_FILE,
  layoutIndexSchema,
  OCI_LAYOUT_FILE,
  platformText,
  REF_NAME_ANNOTATION,
} from "./bundle-format.ts";
import { DOCKER_MANIFEST_FILE, planDockerArchive } from "./docker-archive.ts";
import { importedRepository, parseImageReference, ReferenceError } from "./image-reference.ts";
import {
  MAX_MANIFEST_BYTES,
  PlanError,
  type ArchiveContents,
  type ImportNaming,
  type ImportPlan,
  type PlannedBlob,
  type PlannedImage,
  type PlannedManifest,
} from "./archive-types.ts";

export type { ArchiveContents, ImportNaming, ImportPlan, PlannedBlob, PlannedImage, PlannedManifest };
export { MAX_MANIFEST_BYTES, PlanError };

const MAX_DEPTH = 8;
const MAX_MANIFESTS = 10_000;

function json(data: Buffer, what: string): unknown {
  try {
    return JSON.parse(data.toString("utf8"));
  } catch {
    throw new PlanError(`${what} is not valid JSON`);
  }
}

/** The repository and tag an index.json entry names. */
function nameOf(
  annotations: Record<string, string>,
  naming: ImportNaming,
  digest: string,
): { source: string; repository: string; tag?: string } {
  const refName = annotations[REF_NAME_ANNOTATION];
  // A full reference: containerd's annotation, or a ref.name some tools fill with one.
  const named =
    annotations[IMAGE_NAME_ANNOTATION] ?? (refName !== undefined && /[/:@]/.test(refName) ? refName : undefined);
  try {
    const ref = named === undefined ? undefined : parseImageReference(named);
    const tag = ref ? (ref.digest === undefined ? ref.tag : undefined) : refName;
    const repository = naming.repository ?? ref?.repository;
    if (tag !== undefined && !isValidTag(tag))
      throw new PlanError(`image ${digest}: invalid tag ${JSON.stringify(tag)}`);
    if (repository !== undefined) {
      return {
        source: named ?? refName ?? digest,
        repository: importedRepository(naming.project, repository, naming.prefix),
        ...(tag !== undefined && { tag }),
      };
    }
  } catch (err) {
    if (err instanceof ReferenceError) throw new PlanError(err.message);
    throw err;
  }
  throw new PlanError(
    `the archive names image ${digest} ${refName ? `only "${refName}"` : "not at all"}: give the repository to import it into`,
  );
}

class Planner {
  readonly manifests: PlannedManifest[] = [];
  private readonly seen = new Map<string, PlannedManifest>();
  private readonly contents: ArchiveContents;
  /** Children the bundle says it leaves out: not waited for while the archive still streams in. */
  private readonly omitted: ReadonlySet<string>;

  constructor(contents: ArchiveContents, omitted: ReadonlySet<string>) {
    this.contents = contents;
    this.omitted = omitted;
  }

  /** Adds a manifest and, first, every manifest it lists that the archive holds. */
  async add(
    repository: string,
    digest: string,
    mediaType: string | undefined,
    depth: number,
  ): Promise<PlannedManifest | undefined> {
    const known = this.seen.get(`${repository}@${digest}`);
    if (known) return known;
    if (depth > MAX_DEPTH) throw new PlanError(`indexes nested more than ${MAX_DEPTH} deep at ${digest}`);
    if (this.seen.size >= MAX_MANIFESTS) throw new PlanError(`more than ${MAX_MANIFESTS} manifests`);
    const content = this.omitted.has(digest)
      ? undefined
      : await this.contents.read(blobPath(digest), MAX_MANIFEST_BYTES);
    if (!content) {
      // A child the archive lacks leaves its index sparse, which the registry may take or not.
      if (depth > 0) return undefined;
      throw new PlanError(`the archive lacks manifest ${digest}`);
    }
    let parsed;
    try {
      parsed = parseManifest(content, mediaType);
    } catch (err) {
      if (err instanceof RegistryError) throw new PlanError(`${digest}: ${err.message}`);
      throw err;
    }
    const absentChildren: Descriptor[] = [];
    for (const child of parsed.children) {
      const added = await this.add(repository, child.digest, child.mediaType, depth + 1);
      if (!added) absentChildren.push(child);
    }
    const planned: PlannedManifest = {
      repository,
      digest,
      mediaType: parsed.mediaType,
      content,
      tags: [],
      blobs: parsed.blobs
        .filter((d) => d.data === undefined)
        .map((d) => ({
          digest: d.digest,
          size: d.size,
          path: blobPath(d.digest),
          optional: (d.urls?.length ?? 0) > 0,
        })),
      absentChildren,
    };
    this.seen.set(`${repository}@${digest}`, planned);
    this.manifests.push(planned);
    return planned;
  }
}

async function planLayout(contents: ArchiveContents, naming: ImportNaming): Promise<ImportPlan> {
  const indexBytes = await contents.read(INDEX_FILE, MAX_MANIFEST_BYTES);
  if (!indexBytes) throw new PlanError(`the archive has no ${INDEX_FILE}`);
  const index = layoutIndexSchema.safeParse(json(indexBytes, INDEX_FILE));
  if (!index.success) throw new PlanError(`${INDEX_FILE} is not an OCI image index: ${index.error.issues[0]?.message}`);
  if (index.data.manifests.length === 0) throw new PlanError(`${INDEX_FILE} lists no image`);
  const planner = new Planner(contents, await omittedManifests(contents));
  const images = new Map<string, PlannedImage>();
  for (const entry of index.data.manifests) {
    const name = nameOf(entry.annotations ?? {}, naming, entry.digest);
    const manifest = await planner.add(name.repository, entry.digest, entry.mediaType, 0);
    if (!manifest) throw new PlanError(`the archive lacks manifest ${entry.digest}`);
    if (name.tag !== undefined && !manifest.tags.includes(name.tag)) manifest.tags.push(name.tag);
    const key = `${name.repository}@${entry.digest}`;
    const image = images.get(key);
    if (image) {
      if (name.tag !== undefined && !image.tags.includes(name.tag)) image.tags.push(name.tag);
      continue;
    }
    images.set(key, {
      source: name.source,
      repository: name.repository,
      tags: name.tag === undefined ? [] : [name.tag],
      digest: entry.digest,
      mediaType: manifest.mediaType,
    });
  }
  return { format: "oci-layout", images: [...images.values()], manifests: planner.manifests };
}

/** The manifests our bundles say they leave out (sparse indexes); none for other archives. */
async function omittedManifests(contents: ArchiveContents): Promise<Set<string>> {
  if (!contents.has(BUNDLE_FILE)) return new Set();
  const text = await contents.read(BUNDLE_FILE, MAX_MANIFEST_BYTES);
  const parsed = text ? bundleDescriptionSchema.safeParse(json(text, BUNDLE_FILE)) : undefined;
  if (!parsed?.success) return new Set();
  return new Set(parsed.data.images.flatMap((image) => image.omitted_manifests ?? []));
}

/** Works out an archive's plan; PlanError says what is wrong with it. */
export async function planImport(contents: ArchiveContents, naming: ImportNaming): Promise<ImportPlan> {
  const layout = contents.has(INDEX_FILE) && (contents.has(OCI_LAYOUT_FILE) || !contents.has(DOCKER_MANIFEST_FILE));
  if (layout) return planLayout(contents, naming);
  if (contents.has(DOCKER_MANIFEST_FILE)) return planDockerArchive(contents, naming);
  throw new PlanError(
    `not an image archive: neither an OCI image layout (${INDEX_FILE}) nor a docker save archive (${DOCKER_MANIFEST_FILE})`,
  );
}

/**
 * Why a registry refuses an index that comes without children it requires: said before anything
 * of the archive is stored.
 */
export function sparseIndexRefusal(manifest: PlannedManifest, missing: readonly Descriptor[]): string {
  const named = missing.map((child) => (child.platform ? platformText(child.platform) : child.digest));
  return (
    `${manifest.repository}@${manifest.digest} is an index that comes without its images for ${named.join(", ")} ` +
    "(a sparse index), and the registry takes indexes only with those images (validation.manifests.indexes " +
    "in its configuration): nothing was imported. Enable sparse indexes there, or export with --platform " +
    "but without --sparse-index (a new index of the chosen platforms)"
  );
}

/** Each blob the plan needs, once, with the repositories that need it. */
export function neededBlobs(plan: ImportPlan): Map<string, PlannedBlob & { repositories: Set<string> }> {
  const needed = new Map<string, PlannedBlob & { repositories: Set<string> }>();
  for (const manifest of plan.manifests) {
    for (const blob of manifest.blobs) {
      const entry = needed.get(blob.digest) ?? { ...blob, repositories: new Set<string>() };
      entry.repositories.add(manifest.repository);
      needed.set(blob.digest, entry);
    }
  }
  return needed;
}
