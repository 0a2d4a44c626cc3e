// `docker save` archives from before Docker 25: manifest.json lists each image's config file, its
// names (RepoTags) and its layers, which are uncompressed tar files. A registry needs a manifest,
// so one is built: Docker schema 2, the config by its digest, each layer as an uncompressed
// rootfs diff whose digest is that of its bytes (its diff_id). Docker 25 and later also write an
// OCI layout into the archive; the planner reads that instead when it is there.

import { z } from "zod";
import { digestOf } from "../content/digest.ts";
import { DOCKER_MANIFEST } from "../content/media-types.ts";
import {
  MAX_MANIFEST_BYTES,
  PlanError,
  type ArchiveContents,
  type ImportNaming,
  type ImportPlan,
  type PlannedImage,
  type PlannedManifest,
} from "./archive-types.ts";
import { importedRepository, parseImageReference, ReferenceError } from "./image-reference.ts";

export const DOCKER_MANIFEST_FILE = "manifest.json";
export const DOCKER_CONFIG_TYPE = "application/vnd.docker.container.image.v1+json";
/** Docker's (and containerd's) type for an uncompressed layer, as `docker save` holds them. */
export const DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar";
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

const dockerManifestSchema = z.array(
  z.object({
    Config: z.string().min(1),
    RepoTags: z.array(z.string()).nullable().optional(),
    Layers: z.array(z.string().min(1)),
    LayerSources: z.record(z.string(), z.unknown()).optional(),
  }),
);

/** Paths in manifest.json are relative to the archive's root. */
function archivePath(name: string): string {
  return name.replace(/^(\.\/)+/, "");
}

async function fileDigest(contents: ArchiveContents, name: string): Promise<{ digest: string; size: number }> {
  const found = await contents.digest(archivePath(name));
  if (!found) throw new PlanError(`the archive lacks ${name}, which ${DOCKER_MANIFEST_FILE} lists`);
  return found;
}

export async function planDockerArchive(contents: ArchiveContents, naming: ImportNaming): Promise<ImportPlan> {
  const bytes = await contents.read(DOCKER_MANIFEST_FILE, MAX_MANIFEST_BYTES);
  if (!bytes) throw new PlanError(`the archive has no ${DOCKER_MANIFEST_FILE}`);
  let parsed;
  try {
    parsed = dockerManifestSchema.safeParse(JSON.parse(bytes.toString("utf8")));
  } catch {
    throw new PlanError(`${DOCKER_MANIFEST_FILE} is not valid JSON`);
  }
  if (!parsed.success) throw new PlanError(`${DOCKER_MANIFEST_FILE} is not a docker save manifest`);
  if (parsed.data.length === 0) throw new PlanError(`${DOCKER_MANIFEST_FILE} lists no image`);

  const manifests = new Map<string, PlannedManifest>();
  const images: PlannedImage[] = [];
  for (const image of parsed.data) {
    if (image.LayerSources && Object.keys(image.LayerSources).length > 0) {
      throw new PlanError(`image ${image.Config} has foreign layers, which an import cannot bring in`);
    }
    const configPath = archivePath(image.Config);
    const config = await contents.read(configPath, MAX_CONFIG_BYTES);
    if (!config) throw new PlanError(`the archive lacks ${image.Config}, which ${DOCKER_MANIFEST_FILE} lists`);
    const configDigest = digestOf("sha256", config);
    const layers = [];
    for (const layer of image.Layers) {
      layers.push({ ...(await fileDigest(contents, layer)), path: archivePath(layer) });
    }
    const content = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST,
        config: { mediaType: DOCKER_CONFIG_TYPE, size: config.length, digest: configDigest },
        layers: layers.map((l) => ({ mediaType: DOCKER_LAYER_TAR, size: l.size, digest: l.digest })),
      }),
    );
    const digest = digestOf("sha256", content);
    const blobs = [
      { digest: configDigest, size: config.length, path: configPath, optional: false },
      ...layers.map((l) => ({ digest: l.digest, size: l.size, path: l.path, optional: false })),
    ];
    const names = image.RepoTags ?? [];
    if (names.length === 0 && naming.repository === undefined) {
      throw new PlanError(`image ${image.Config} has no name (RepoTags): give the repository to import it into`);
    }
    const targets: Array<{ repository: string; tag?: string; source: string }> = [];
    try {
      for (const name of names) {
        const ref = parseImageReference(name);
        targets.push({
          repository: importedRepository(naming.project, naming.repository ?? ref.repository, naming.prefix),
          ...(ref.tag !== undefined && { tag: ref.tag }),
          source: name,
        });
      }
      if (names.length === 0 && naming.repository !== undefined) {
        targets.push({
          repository: importedRepository(naming.project, naming.repository, naming.prefix),
          source: digest,
        });
      }
    } catch (err) {
      if (err instanceof ReferenceError) throw new PlanError(err.message);
      throw err;
    }
    for (const target of targets) {
      const key = `${target.repository}@${digest}`;
      let manifest = manifests.get(key);
      if (!manifest) {
        manifest = {
          repository: target.repository,
          digest,
          mediaType: DOCKER_MANIFEST,
          content,
          tags: [],
          blobs,
          absentChildren: [],
        };
        manifests.set(key, manifest);
      }
      if (target.tag !== undefined && !manifest.tags.includes(target.tag)) manifest.tags.push(target.tag);
      images.push({
        source: target.source,
        repository: target.repository,
        tags: target.tag === undefined ? [] : [target.tag],
        digest,
        mediaType: DOCKER_MANIFEST,
      });
    }
  }
  return { format: "docker-archive", images, manifests: [...manifests.values()] };
}
