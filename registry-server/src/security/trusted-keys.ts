// The public keys a project trusts for cosign signatures (project metadata `cosign_trusted_keys`,
// beyond Harbor): a PEM bundle of ECDSA P-256 or P-384, Ed25519 or RSA (2048 bits or more)
// public keys. The bundle is checked when it is set, each key by its position, and kept in one
// canonical form (each key re-exported as SPKI PEM), so that the same keys always read the same
// and a verification cached for a key set stays valid for exactly that set.

import { createHash, createPublicKey, type KeyObject } from "node:crypto";

/** The project metadata key (beyond Harbor) holding the bundle. */
export const TRUSTED_KEYS_KEY = "cosign_trusted_keys";

/** A bundle longer than this is not a list of public keys. */
export const MAX_BUNDLE_CHARS = 64 * 1024;
/** More keys than this per project would only make every verification slower. */
export const MAX_TRUSTED_KEYS = 16;
const MIN_RSA_BITS = 2048;
const CURVES = new Set(["prime256v1", "secp384r1"]);
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
const ACCEPTED_LABELS = new Set(["PUBLIC KEY", "RSA PUBLIC KEY"]);

export class TrustedKeyError extends Error {
  override name = "TrustedKeyError";
}

export interface TrustedKey {
  /** 1-based position in the bundle, for messages. */
  readonly index: number;
  readonly key: KeyObject;
  /** "ecdsa-p256", "ecdsa-p384", "ed25519" or "rsa-<bits>". */
  readonly kind: string;
}

export interface TrustedKeySet {
  readonly keys: readonly TrustedKey[];
  /** The canonical bundle: each key as SPKI PEM, in the order given. */
  readonly pem: string;
  /** SHA-256 of the canonical bundle: identifies the set in caches. */
  readonly id: string;
}

function kindOf(key: KeyObject, index: number): string {
  switch (key.asymmetricKeyType) {
    case "ec": {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? "";
      if (!CURVES.has(curve))
        throw new TrustedKeyError(
          `key ${index} is an ECDSA key on ${curve || "an unknown curve"}; P-256 or P-384 is expected`,
        );
      return curve === "prime256v1" ? "ecdsa-p256" : "ecdsa-p384";
    }
    case "ed25519":
      return "ed25519";
    case "rsa": {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS)
        throw new TrustedKeyError(`key ${index} is a ${bits}-bit RSA key; ${MIN_RSA_BITS} bits or more are expected`);
      return `rsa-${bits}`;
    }
    default:
      throw new TrustedKeyError(
        `key ${index} is a ${key.asymmetricKeyType ?? "unknown"} key; ECDSA P-256/P-384, Ed25519 or RSA is expected`,
      );
  }
}

/** Parses and checks a bundle; throws TrustedKeyError saying which key is wrong and why. */
export function parseTrustedKeys(bundle: string): TrustedKeySet {
  if (bundle.length > MAX_BUNDLE_CHARS)
    throw new TrustedKeyError(`the bundle is longer than ${MAX_BUNDLE_CHARS} characters`);
  const keys: TrustedKey[] = [];
  let rest = bundle;
  for (const match of bundle.matchAll(PEM_BLOCK)) {
    const index = keys.length + 1;
    const label = match[1] ?? "";
    if (label.includes("PRIVATE")) throw new TrustedKeyError(`key ${index} is a private key; give only public keys`);
    if (!ACCEPTED_LABELS.has(label)) throw new TrustedKeyError(`key ${index} is a ${label}, not a PUBLIC KEY`);
    if (index > MAX_TRUSTED_KEYS) throw new TrustedKeyError(`more than ${MAX_TRUSTED_KEYS} keys`);
    let key: KeyObject;
    try {
      key = createPublicKey({ key: match[0], format: "pem" });
    } catch {
      throw new TrustedKeyError(`key ${index} is not a valid PEM public key`);
    }
    keys.push({ index, key, kind: kindOf(key, index) });
    rest = rest.replace(match[0], "");
  }
  if (/-----BEGIN/.test(rest)) throw new TrustedKeyError(`key ${keys.length + 1} is not a complete PEM block`);
  if (rest.trim() !== "") throw new TrustedKeyError("the bundle holds text outside its PEM blocks");
  if (keys.length === 0) throw new TrustedKeyError("no PEM public key found");
  const pem = keys.map((k) => k.key.export({ type: "spki", format: "pem" }).toString()).join("");
  return { keys, pem, id: createHash("sha256").update(pem).digest("hex") };
}

/**
 * Parsed sets by canonical bundle: pulls read the bundle from the project each time, and parsing
 * is cheap but not free. Bounded; the oldest set goes first.
 */
export class TrustedKeyCache {
  private readonly sets = new Map<string, TrustedKeySet>();
  private readonly maxEntries: number;

  constructor(maxEntries = 64) {
    this.maxEntries = maxEntries;
  }

  get(bundle: string): TrustedKeySet {
    const cached = this.sets.get(bundle);
    if (cached) return cached;
    const parsed = parseTrustedKeys(bundle);
    this.sets.set(bundle, parsed);
    if (this.sets.size > this.maxEntries) {
      const oldest = this.sets.keys().next().value;
      if (oldest !== undefined) this.sets.delete(oldest);
    }
    return parsed;
  }
}
