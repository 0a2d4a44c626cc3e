// The vocabulary of an import plan, shared by the planner (archive-plan.ts), the `docker save`
// reader (docker-archive.ts) and both importers.

import type { Descriptor } from "../content/manifest-parser.ts";

/** Larger than any manifest a registry takes. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Read access to an archive's files, by archive path. */
export interface ArchiveContents {
  /** Whether the archive holds this file (asked of small top-level files only). */
  has(name: string): boolean;
  /**
   * A small file's bytes, checked against the digest its `blobs/<alg>/<hex>` path names;
   * undefined when the archive has no such file.
   */
  read(name: string, maxBytes: number): Promise<Buffer | undefined>;
  /** sha256 digest and size of a file computed from its bytes (layers of `docker save`). */
  digest(name: string): Promise<{ digest: string; size: number } | undefined>;
}

export interface ImportNaming {
  readonly project: string;
  /** Inserted between the project and the image's own repository path. */
  readonly prefix?: string;
  /** For images the archive names by a tag only, or not at all. */
  readonly repository?: string;
}

export interface PlannedBlob {
  readonly digest: string;
  readonly size: number;
  /** Where the bytes are in the archive: `blobs/<alg>/<hex>`, or a `docker save` layer path. */
  readonly path: string;
  /** A foreign layer (`urls`): it need not be anywhere. */
  readonly optional: boolean;
}

export interface PlannedManifest {
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly content: Buffer;
  readonly tags: string[];
  readonly blobs: readonly PlannedBlob[];
  /**
   * Children of an index that the archive does not hold (a sparse index: only some platforms
   * were exported, the index kept byte for byte). The registry decides whether it takes that.
   */
  readonly absentChildren: readonly Descriptor[];
}

export interface PlannedImage {
  /** The name the archive gives it (a full reference), or its digest. */
  readonly source: string;
  readonly repository: string;
  readonly tags: string[];
  readonly digest: string;
  readonly mediaType: string;
}

export interface ImportPlan {
  readonly format: "oci-layout" | "docker-archive";
  readonly images: PlannedImage[];
  /** Every manifest per repository, children first. */
  readonly manifests: PlannedManifest[];
}

export class PlanError extends Error {
  override name = "PlanError";
}
