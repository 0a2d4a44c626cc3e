// The offline cosign verifier and the trusted key bundle, with keys made by node:crypto: each key
// type cosign signs with verifies its own signature over cosign's payload, and nothing else does
// (another key, a changed payload, a payload naming another digest, a truncated signature).

import { constants, createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  preAuthenticationEncoding,
  verifySigstoreBundle,
  verifySimpleSigning,
} from "../../src/security/cosign-verifier.ts";
import { MAX_TRUSTED_KEYS, parseTrustedKeys, TrustedKeyError } from "../../src/security/trusted-keys.ts";

const DIGEST = `sha256:${createHash("sha256").update("image").digest("hex")}`;
const OTHER_DIGEST = `sha256:${createHash("sha256").update("other").digest("hex")}`;

interface Pair {
  readonly name: string;
  readonly privateKey: KeyObject;
  readonly publicPem: string;
  /** Signs as cosign's signer for this key type does. */
  readonly sign: (data: Buffer) => Buffer;
}

function pair(
  name: string,
  made: { privateKey: KeyObject; publicKey: KeyObject },
  signer: (key: KeyObject, data: Buffer) => Buffer,
): Pair {
  return {
    name,
    privateKey: made.privateKey,
    publicPem: made.publicKey.export({ type: "spki", format: "pem" }).toString(),
    sign: (data) => signer(made.privateKey, data),
  };
}

const PAIRS: Pair[] = [
  pair("ECDSA P-256", generateKeyPairSync("ec", { namedCurve: "prime256v1" }), (key, data) =>
    sign("sha256", data, key),
  ),
  pair("ECDSA P-384", generateKeyPairSync("ec", { namedCurve: "secp384r1" }), (key, data) => sign("sha384", data, key)),
  pair("Ed25519", generateKeyPairSync("ed25519"), (key, data) => sign(null, data, key)),
  pair("RSA 2048 (PKCS#1 v1.5)", generateKeyPairSync("rsa", { modulusLength: 2048 }), (key, data) =>
    sign("sha256", data, { key, padding: constants.RSA_PKCS1_PADDING }),
  ),
];

/** cosign's simple-signing payload for an image digest. */
function payloadFor(digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { "docker-reference": "127.0.0.1/team/app" },
        image: { "docker-manifest-digest": digest },
        type: "cosign container image signature",
      },
      optional: null,
    }),
  );
}

describe("simple-signing verification", () => {
  for (const key of PAIRS) {
    it(`${key.name}: its signature verifies; a changed payload, another digest or another key does not`, () => {
      const keys = parseTrustedKeys(key.publicPem);
      const payload = payloadFor(DIGEST);
      const signature = key.sign(payload).toString("base64");
      expect(verifySimpleSigning(payload, signature, DIGEST, keys)).toEqual({ verified: true, key: 1 });

      const tampered = Buffer.from(payload.toString("utf8").replace("127.0.0.1", "127.0.0.2"));
      expect(verifySimpleSigning(tampered, signature, DIGEST, keys).verified).toBe(false);

      // Signed, but for another image: refused before any key is tried.
      const elsewhere = payloadFor(OTHER_DIGEST);
      const verdict = verifySimpleSigning(elsewhere, key.sign(elsewhere).toString("base64"), DIGEST, keys);
      expect(verdict).toEqual({ verified: false, reason: "the payload names another digest" });

      const others = parseTrustedKeys(
        PAIRS.filter((p) => p !== key)
          .map((p) => p.publicPem)
          .join(""),
      );
      expect(verifySimpleSigning(payload, signature, DIGEST, others).verified).toBe(false);
    });
  }

  it("finds the key that verifies among several, by its position", () => {
    const [p256, , ed25519] = PAIRS as [Pair, Pair, Pair];
    const keys = parseTrustedKeys(`${p256.publicPem}\n${ed25519.publicPem}`);
    const payload = payloadFor(DIGEST);
    expect(verifySimpleSigning(payload, ed25519.sign(payload).toString("base64"), DIGEST, keys)).toEqual({
      verified: true,
      key: 2,
    });
  });

  it("refuses malformed signatures and payloads without throwing", () => {
    const [p256] = PAIRS as [Pair];
    const keys = parseTrustedKeys(p256.publicPem);
    const payload = payloadFor(DIGEST);
    const signature = p256.sign(payload);
    expect(verifySimpleSigning(payload, undefined, DIGEST, keys).verified).toBe(false);
    expect(verifySimpleSigning(payload, "not base64!", DIGEST, keys).verified).toBe(false);
    expect(verifySimpleSigning(payload, signature.subarray(0, 20).toString("base64"), DIGEST, keys).verified).toBe(
      false,
    );
    expect(verifySimpleSigning(Buffer.from("{"), signature.toString("base64"), DIGEST, keys).verified).toBe(false);
    // A payload of another kind, even signed by the key, is not a cosign image signature.
    const foreign = Buffer.from(JSON.stringify({ critical: { image: { "docker-manifest-digest": DIGEST } } }));
    expect(verifySimpleSigning(foreign, p256.sign(foreign).toString("base64"), DIGEST, keys).verified).toBe(false);
  });
});

