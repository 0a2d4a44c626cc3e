// The cosign signature policy of a project (`enable_content_trust_cosign`), as a pull check.
//
// As Harbor: a pull is refused unless the artifact has a cosign signature among its accessories
// (cosign's `sha256-<hex>.sig` tag, or a referrer of cosign's signature or Sigstore bundle type),
// "The image is not signed by cosign.". An index is an artifact like any other: it needs its own
// signature, and so does each child pulled by digest (`cosign sign --recursive` signs both), as
// in Harbor. A caller that may push and whose User-Agent names cosign or Notation is let through:
// that is how Harbor lets a signer read the manifest it is about to sign (Harbor's default; the
// header is the client's to set, so this trusts pushers, who can push what they like anyway).
//
// Beyond Harbor: when the project also declares `cosign_trusted_keys`, a signature counts only
// when one of those keys verifies it, offline (cosign-verifier.ts). The work per pull is bounded
// (signature manifests, layers and bytes read) and its outcome is cached by the pulled digest,
// the key set and the signature manifests' digests: a hot pull verifies nothing again, and a new
// signature (a new manifest digest) or a changed key set is seen at once.

import { createHash } from "node:crypto";
import type { BlobStore } from "../content/blob-store.ts";
import { findAccessories } from "../content/accessories.ts";
import type { Logger } from "../logger.ts";
import type { ManifestRecord, MetadataStore } from "../metadata/metadata-store.ts";
import { SingleFlight } from "../single-flight.ts";
import {
  SIGNATURE_ANNOTATION,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  verifySigstoreBundle,
  verifySimpleSigning,
  type Verdict,
} from "./cosign-verifier.ts";
import type { PullCaller, PullCheck, PullInfo, PullRefusal } from "./pull-gate.ts";
import { TRUSTED_KEYS_KEY, TrustedKeyCache, TrustedKeyError, type TrustedKeySet } from "./trusted-keys.ts";

export const COSIGN_POLICY_KEY = "enable_content_trust_cosign";

export const NOT_SIGNED: PullRefusal = { message: "The image is not signed by cosign." };
export const NOT_SIGNED_BY_TRUSTED_KEY: PullRefusal = {
  message: "The image is not signed by cosign with a key the project trusts.",
};
const BROKEN_KEYS: PullRefusal = {
  message: "The project's cosign_trusted_keys cannot be read: no signature can be verified.",
};

export interface VerificationLimits {
  /** Signature manifests read per pull (cosign appends to one tag; referrers add one each). */
  readonly maxManifests: number;
  /** Signature layers (or bundles) verified per pull. */
  readonly maxLayers: number;
  /** One payload or bundle larger than this is skipped. */
  readonly maxPayloadBytes: number;
  /** Manifest and payload bytes read per pull, all together. */
  readonly maxTotalBytes: number;
  /** Verification outcomes remembered. */
  readonly cacheEntries: number;
}

export const DEFAULT_VERIFICATION_LIMITS: VerificationLimits = {
  maxManifests: 16,
  maxLayers: 32,
  maxPayloadBytes: 64 * 1024,
  maxTotalBytes: 1024 * 1024,
  cacheEntries: 4096,
};

export interface CosignSignatureCheckDeps {
  readonly store: Pick<MetadataStore, "manifests" | "tags">;
  readonly blobs: Pick<BlobStore, "stat" | "open">;
  /** Told of each verification run (not of those answered from the cache). */
  readonly log?: Logger;
  readonly limits?: Partial<VerificationLimits>;
}

interface Layer {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations: Readonly<Record<string, unknown>>;
}

function layersOf(content: Buffer): Layer[] {
  let json: unknown;
  try {
    json = JSON.parse(content.toString("utf8"));
  } catch {
    return [];
  }
  const layers = typeof json === "object" && json !== null ? (json as Record<string, unknown>)["layers"] : undefined;
  if (!Array.isArray(layers)) return [];
  return layers.flatMap((item: unknown): Layer[] => {
    if (typeof item !== "object" || item === null) return [];
    const layer = item as Record<string, unknown>;
    const { mediaType, digest, size, annotations } = layer;
    if (typeof mediaType !== "string" || typeof digest !== "string" || typeof size !== "number") return [];
    const notes =
      typeof annotations === "object" && annotations !== null ? (annotations as Record<string, unknown>) : {};
    return [{ mediaType, digest, size, annotations: notes }];
  });
}

/** Harbor's bootstrap for signers: a caller that may push, using cosign or Notation. */
async function signerBootstrap(caller: PullCaller): Promise<boolean> {
  const agent = caller.userAgent.toLowerCase();
  if (!agent.includes("cosign") && !agent.includes("notation")) return false;
  return caller.canPush();
}

export class CosignSignatureCheck implements PullCheck {
  readonly name = "cosign";
  private readonly store: CosignSignatureCheckDeps["store"];
  private readonly blobs: CosignSignatureCheckDeps["blobs"];
  private readonly limits: VerificationLimits;
  private readonly log: Logger | undefined;
  private readonly keySets = new TrustedKeyCache();
  /** Outcomes by (digest, key set, signature manifests); insertion order is recency. */
  private readonly outcomes = new Map<string, boolean>();
  private readonly flights = new SingleFlight<boolean>();

