// Sealed secrets: they open with the same key and purpose only, and the key file is created
// once, private, and reused.

import { statSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadOrCreateSecretBox, SecretBox } from "../../src/auth/secret-box.ts";
import { tempDir, writeFile } from "../helpers.ts";

describe("secret box", () => {
  it("seals a secret that opens with the same key and purpose only", () => {
    const box = new SecretBox(Buffer.alloc(32, 1));
    const sealed = box.seal("upstream-password", "registry");
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain("upstream-password");
    expect(box.seal("upstream-password", "registry")).not.toBe(sealed);
    expect(box.open(sealed, "registry")).toBe("upstream-password");
    expect(() => box.open(sealed, "other")).toThrow(/does not open/);
    expect(() => new SecretBox(Buffer.alloc(32, 2)).open(sealed, "registry")).toThrow(/does not open/);
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith("A") ? "B" : "A"}A`;
    expect(() => box.open(tampered, "registry")).toThrow();
    expect(() => box.open("plain text", "registry")).toThrow(/not a sealed secret/);
  });

  it("creates its key file once, private, and refuses a damaged one", async () => {
    const temp = tempDir("secret-box");
    try {
      const dir = path.join(temp.dir, "auth");
      const first = await loadOrCreateSecretBox(dir);
      const again = await loadOrCreateSecretBox(dir);
      expect(again.open(first.seal("s", "p"), "p")).toBe("s");
      expect(statSync(path.join(dir, "secret-box.key")).mode & 0o777).toBe(0o600);
      // Making a new key would lose every secret sealed with the old one.
      writeFile(dir, "secret-box.key", "not base64 of 32 bytes");
      await expect(loadOrCreateSecretBox(dir)).rejects.toThrow(/not 32 bytes/);
    } finally {
      temp.remove();
    }
  });
});