describe("Sigstore bundle verification", () => {
  function bundleFor(digest: string, key: Pair, tamper = false): Buffer {
    const statement = Buffer.from(
      JSON.stringify({
        _type: "https://in-toto.io/Statement/v1",
        subject: [{ name: "127.0.0.1/team/app", digest: { sha256: digest.slice("sha256:".length) } }],
        predicateType: "https://sigstore.dev/cosign/sign/v1",
        predicate: {},
      }),
    );
    const type = "application/vnd.in-toto+json";
    const signature = key.sign(preAuthenticationEncoding(type, statement));
    const payload = tamper ? Buffer.from(statement.toString("utf8").replace("team", "evil")) : statement;
    return Buffer.from(
      JSON.stringify({
        mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
        verificationMaterial: { publicKey: { hint: "x" }, tlogEntries: [] },
        dsseEnvelope: {
          payload: payload.toString("base64"),
          payloadType: type,
          signatures: [{ sig: signature.toString("base64"), keyid: "" }],
        },
      }),
    );
  }

  it("verifies a DSSE envelope naming the digest, and nothing tampered or naming another", () => {
    const [p256, , ed25519] = PAIRS as [Pair, Pair, Pair];
    const keys = parseTrustedKeys(p256.publicPem);
    expect(verifySigstoreBundle(bundleFor(DIGEST, p256), DIGEST, keys)).toEqual({ verified: true, key: 1 });
    expect(verifySigstoreBundle(bundleFor(DIGEST, p256, true), DIGEST, keys).verified).toBe(false);
    expect(verifySigstoreBundle(bundleFor(OTHER_DIGEST, p256), DIGEST, keys).verified).toBe(false);
    expect(verifySigstoreBundle(bundleFor(DIGEST, ed25519), DIGEST, keys).verified).toBe(false);
    expect(verifySigstoreBundle(Buffer.from("[]"), DIGEST, keys).verified).toBe(false);
  });
});

describe("trusted key bundles", () => {
  function message(bundle: string): string {
    try {
      parseTrustedKeys(bundle);
    } catch (err) {
      expect(err).toBeInstanceOf(TrustedKeyError);
      return (err as Error).message;
    }
    throw new Error("the bundle was accepted");
  }

  it("keeps each key in one canonical form whatever the spacing", () => {
    const pems = PAIRS.map((p) => p.publicPem);
    const canonical = parseTrustedKeys(pems.join(""));
    expect(canonical.keys.map((k) => k.kind)).toEqual(["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048"]);
    const spaced = parseTrustedKeys(`\n\n${pems.join("\n\n")}\n`);
    expect(spaced.pem).toBe(canonical.pem);
    expect(spaced.id).toBe(canonical.id);
    expect(parseTrustedKeys(pems[0] ?? "").id).not.toBe(canonical.id);
  });

  it("names the key that is wrong and why", () => {
    const [p256] = PAIRS as [Pair];
    const p521 = generateKeyPairSync("ec", { namedCurve: "secp521r1" }).publicKey.export({
      type: "spki",
      format: "pem",
    });
    expect(message(`${p256.publicPem}${p521.toString()}`)).toBe(
      "key 2 is an ECDSA key on secp521r1; P-256 or P-384 is expected",
    );
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" });
    expect(message(small.toString())).toBe("key 1 is a 1024-bit RSA key; 2048 bits or more are expected");
    const x25519 = generateKeyPairSync("x25519").publicKey.export({ type: "spki", format: "pem" });
    expect(message(x25519.toString())).toContain("key 1 is a x25519 key");
    const privatePem = p256.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(message(privatePem)).toBe("key 1 is a private key; give only public keys");
    const broken = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n";
    expect(message(`${p256.publicPem}${broken}`)).toBe("key 2 is not a valid PEM public key");
    expect(message(`${p256.publicPem}-----BEGIN PUBLIC KEY-----\nAAAA\n`)).toBe("key 2 is not a complete PEM block");
    expect(message("not a key")).toBe("the bundle holds text outside its PEM blocks");
    expect(message("")).toBe("no PEM public key found");
    expect(message(p256.publicPem.repeat(MAX_TRUSTED_KEYS + 1))).toBe(`more than ${MAX_TRUSTED_KEYS} keys`);
  });
});
