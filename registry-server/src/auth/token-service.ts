// Issues and verifies the short-lived bearer tokens of Docker's token authentication: JWTs signed
// with ES256 whose `access` claim lists the granted scopes. The signing key lives in the data
// directory so that tokens survive a restart and replicas sharing the directory accept each
// other's tokens.

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  verify,
  type KeyObject,
} from "node:crypto";
import { link, mkdir, open, readFile, unlink } from "node:fs/promises";
import * as path from "node:path";
import { z } from "zod";
import type { AccessEntry } from "./access-scope.ts";

export const SIGNING_KEY_FILE = "token-signing-key.pem";

const DEFAULT_TTL_SECONDS = 300;
/** Tolerated clock difference between replicas (and between issuing and checking). */
const LEEWAY_SECONDS = 30;
const ALGORITHM = "ES256";
const CURVE = "prime256v1";
/** ES256 signatures in JOSE form are r‖s, 32 bytes each. */
const SIGNATURE_BYTES = 64;
/** Far above any token we issue; refuses absurd input before decoding it. */
const MAX_TOKEN_LENGTH = 64 * 1024;
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]+$/;

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: AccessEntry[];
}

export interface IssuedToken {
  token: string;
  /** Seconds from `issuedAt` until the token expires. */
  expiresIn: number;
  issuedAt: Date;
}

export interface TokenServiceOptions {
  /** An EC P-256 private key (see `loadOrCreateSigningKey`). */
  signingKey: KeyObject;
  /** The `iss` claim: who issued the token. */
  issuer: string;
  /** The `aud` claim: the registry service the token is for (the challenge's `service`). */
  service: string;
  ttlSeconds?: number;
  /** Milliseconds since the epoch; tests inject a clock. */
  now?: () => number;
}

const headerSchema = z.object({ alg: z.string(), typ: z.string().optional(), kid: z.string().optional() });

const claimsSchema = z.object({
  iss: z.string(),
  sub: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  exp: z.number(),
  nbf: z.number(),
  iat: z.number(),
  jti: z.string(),
  access: z.array(z.object({ type: z.string(), name: z.string(), actions: z.array(z.string()) })),
});

const base64url = (bytes: Buffer): string => bytes.toString("base64url");
const encodeJson = (value: unknown): string => base64url(Buffer.from(JSON.stringify(value), "utf8"));

function decodeJson(segment: string): unknown {
  if (!BASE64URL_PATTERN.test(segment)) return undefined;
  try {
    return JSON.parse(Buffer.from(segment, "base64url").toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

function assertP256(key: KeyObject): void {
  if (key.type !== "private" || key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== CURVE) {
    throw new Error("the token signing key must be an EC P-256 private key");
  }
}

/** Identifies the key in the JWT header: base64url SHA-256 of the public key's SPKI DER. */
function keyId(publicKey: KeyObject): string {
  return base64url(
    createHash("sha256")
      .update(publicKey.export({ type: "spki", format: "der" }))
      .digest(),
  );
}

export class TokenService {
  private readonly signingKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly kid: string;
  private readonly issuer: string;
  private readonly service: string;
  private readonly ttlSeconds: number;
  private readonly now: () => number;

  constructor(options: TokenServiceOptions) {
    assertP256(options.signingKey);
    this.signingKey = options.signingKey;
    this.publicKey = createPublicKey(options.signingKey);
    this.kid = keyId(this.publicKey);
    this.issuer = options.issuer;
    this.service = options.service;
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.now = options.now ?? Date.now;
    if (!Number.isInteger(this.ttlSeconds) || this.ttlSeconds <= 0) throw new Error("token TTL must be positive");
  }

  /** A token for `subject` granting `access`, valid `ttlSeconds` (the service's default when absent). */
  issue(subject: string, access: AccessEntry[], ttlSeconds: number = this.ttlSeconds): IssuedToken {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new Error("token TTL must be positive");
    const issuedAtMs = this.now();
    const iat = Math.floor(issuedAtMs / 1000);
    const claims: TokenClaims = {
      iss: this.issuer,
      sub: subject,
      aud: this.service,
      exp: iat + ttlSeconds,
      nbf: iat,
      iat,
      jti: randomUUID(),
      access,
    };
    const signingInput = `${encodeJson({ alg: ALGORITHM, typ: "JWT", kid: this.kid })}.${encodeJson(claims)}`;
    const signature = sign("sha256", Buffer.from(signingInput), { key: this.signingKey, dsaEncoding: "ieee-p1363" });
    return {
      token: `${signingInput}.${base64url(signature)}`,
      expiresIn: ttlSeconds,
      issuedAt: new Date(iat * 1000),
    };
  }

  /** The token's claims when it is genuine, ours, for this service and current; never throws. */
  verify(token: string): TokenClaims | undefined {
    try {
      return this.verifyOrUndefined(token);
    } catch {
      return undefined;
    }
  }

  private verifyOrUndefined(token: string): TokenClaims | undefined {
    if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) return undefined;
    const [headerPart, payloadPart, signaturePart, ...rest] = token.split(".");
    if (!headerPart || !payloadPart || !signaturePart || rest.length > 0) return undefined;

    // The algorithm is fixed by us, never taken from the token: `none` and HS256 are refused here.
    const header = headerSchema.safeParse(decodeJson(headerPart));
    if (!header.success || header.data.alg !== ALGORITHM) return undefined;
    if (header.data.typ !== undefined && header.data.typ !== "JWT") return undefined;
    if (header.data.kid !== undefined && header.data.kid !== this.kid) return undefined;

    if (!BASE64URL_PATTERN.test(signaturePart)) return undefined;
    const signature = Buffer.from(signaturePart, "base64url");
    if (signature.length !== SIGNATURE_BYTES) return undefined;
    const signingInput = Buffer.from(`${headerPart}.${payloadPart}`);
    if (!verify("sha256", signingInput, { key: this.publicKey, dsaEncoding: "ieee-p1363" }, signature)) {
      return undefined;
    }

    const parsed = claimsSchema.safeParse(decodeJson(payloadPart));
    if (!parsed.success) return undefined;
    const claims = parsed.data;
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (claims.iss !== this.issuer || !audiences.includes(this.service)) return undefined;
    const nowSeconds = this.now() / 1000;
    if (nowSeconds > claims.exp + LEEWAY_SECONDS || nowSeconds < claims.nbf - LEEWAY_SECONDS) return undefined;
    return { ...claims, aud: this.service };
  }
}

/**
 * Reads `<dir>/token-signing-key.pem`, creating it (PKCS#8 PEM, mode 0600) when absent. Creation
 * writes a private temporary file and hard-links it into place, which fails if the file appeared
 * meanwhile: two replicas starting together both end up with the one key that won.
 */
export async function loadOrCreateSigningKey(dir: string): Promise<KeyObject> {
  const file = path.join(dir, SIGNING_KEY_FILE);
  const existing = await readKey(file);
  if (existing) return existing;

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: CURVE });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" });
  const temporary = `${file}.${randomBytes(8).toString("hex")}.tmp`;
  const handle = await open(temporary, "wx", 0o600);
  try {
    await handle.writeFile(pem);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    await unlink(temporary);
  }
  const stored = await readKey(file);
  if (!stored) throw new Error(`token signing key ${file} vanished after creation`);
  return stored;
}

async function readKey(file: string): Promise<KeyObject | undefined> {
  let pem: string;
  try {
    pem = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  // A damaged key is an error, not a reason to make a new one: that would silently invalidate
  // the tokens other replicas issue with the key they still hold.
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`token signing key ${file} is not a valid private key`, { cause: err });
  }
  assertP256(key);
  return key;
}