  constructor(deps: CosignSignatureCheckDeps) {
    this.store = deps.store;
    this.blobs = deps.blobs;
    this.limits = { ...DEFAULT_VERIFICATION_LIMITS, ...deps.limits };
    this.log = deps.log;
  }

  applies(metadata: Readonly<Record<string, string>>): boolean {
    return metadata[COSIGN_POLICY_KEY] === "true";
  }

  async check(info: PullInfo): Promise<PullRefusal | undefined> {
    const { repository, manifest, project } = info;
    if (await signerBootstrap(info.caller)) return undefined;
    const signatures = (await findAccessories(this.store, repository, manifest.digest))
      .filter((accessory) => accessory.type === "signature.cosign")
      .map((accessory) => accessory.record);
    if (signatures.length === 0) return NOT_SIGNED;
    const bundle = project.metadata[TRUSTED_KEYS_KEY];
    if (bundle === undefined || bundle === "") return undefined;
    let keys: TrustedKeySet;
    try {
      keys = this.keySets.get(bundle);
    } catch (err) {
      if (err instanceof TrustedKeyError) return BROKEN_KEYS;
      throw err;
    }
    return (await this.verified(repository, manifest.digest, keys, signatures)) ? undefined : NOT_SIGNED_BY_TRUSTED_KEY;
  }

  /** Whether a trusted key verifies one of the signatures of `digest`; cached. */
  async verified(
    repository: string,
    digest: string,
    keys: TrustedKeySet,
    signatures: readonly ManifestRecord[],
  ): Promise<boolean> {
    const considered = [...signatures]
      .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0))
      .slice(0, this.limits.maxManifests);
    const key = `${repository}@${digest}|${keys.id}|${considered.map((s) => s.digest).join(",")}`;
    const cached = this.outcomes.get(key);
    if (cached !== undefined) {
      this.outcomes.delete(key);
      this.outcomes.set(key, cached);
      return cached;
    }
    return this.flights.run(key, async () => {
      const verdict = await this.verifyUncached(repository, digest, keys, considered);
      this.remember(key, verdict.verified);
      this.log?.info(
        { repository, digest, signatures: considered.length, ...verdict },
        "cosign signatures checked against the project's trusted keys",
      );
      return verdict.verified;
    }).promise;
  }

  private remember(key: string, outcome: boolean): void {
    this.outcomes.set(key, outcome);
    while (this.outcomes.size > this.limits.cacheEntries) {
      const oldest = this.outcomes.keys().next().value;
      if (oldest === undefined) break;
      this.outcomes.delete(oldest);
    }
  }

  private async verifyUncached(
    repository: string,
    digest: string,
    keys: TrustedKeySet,
    signatures: readonly ManifestRecord[],
  ): Promise<Verdict> {
    let budget = this.limits.maxTotalBytes;
    let layersLeft = this.limits.maxLayers;
    let last: Verdict = { verified: false, reason: "no signature layer could be read" };
    for (const signature of signatures) {
      if (signature.size > budget) continue;
      const content = await this.store.manifests.content(repository, signature.digest);
      if (!content) continue;
      budget -= content.length;
      for (const layer of layersOf(content)) {
        const kind =
          layer.mediaType === SIMPLE_SIGNING_MEDIA_TYPE
            ? "simple"
            : layer.mediaType === SIGSTORE_BUNDLE_MEDIA_TYPE
              ? "bundle"
              : undefined;
        if (kind === undefined) continue;
        if (layersLeft-- <= 0) return { verified: false, reason: "too many signature layers" };
        if (layer.size > this.limits.maxPayloadBytes || layer.size > budget) continue;
        const payload = await this.read(repository, layer.digest, layer.size);
        if (!payload) continue;
        budget -= payload.length;
        const annotation = layer.annotations[SIGNATURE_ANNOTATION];
        const verdict: Verdict =
          kind === "simple"
            ? verifySimpleSigning(payload, typeof annotation === "string" ? annotation : undefined, digest, keys)
            : verifySigstoreBundle(payload, digest, keys);
        if (verdict.verified) return verdict;
        last = verdict;
      }
    }
    return last;
  }

  /** A blob of the repository, at most `size` bytes and matching its digest; undefined otherwise. */
  private async read(repository: string, digest: string, size: number): Promise<Buffer | undefined> {
    const blob = await this.blobs.stat(repository, digest);
    if (!blob || blob.size !== size) return undefined;
    const chunks: Buffer[] = [];
    let read = 0;
    for await (const chunk of await this.blobs.open(blob)) {
      read += (chunk as Buffer).length;
      if (read > size) return undefined;
      chunks.push(chunk as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    const [algorithm, hex] = digest.split(":");
    if (algorithm !== "sha256" || createHash("sha256").update(bytes).digest("hex") !== hex) return undefined;
    return bytes;
  }
}
