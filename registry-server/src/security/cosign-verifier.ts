// Offline verification of cosign signatures with public keys: no transparency log, no certificate
// authority, no network. Two forms are read:
//   - cosign's simple signing: a layer `application/vnd.dev.cosign.simplesigning.v1+json` whose
//     payload names the image (`critical.image.docker-manifest-digest`), signed as it is, the
//     signature in the layer's annotation `dev.cosignproject.cosign/signature` (base64);
//   - a Sigstore bundle (`application/vnd.dev.sigstore.bundle.v0.3+json`, cosign
//     `--new-bundle-format`): a DSSE envelope whose in-toto statement names the image among its
//     subjects, the signature over DSSE's pre-authentication encoding.
// Pure functions over bytes: reading the layers, bounding that reading and caching results is
// cosign-signature-check.ts's work. A signature verifies when one trusted key verifies it; which
// hashes are tried follows cosign's signers (SHA-256 for every key type, and for ECDSA also the
// curve's own hash, SHA-384 on P-384, which `--signing-algorithm` may choose).

import { constants, verify, type KeyObject } from "node:crypto";
import type { TrustedKey, TrustedKeySet } from "./trusted-keys.ts";

export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
export const SIGSTORE_BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
const SIMPLE_SIGNING_TYPE = "cosign container image signature";
const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/** Base64 of an RSA-8192 signature is under 1,400 characters; anything far longer is not one. */
const MAX_SIGNATURE_CHARS = 4096;

export type Verdict =
  { readonly verified: true; readonly key: number } | { readonly verified: false; readonly reason: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
}

/** Strict base64 (standard alphabet, padding optional) of at most `maxChars`, or undefined. */
export function decodeBase64(text: string, maxChars = MAX_SIGNATURE_CHARS): Buffer | undefined {
  if (text.length === 0 || text.length > maxChars || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    return undefined;
  }
  return Buffer.from(text, "base64");
}

function hashesFor(key: TrustedKey): Array<string | null> {
  switch (key.kind) {
    case "ed25519":
      return [null];
    case "ecdsa-p384":
      return ["sha384", "sha256"];
    default:
      return ["sha256"];
  }
}

/** Whether one key verifies `signature` over `data`. */
export function verifiesWith(key: TrustedKey, data: Buffer, signature: Buffer): boolean {
  for (const hash of hashesFor(key)) {
    try {
      if (key.key.asymmetricKeyType === "rsa") {
        const rsa = (padding: number): { key: KeyObject; padding: number } => ({ key: key.key, padding });
        if (verify(hash, data, rsa(constants.RSA_PKCS1_PADDING), signature)) return true;
        if (verify(hash, data, rsa(constants.RSA_PKCS1_PSS_PADDING), signature)) return true;
      } else if (verify(hash, data, key.key, signature)) {
        return true;
      }
    } catch {
      // A malformed signature for this key type: not verified by it.
    }
  }
  return false;
}

function verifyWithAny(keys: TrustedKeySet, data: Buffer, signature: Buffer): Verdict {
  for (const key of keys.keys) {
    if (verifiesWith(key, data, signature)) return { verified: true, key: key.index };
  }
  return { verified: false, reason: "no trusted key verifies the signature" };
}

/**
 * A simple-signing payload and its base64 signature, for the image `digest`: the payload must
 * be cosign's, name exactly that digest, and be signed by a trusted key.
 */
export function verifySimpleSigning(
  payload: Buffer,
  signatureBase64: string | undefined,
  digest: string,
  keys: TrustedKeySet,
): Verdict {
  if (signatureBase64 === undefined) return { verified: false, reason: "no signature annotation" };
  const signature = decodeBase64(signatureBase64);
  if (!signature) return { verified: false, reason: "the signature is not base64" };
  const json = parseJson(payload);
  const critical = isRecord(json) ? json["critical"] : undefined;
  const image = isRecord(critical) ? critical["image"] : undefined;
  if (!isRecord(critical) || !isRecord(image) || critical["type"] !== SIMPLE_SIGNING_TYPE) {
    return { verified: false, reason: "the payload is not a cosign simple-signing payload" };
  }
  if (image["docker-manifest-digest"] !== digest) {
    return { verified: false, reason: "the payload names another digest" };
  }
  return verifyWithAny(keys, payload, signature);
}

/** DSSE's pre-authentication encoding: what a DSSE signature signs. */
export function preAuthenticationEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, "utf8"),
    type,
    Buffer.from(` ${payload.length} `, "utf8"),
    payload,
  ]);
}

/** Whether an in-toto statement names `digest` (`sha256:<hex>`) among its subjects. */
function statementNames(statement: unknown, digest: string): boolean {
  if (!isRecord(statement) || !Array.isArray(statement["subject"])) return false;
  const [algorithm, hex] = digest.split(":");
  if (!algorithm || !hex) return false;
  return statement["subject"].some(
    (subject) => isRecord(subject) && isRecord(subject["digest"]) && subject["digest"][algorithm] === hex,
  );
}

/**
 * A Sigstore bundle (v0.3 JSON) for the image `digest`: its DSSE envelope must carry an in-toto
 * statement naming the digest, signed by a trusted key. Transparency-log entries and
 * certificates the bundle may hold are not consulted: the key decides, offline.
 */
export function verifySigstoreBundle(bundle: Buffer, digest: string, keys: TrustedKeySet): Verdict {
  const json = parseJson(bundle);
  const envelope = isRecord(json) ? json["dsseEnvelope"] : undefined;
  if (!isRecord(envelope)) return { verified: false, reason: "the bundle holds no DSSE envelope" };
  const payloadType = envelope["payloadType"];
  const payloadText = envelope["payload"];
  const signatures = envelope["signatures"];
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE || typeof payloadText !== "string" || !Array.isArray(signatures)) {
    return { verified: false, reason: "the envelope is not an in-toto statement" };
  }
  const payload = decodeBase64(payloadText, bundle.length);
  if (!payload || !statementNames(parseJson(payload), digest)) {
    return { verified: false, reason: "the statement does not name the digest" };
  }
  const signed = preAuthenticationEncoding(payloadType, payload);
  for (const entry of signatures.slice(0, 8)) {
    const text = isRecord(entry) ? entry["sig"] : undefined;
    const signature = typeof text === "string" ? decodeBase64(text) : undefined;
    if (!signature) continue;
    const verdict = verifyWithAny(keys, signed, signature);
    if (verdict.verified) return verdict;
  }
  return { verified: false, reason: "no trusted key verifies the envelope" };
}
