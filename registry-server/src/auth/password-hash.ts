// Password hashes in the PHC string format with scrypt: `$scrypt$ln=15,r=8,p=1$<salt>$<hash>`
// (salt and hash in unpadded base64). Slow on purpose; verification is constant-time.

import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from "node:crypto";

const KEY_BYTES = 32;
const SALT_BYTES = 16;
const DEFAULT_COST = { ln: 15, r: 8, p: 1 };
/** scrypt needs 128·r·N bytes; leave headroom over Node's 32 MiB default. */
const MAX_MEMORY = 256 * 1024 * 1024;
const PHC_PATTERN = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

const base64 = (bytes: Buffer): string => bytes.toString("base64").replace(/=+$/, "");

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const { ln, r, p } = DEFAULT_COST;
  const key = await scrypt(password, salt, KEY_BYTES, { N: 2 ** ln, r, p, maxmem: MAX_MEMORY });
  return `$scrypt$ln=${ln},r=${r},p=${p}$${base64(salt)}$${base64(key)}`;
}

/**
 * The hash of a password nobody has, at the default cost: what an unknown account's password is
 * checked against, so that an unknown name takes as long to refuse as a wrong password. A
 * constant, not hashed at start-up: that made every process allocate scrypt's 32 MiB before its
 * first request. `password-hash.test.ts` checks its cost is the default's.
 */
export const DECOY_HASH = "$scrypt$ln=15,r=8,p=1$rQOpn11XwaTIgZJmVwpLcQ$UnJVOUfjl3x2sZPCT17QjkZsFyscVZnbNK3dLYK/HAw";

export function isPasswordHash(value: string): boolean {
  return PHC_PATTERN.test(value);
}

/** True when `password` matches `encoded`; false for a mismatch or a malformed hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const match = PHC_PATTERN.exec(encoded);
  if (!match) return false;
  const [, ln, r, p, salt, hash] = match as unknown as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, "base64");
  const actual = await scrypt(password, Buffer.from(salt, "base64"), expected.length, {
    N: 2 ** Number(ln),
    r: Number(r),
    p: Number(p),
    maxmem: MAX_MEMORY,
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
