// Secrets the registry must give back in clear later (an upstream registry's password or token,
// sent upstream on every pull) cannot be hashed: they are sealed with AES-256-GCM under a key kept
// beside the token signing key, so that a copy of the database alone reveals none of them.
// Sealed text: "v1." + base64url(12-byte IV | 16-byte tag | ciphertext). The caller names what a
// secret is for (additional authenticated data), so a sealed value cannot be moved to another use.

import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { link, mkdir, open, readFile, unlink } from "node:fs/promises";
import * as path from "node:path";

const KEY_FILE = "secret-box.key";
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = "v1.";

export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new Error(`a secret box key has ${KEY_BYTES} bytes`);
    this.key = key;
  }

  seal(secret: string, purpose: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(purpose, "utf8"));
    const ciphertext = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64url");
  }

  /**
   * A key of its own for `purpose` (HKDF-SHA256 of this key): what needs a server key shared by
   * every replica (the CSRF tokens' HMAC) gets it from the key they already share, without
   * another file to distribute, and without ever holding the sealing key itself.
   */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(hkdfSync("sha256", this.key, Buffer.alloc(0), purpose, KEY_BYTES));
  }

  /** The secret; throws when the text was not sealed by this key for this purpose. */
  open(sealed: string, purpose: string): string {
    const bytes = sealed.startsWith(PREFIX) ? Buffer.from(sealed.slice(PREFIX.length), "base64url") : Buffer.alloc(0);
    if (bytes.length < IV_BYTES + TAG_BYTES) throw new Error("not a sealed secret");
    const decipher = createDecipheriv("aes-256-gcm", this.key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(purpose, "utf8"));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
    } catch (err) {
      throw new Error("a sealed secret does not open with this server's key", { cause: err });
    }
  }
}

/**
 * Reads `<dir>/secret-box.key`, creating it (mode 0600) when absent, the way the token signing
 * key is created: a private temporary file hard-linked into place, so that two replicas starting
 * together end up with the one key that won.
 */
export async function loadOrCreateSecretBox(dir: string): Promise<SecretBox> {
  const file = path.join(dir, KEY_FILE);
  const existing = await readKey(file);
  if (existing) return new SecretBox(existing);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = `${file}.${randomBytes(8).toString("hex")}.tmp`;
  const handle = await open(temporary, "wx", 0o600);
  try {
    await handle.writeFile(`${randomBytes(KEY_BYTES).toString("base64")}\n`);
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
  if (!stored) throw new Error(`secret key ${file} vanished after creation`);
  return new SecretBox(stored);
}

async function readKey(file: string): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  // A damaged key is an error, not a reason to make a new one: every sealed secret would be lost.
  const key = Buffer.from(text.trim(), "base64");
  if (key.length !== KEY_BYTES) throw new Error(`secret key ${file} is not ${KEY_BYTES} bytes of base64`);
  return key;
}
