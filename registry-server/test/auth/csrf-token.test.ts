// CSRF tokens derived from the session id: the same on every replica holding the same secret-box
// key (a copy of the key file), different for another session or another key, compared exactly.

import { copyFileSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CSRF_KEY_PURPOSE, CsrfTokens } from "../../src/auth/csrf-token.ts";
import { loadOrCreateSecretBox, SecretBox } from "../../src/auth/secret-box.ts";
import { newSessionId } from "../../src/auth/session-cookie.ts";
import { tempDir } from "../helpers.ts";

describe("csrf tokens", () => {
  it("gives a session the same token on replicas sharing the secret-box key, another one elsewhere", async () => {
    const temp = tempDir("csrf");
    try {
      const first = path.join(temp.dir, "replica-1", "auth");
      const second = path.join(temp.dir, "replica-2", "auth");
      const stranger = path.join(temp.dir, "replica-3", "auth");
      const tokensOf = async (dir: string) =>
        new CsrfTokens((await loadOrCreateSecretBox(dir)).deriveKey(CSRF_KEY_PURPOSE));
      const one = await tokensOf(first);
      // The second replica is handed the first one's key file, as the deployments do.
      mkdirSync(second, { recursive: true });
      copyFileSync(path.join(first, "secret-box.key"), path.join(second, "secret-box.key"));
      const two = await tokensOf(second);
      const three = await tokensOf(stranger);

      const session = newSessionId();
      expect(one.tokenFor(session)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(two.tokenFor(session)).toBe(one.tokenFor(session));
      expect(two.matches(session, one.tokenFor(session))).toBe(true);
      expect(three.matches(session, one.tokenFor(session))).toBe(false);
      expect(one.tokenFor(newSessionId())).not.toBe(one.tokenFor(session));
    } finally {
      temp.remove();
    }
  });

  it("derives a key apart from the sealing key, one per purpose", () => {
    const box = new SecretBox(Buffer.alloc(32, 7));
    const key = box.deriveKey(CSRF_KEY_PURPOSE);
    expect(key).toHaveLength(32);
    expect(key.equals(Buffer.alloc(32, 7))).toBe(false);
    expect(box.deriveKey(CSRF_KEY_PURPOSE).equals(key)).toBe(true);
    expect(box.deriveKey("another purpose").equals(key)).toBe(false);
  });

  it("matches the exact token only", () => {
    const tokens = new CsrfTokens(Buffer.alloc(32, 1));
    const session = newSessionId();
    const token = tokens.tokenFor(session);
    expect(tokens.matches(session, token)).toBe(true);
    expect(tokens.matches(session, undefined)).toBe(false);
    expect(tokens.matches(session, "")).toBe(false);
    expect(tokens.matches(session, token.slice(0, -1))).toBe(false);
    expect(tokens.matches(session, `${token}x`)).toBe(false);
    expect(tokens.matches(session, `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`)).toBe(false);
    expect(() => new CsrfTokens(Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});
