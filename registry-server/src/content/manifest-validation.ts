// What a pushed manifest must find already in its repository. By default, everything it
// references: an image's config and layers, an index's children. A registry may accept sparse
// content instead, as CNCF Distribution 3 does with `validation.manifests.indexes`: an index
// copied or imported with only some of its platforms keeps its bytes, and so the digest that
// deployments pin, while only the platforms wanted here are stored. The same rule decides which
// children of an index may be deleted while the index stays (manifest-service.ts).

import type { Descriptor, Platform } from "./manifest-parser.ts";

/** A platform whose image an index must have here, as Distribution 3's `platformlist` names it. */
export interface RequiredPlatform {
  readonly os: string;
  readonly architecture: string;
}

export interface ManifestValidation {
  /**
   * Which children of an index must be manifests of the repository: every one (the default),
   * none, or those whose platform (os and architecture) is in the list. A child without a
   * platform (a nested index, an attestation) is not required by a list.
   */
  readonly indexChildren: "all" | "none" | readonly RequiredPlatform[];
  /**
   * Whether an image manifest's config and layers must be blobs of the repository ("all", the
   * default) or may be absent ("none": a sparse image, pulled as far as its blobs are here).
   */
  readonly blobs: "all" | "none";
}

export const STRICT_VALIDATION: ManifestValidation = { indexChildren: "all", blobs: "all" };

/** Whether an index must have this child in the repository (when pushed, and to keep it). */
export function childRequired(validation: ManifestValidation, child: Descriptor): boolean {
  const rule = validation.indexChildren;
  if (rule === "all") return true;
  if (rule === "none") return false;
  return child.platform !== undefined && rule.some((wanted) => samePlatform(wanted, child.platform as Platform));
}

function samePlatform(wanted: RequiredPlatform, platform: Platform): boolean {
  return wanted.os === platform.os && wanted.architecture === platform.architecture;
}
