// Content digests, "<algorithm>:<encoded>". The grammar is the OCI image spec's; the registry
// computes and verifies sha256 and sha512 only, so any other algorithm is refused as unsupported.

import { createHash, type Hash } from "node:crypto";
import type { DigestAlgorithm } from "../metadata/metadata-store.ts";

export type { DigestAlgorithm };

export const SUPPORTED_ALGORITHMS: readonly DigestAlgorithm[] = ["sha256", "sha512"];

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export interface ParsedDigest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  readonly text: string;
}

export type DigestProblem = "malformed" | "unsupported";

/** Parses a digest; the reason it is unusable otherwise. */
export function parseDigest(text: string): ParsedDigest | DigestProblem {
  if (!GRAMMAR.test(text)) return "malformed";
  const colon = text.indexOf(":");
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  if (algorithm !== "sha256" && algorithm !== "sha512") return "unsupported";
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(hex)) return "malformed";
  return { algorithm, hex, text };
}

export function isDigest(text: string): boolean {
  return typeof parseDigest(text) !== "string";
}

export function isSupportedAlgorithm(value: string): value is DigestAlgorithm {
  return (SUPPORTED_ALGORITHMS as readonly string[]).includes(value);
}

export function createHasher(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(algorithm: DigestAlgorithm, data: Uint8Array): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest("hex")}`;
}
