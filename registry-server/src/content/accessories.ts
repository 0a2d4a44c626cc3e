// An artifact's accessories as Harbor types them: the manifests whose `subject` is the artifact
// (OCI 1.1 referrers), typed by their artifact type as Harbor's subject middleware does, and the
// manifest cosign tags `sha256-<hex>.sig` when it writes signatures without the referrers API.
// The management API lists them (api/artifact-view.ts) and the signature policy reads them
// (security/cosign-signature-check.ts): one definition for both.

import type { ManifestRecord, MetadataStore } from "../metadata/metadata-store.ts";

/** cosign's signature referrer: `--registry-referrers-mode=oci-1-1` sets it as config media type. */
export const COSIGN_SIGNATURE_ARTIFACT_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json";
/** A Sigstore bundle (cosign `--new-bundle-format`), which Harbor also counts as a cosign signature. */
export const SIGSTORE_BUNDLE_ARTIFACT_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
/** A Notation signature. */
export const NOTATION_SIGNATURE_ARTIFACT_TYPE = "application/vnd.cncf.notary.signature";
export const HARBOR_SBOM_ARTIFACT_TYPE = "application/vnd.goharbor.harbor.sbom.v1";

export type AccessoryType = "signature.cosign" | "signature.notation" | "harbor.sbom" | "subject.accessory";

export const SIGNATURE_TYPES: ReadonlySet<AccessoryType> = new Set(["signature.cosign", "signature.notation"]);

/** Harbor's accessory type for a referrer, by its artifact type. */
export function accessoryType(artifactType: string | undefined): AccessoryType {
  switch (artifactType) {
    case COSIGN_SIGNATURE_ARTIFACT_TYPE:
    case SIGSTORE_BUNDLE_ARTIFACT_TYPE:
      return "signature.cosign";
    case NOTATION_SIGNATURE_ARTIFACT_TYPE:
      return "signature.notation";
    case HARBOR_SBOM_ARTIFACT_TYPE:
      return "harbor.sbom";
    default:
      return "subject.accessory";
  }
}

/** cosign's tag for the signatures of `digest` (`sha256-<hex>.sig`); undefined for other algorithms. */
export function cosignSignatureTag(digest: string): string | undefined {
  const [algorithm, hex] = digest.split(":");
  return algorithm === "sha256" && hex ? `sha256-${hex}.sig` : undefined;
}

/** The digest a cosign signature tag names (`sha256-<hex>.sig` → `sha256:<hex>`), or undefined. */
export function cosignTagSubject(tag: string): string | undefined {
  const match = /^sha256-([a-f0-9]{64})\.sig$/.exec(tag);
  return match ? `sha256:${match[1]}` : undefined;
}

export interface Accessory {
  readonly record: ManifestRecord;
  readonly type: AccessoryType;
}

/** The accessories of the manifest `digest` of the repository: its referrers, then cosign's tag. */
export async function findAccessories(
  store: Pick<MetadataStore, "manifests" | "tags">,
  repository: string,
  digest: string,
): Promise<Accessory[]> {
  const found: Accessory[] = (await store.manifests.referrers(repository, digest)).map((record) => ({
    record,
    type: accessoryType(record.artifactType),
  }));
  const tag = cosignSignatureTag(digest);
  const tagged = tag === undefined ? undefined : await store.tags.get(repository, tag);
  const signature = tagged && (await store.manifests.get(repository, tagged.digest));
  if (signature && !found.some((f) => f.record.digest === signature.digest)) {
    found.push({ record: signature, type: "signature.cosign" });
  }
  return found;
}

/** Layers a signature manifest carries: cosign's payloads, Sigstore bundles, Notation envelopes. */
const SIGNATURE_LAYER_TYPES: ReadonlySet<string> = new Set([
  "application/vnd.dev.cosign.simplesigning.v1+json",
  SIGSTORE_BUNDLE_ARTIFACT_TYPE,
  "application/jose+json",
  "application/cose",
]);

/** Whether a manifest's bytes hold layers, all of them signature material (nothing to run). */
export function holdsOnlySignatures(content: Buffer): boolean {
  let json: unknown;
  try {
    json = JSON.parse(content.toString("utf8"));
  } catch {
    return false;
  }
  const layers = typeof json === "object" && json !== null ? (json as Record<string, unknown>)["layers"] : undefined;
  return (
    Array.isArray(layers) &&
    layers.length > 0 &&
    layers.every((layer: unknown) => {
      const mediaType =
        typeof layer === "object" && layer !== null ? (layer as Record<string, unknown>)["mediaType"] : undefined;
      return typeof mediaType === "string" && SIGNATURE_LAYER_TYPES.has(mediaType);
    })
  );
}

/**
 * Whether the manifest is itself a signature of another artifact of the repository: a referrer
 * of a signature type, or a manifest cosign tagged after a manifest that is there; and its
 * layers all signature material, so that nothing runnable passes for a signature.
 */
export async function isSignature(
  store: Pick<MetadataStore, "manifests" | "tags">,
  record: ManifestRecord,
  content: Buffer,
): Promise<boolean> {
  if (!holdsOnlySignatures(content)) return false;
  if (record.subject !== undefined) return SIGNATURE_TYPES.has(accessoryType(record.artifactType));
  for (const tag of await store.tags.forDigest(record.repository, record.digest)) {
    const subject = cosignTagSubject(tag);
    if (subject !== undefined && (await store.manifests.get(record.repository, subject))) return true;
  }
  return false;
}
