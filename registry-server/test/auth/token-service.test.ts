import { createHmac, createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { AccessEntry } from "../../src/auth/access-scope.ts";
import { loadOrCreateSigningKey, SIGNING_KEY_FILE, TokenService } from "../../src/auth/token-service.ts";
import { tempDir } from "../helpers.ts";

const ISSUER = "airlock-token-issuer";
const SERVICE = "airlock-registry";
const ACCESS: AccessEntry[] = [{ type: "repository", name: "library/nginx", actions: ["pull", "push"] }];
const START = Date.UTC(2030, 0, 1, 12, 0, 0);

function newKey(): KeyObject {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
}

function makeService(options: { key?: KeyObject; issuer?: string; service?: string; ttlSeconds?: number } = {}) {
  const clock = { now: START };
  const service = new TokenService({
    signingKey: options.key ?? newKey(),
    issuer: options.issuer ?? ISSUER,
    service: options.service ?? SERVICE,
    ...(options.ttlSeconds !== undefined && { ttlSeconds: options.ttlSeconds }),
    now: () => clock.now,
  });
  return { service, clock };
}

const segment = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
const decode = (part: string | undefined): Record<string, unknown> =>
  JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8")) as Record<string, unknown>;

describe("TokenService", () => {
  it("issues a token that verifies, with the expected header and claims", () => {
    const { service } = makeService();
    const issued = service.issue("admin", ACCESS);
    expect(issued.expiresIn).toBe(300);
    expect(issued.issuedAt.toISOString()).toBe("2030-01-01T12:00:00.000Z");

    const [header, payload, signature] = issued.token.split(".");
    const { kid, ...rest } = decode(header);
    expect(rest).toEqual({ alg: "ES256", typ: "JWT" });
    expect(kid).toMatch(/^[\w-]{43}$/);
    expect(Buffer.from(signature!, "base64url")).toHaveLength(64);
    const claims = decode(payload);
    expect(claims).toMatchObject({ iss: ISSUER, sub: "admin", aud: SERVICE, access: ACCESS });
    expect(claims["exp"]).toBe(START / 1000 + 300);

    const verified = service.verify(issued.token);
    expect(verified).toMatchObject({ iss: ISSUER, sub: "admin", aud: SERVICE, nbf: START / 1000, iat: START / 1000 });
    expect(verified?.access).toEqual(ACCESS);
    expect(verified?.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("gives each token its own id and honours a configured lifetime", () => {
    const { service } = makeService({ ttlSeconds: 60 });
    const first = service.issue("", []);
    const second = service.issue("", []);
    expect(first.expiresIn).toBe(60);
    expect(service.verify(first.token)?.jti).not.toBe(service.verify(second.token)?.jti);
    expect(service.verify(first.token)?.access).toEqual([]);
  });

  it("refuses an expired token, allowing some clock skew", () => {
    const { service, clock } = makeService();
    const { token } = service.issue("admin", ACCESS);
    clock.now = START + 300_000 + 29_000;
    expect(service.verify(token)).toBeDefined();
    clock.now = START + 300_000 + 31_000;
    expect(service.verify(token)).toBeUndefined();
  });

  it("refuses a token not yet valid, allowing some clock skew", () => {
    const { service, clock } = makeService();
    const { token } = service.issue("admin", ACCESS);
    clock.now = START - 29_000;
    expect(service.verify(token)).toBeDefined();
    clock.now = START - 31_000;
    expect(service.verify(token)).toBeUndefined();
  });

  it("refuses a tampered payload or signature", () => {
    const { service } = makeService();
    const { token } = service.issue("anonymous", []);
    const [header, payload, signature] = token.split(".") as [string, string, string];

    const claims = decode(payload);
    const escalated = segment({ ...claims, access: ACCESS });
    expect(service.verify(`${header}.${escalated}.${signature}`)).toBeUndefined();

    const flipped = Buffer.from(signature, "base64url");
    flipped[10] = flipped[10]! ^ 0xff;
    expect(service.verify(`${header}.${payload}.${flipped.toString("base64url")}`)).toBeUndefined();
    expect(service.verify(`${header}.${payload}.${signature.slice(0, -4)}`)).toBeUndefined();
    expect(service.verify(`${header}.${payload}.${signature}=`)).toBeUndefined();
  });

  it("refuses a token signed by another key", () => {
    const { service: ours } = makeService();
    const { service: theirs } = makeService();
    expect(ours.verify(theirs.issue("admin", ACCESS).token)).toBeUndefined();
  });

  it("refuses alg none and HS256, whatever the signature", () => {
    const key = newKey();
    const { service } = makeService({ key });
    const { token } = service.issue("admin", ACCESS);
    const [, payload] = token.split(".") as [string, string];

    const none = `${segment({ alg: "none", typ: "JWT" })}.${payload}.`;
    expect(service.verify(none)).toBeUndefined();

    // HS256 keyed with the public key: the classic algorithm-confusion attack.
    const hsHeader = segment({ alg: "HS256", typ: "JWT" });
    const publicPem = createPublicKey(key).export({ type: "spki", format: "pem" });
    const mac = createHmac("sha256", publicPem).update(`${hsHeader}.${payload}`).digest("base64url");
    expect(service.verify(`${hsHeader}.${payload}.${mac}`)).toBeUndefined();

    // A genuine ES256 signature does not make another alg acceptable either.
    const relabelled = segment({ alg: "ES384", typ: "JWT" });
    const signature = sign("sha256", Buffer.from(`${relabelled}.${payload}`), { key, dsaEncoding: "ieee-p1363" });
    expect(service.verify(`${relabelled}.${payload}.${signature.toString("base64url")}`)).toBeUndefined();
  });

  it("refuses a token for another audience or from another issuer", () => {
    const key = newKey();
    const { service } = makeService({ key });
    const { service: otherAudience } = makeService({ key, service: "other-registry" });
    const { service: otherIssuer } = makeService({ key, issuer: "someone-else" });
    expect(service.verify(otherAudience.issue("admin", ACCESS).token)).toBeUndefined();
    expect(service.verify(otherIssuer.issue("admin", ACCESS).token)).toBeUndefined();
  });

  it("accepts a correctly signed token whose audience is a list containing the service", () => {
    const key = newKey();
    const { service } = makeService({ key });
    const header = segment({ alg: "ES256", typ: "JWT" });
    const iat = START / 1000;
    const payload = segment({
      iss: ISSUER,
      sub: "x",
      aud: ["a", SERVICE],
      exp: iat + 60,
      nbf: iat,
      iat,
      jti: "j",
      access: [],
    });
    const signature = sign("sha256", Buffer.from(`${header}.${payload}`), { key, dsaEncoding: "ieee-p1363" });
    expect(service.verify(`${header}.${payload}.${signature.toString("base64url")}`)?.aud).toBe(SERVICE);
  });

  it("refuses a correctly signed token with malformed claims", () => {
    const key = newKey();
    const { service } = makeService({ key });
    const header = segment({ alg: "ES256", typ: "JWT" });
    const payload = segment({ iss: ISSUER, sub: "x", aud: SERVICE, exp: "later", access: "everything" });
    const signature = sign("sha256", Buffer.from(`${header}.${payload}`), { key, dsaEncoding: "ieee-p1363" });
    expect(service.verify(`${header}.${payload}.${signature.toString("base64url")}`)).toBeUndefined();
  });

  it("returns undefined for garbage without throwing", () => {
    const { service } = makeService();
    const garbage: unknown[] = ["", ".", "..", "...", "a.b.c", "a.b", "not a token", "€.€.€", "x".repeat(100_000)];
    garbage.push(`${segment("string")}.${segment(null)}.AAAA`, `${segment({ alg: "ES256" })}.%%%.AAAA`, undefined, 42);
    for (const input of garbage) expect(service.verify(input as string)).toBeUndefined();
  });

  it("accepts only EC P-256 private keys", () => {
    const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey;
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const publicOnly = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey;
    for (const signingKey of [p384, rsa, publicOnly]) {
      expect(() => new TokenService({ signingKey, issuer: ISSUER, service: SERVICE })).toThrow(/P-256/);
    }
  });
});

describe("loadOrCreateSigningKey", () => {
  const dirs: { remove: () => void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.remove()));
  const newDir = (): string => {
    const d = tempDir("token-key");
    dirs.push(d);
    return d.dir;
  };

  it("creates the key with mode 0600 and loads the same key afterwards", async () => {
    const dir = path.join(newDir(), "nested");
    const first = await loadOrCreateSigningKey(dir);
    const file = path.join(dir, SIGNING_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = await loadOrCreateSigningKey(dir);
    expect(second.export({ type: "pkcs8", format: "pem" })).toBe(first.export({ type: "pkcs8", format: "pem" }));

    // Tokens survive a restart: a new service with the reloaded key accepts the old token.
    const { service: before } = makeService({ key: first });
    const { service: after } = makeService({ key: second });
    expect(after.verify(before.issue("admin", ACCESS).token)).toBeDefined();
  });

  it("agrees on one key when several start at once", async () => {
    const dir = newDir();
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSigningKey(dir)));
    const pems = new Set(keys.map((k) => k.export({ type: "pkcs8", format: "pem" })));
    expect(pems.size).toBe(1);
  });

  it("fails on a damaged key file instead of replacing it", async () => {
    const dir = newDir();
    writeFileSync(path.join(dir, SIGNING_KEY_FILE), "not a key", { mode: 0o600 });
    await expect(loadOrCreateSigningKey(dir)).rejects.toThrow(/not a valid private key/);
  });
});
