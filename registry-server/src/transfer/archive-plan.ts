// What an image archive holds and where each part goes, worked out from its small files: the
// images and their names, every manifest (children before the index that lists them, so that
// each is stored only once all it references is there), and the blobs each repository needs.
// Both importers use it: the server reading a stream, and the command line reading a file.
//
// Two kinds of archive: an OCI image layout (our bundles, skopeo's `oci-archive:`, `docker save`
// from Docker 25 on), and the older `docker save` format (manifest.json naming a config and
// uncompressed layer tars, for which a Docker schema 2 manifest is built).

import { RegistryError } from "../http/errors.ts";
import { parseManifest } from "../content/manifest-parser.ts";
import { isValidTag } from "../content/names.ts";
import {
  blobPath,
  IMAGE_NAME_ANNOTATION,
  INDEX_FILE,
  layoutIndexSchema,
  OCI_LAYOUT_FILE,
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

  constructor(contents: ArchiveContents) {
    this.contents = contents;
  }

  /** Adds a manifest and, first, every manifest it lists. */
  async add(
    repository: string,
    digest: string,
    mediaType: string | undefined,
    depth: number,
  ): Promise<PlannedManifest> {
    const known = this.seen.get(`${repository}@${digest}`);
    if (known) return known;
    if (depth > MAX_DEPTH) throw new PlanError(`indexes nested more than ${MAX_DEPTH} deep at ${digest}`);
    if (this.seen.size >= MAX_MANIFESTS) throw new PlanError(`more than ${MAX_MANIFESTS} manifests`);
    const content = await this.contents.read(blobPath(digest), MAX_MANIFEST_BYTES);
    if (!content) throw new PlanError(`the archive lacks manifest ${digest}`);
    let parsed;
    try {
      parsed = parseManifest(content, mediaType);
    } catch (err) {
      if (err instanceof RegistryError) throw new PlanError(`${digest}: ${err.message}`);
      throw err;
    }
    for (const child of parsed.children) await this.add(repository, child.digest, child.mediaType, depth + 1);
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
  const planner = new Planner(contents);
  const images = new Map<string, PlannedImage>();
  for (const entry of index.data.manifests) {
    const name = nameOf(entry.annotations ?? {}, naming, entry.digest);
    const manifest = await planner.add(name.repository, entry.digest, entry.mediaType, 0);
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

/** Works out an archive's plan; PlanError says what is wrong with it. */
export async function planImport(contents: ArchiveContents, naming: ImportNaming): Promise<ImportPlan> {
  const layout = contents.has(INDEX_FILE) && (contents.has(OCI_LAYOUT_FILE) || !contents.has(DOCKER_MANIFEST_FILE));
  if (layout) return planLayout(contents, naming);
  if (contents.has(DOCKER_MANIFEST_FILE)) return planDockerArchive(contents, naming);
  throw new PlanError(
    `not an image archive: neither an OCI image layout (${INDEX_FILE}) nor a docker save archive (${DOCKER_MANIFEST_FILE})`,
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
