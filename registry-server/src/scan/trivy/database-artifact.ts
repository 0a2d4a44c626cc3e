// Trivy's vulnerability database as an OCI artifact (what ghcr.io/aquasecurity/trivy-db:2 holds):
// one layer of type application/vnd.aquasec.trivy.db.layer.v1.tar+gzip, titled db.tar.gz, a
// gzip'd tar of trivy.db and metadata.json (trivy's pkg/db and pkg/oci). The scanner reads it from
// this registry's own content, in process: a proxy-cache project fetches it from its upstream on
// the first read, an imported one is there already. Nothing here reaches the internet itself.

import { PassThrough, type Readable } from "node:stream";
import type { BlobStore } from "../../content/blob-store.ts";
import type { ContentSource } from "../../content/content-source.ts";
import { parseReference } from "../../content/manifest-service.ts";
import { DOCKER_MANIFEST, OCI_IMAGE_MANIFEST } from "../../content/media-types.ts";
import { RegistryError } from "../../http/errors.ts";

export const TRIVY_DB_LAYER = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip";
export const TRIVY_DB_CONFIG = "application/vnd.aquasec.trivy.config.v1+json";

/** The database artifact a reference resolved to: its one layer. */
export interface DatabaseArtifact {
  /** The manifest's digest. */
  readonly manifestDigest: string;
  readonly layer: { readonly digest: string; readonly size: number };
}

/** Where the database artifact is read from. */
export interface DatabaseArtifactSource {
  /** What the configured reference names now; undefined when the repository holds no such artifact. */
  resolve(): Promise<DatabaseArtifact | undefined>;
  /** The layer's compressed bytes. */
  open(layerDigest: string): Promise<Readable>;
  /** "project/repository:tag", for messages. */
  readonly name: string;
}

export class DatabaseArtifactError extends Error {
  override name = "DatabaseArtifactError";
}

/** The artifact's one database layer, or an error naming what is wrong with the manifest. */
export function databaseLayer(manifest: unknown): { digest: string; size: number } {
  const layers = (manifest as { layers?: unknown } | null)?.layers;
  if (!Array.isArray(layers)) throw new DatabaseArtifactError("the artifact is not an image manifest with layers");
  // Trivy takes an artifact of exactly one layer, of the database's media type.
  if (layers.length !== 1) {
    throw new DatabaseArtifactError(`the artifact has ${layers.length} layers; Trivy's database has one`);
  }
  const layer = layers[0] as { mediaType?: unknown; digest?: unknown; size?: unknown };
  if (layer.mediaType !== TRIVY_DB_LAYER) {
    throw new DatabaseArtifactError(`the artifact's layer is ${String(layer.mediaType)}, not ${TRIVY_DB_LAYER}`);
  }
  if (typeof layer.digest !== "string" || !/^sha256:[a-f0-9]{64}$/.test(layer.digest)) {
    throw new DatabaseArtifactError("the artifact's layer has no sha256 digest");
  }
  if (typeof layer.size !== "number" || !Number.isSafeInteger(layer.size) || layer.size < 0) {
    throw new DatabaseArtifactError("the artifact's layer has no size");
  }
  return { digest: layer.digest, size: layer.size };
}

/** The database artifact in a repository of this registry, read through its content source. */
export class RegistryDatabaseSource implements DatabaseArtifactSource {
  readonly name: string;
  private readonly content: ContentSource;
  private readonly blobs: BlobStore;
  private readonly repository: string;
  private readonly reference: string;

  constructor(deps: { content: ContentSource; blobs: BlobStore }, repository: string, reference: string) {
    this.content = deps.content;
    this.blobs = deps.blobs;
    this.repository = repository;
    this.reference = reference;
    this.name = `${repository}${reference.includes(":") ? "@" : ":"}${reference}`;
  }

  async resolve(): Promise<DatabaseArtifact | undefined> {
    let stored;
    try {
      stored = await this.content.manifest(
        this.repository,
        parseReference(this.reference),
        `${OCI_IMAGE_MANIFEST}, ${DOCKER_MANIFEST}`,
      );
    } catch (err) {
      if (err instanceof RegistryError && (err.code === "MANIFEST_UNKNOWN" || err.code === "NAME_UNKNOWN")) {
        return undefined;
      }
      throw err;
    }
    let manifest: unknown;
    try {
      manifest = JSON.parse(stored.content.toString("utf8"));
    } catch {
      throw new DatabaseArtifactError("the artifact's manifest is not JSON");
    }
    return { manifestDigest: stored.record.digest, layer: databaseLayer(manifest) };
  }

  async open(layerDigest: string): Promise<Readable> {
    const source = await this.content.blob(this.repository, layerDigest, "body");
    if (!source) throw new DatabaseArtifactError(`the database layer ${layerDigest} is missing from ${this.name}`);
    if (source.kind === "stored") return this.blobs.open(source.blob);
    // Still arriving from a proxy-cache project's upstream: stored and verified as it is read.
    const through = new PassThrough();
    source.pipe(through).catch((err: unknown) => through.destroy(err instanceof Error ? err : new Error(String(err))));
    return through;
  }
}
