import { describe, expect, it } from "vitest";
import { DECOY_HASH, hashPassword, isPasswordHash, verifyPassword } from "../src/auth/password-hash.ts";

describe("password hashes", () => {
  it("verifies the password it hashed and nothing else, with a fresh salt each time", async () => {
    const first = await hashPassword("s3cret-password");
    const second = await hashPassword("s3cret-password");
    expect(isPasswordHash(first)).toBe(true);
    expect(first).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(first).not.toBe(second);
    expect(first).not.toContain("s3cret");
    expect(await verifyPassword("s3cret-password", first)).toBe(true);
    expect(await verifyPassword("s3cret-passwore", first)).toBe(false);
    expect(await verifyPassword("", first)).toBe(false);
  });

  it("keeps a decoy hash at the default cost, so an unknown name costs what a wrong password does", async () => {
    const costOf = (encoded: string): string => encoded.split("$")[2] ?? "";
    expect(isPasswordHash(DECOY_HASH)).toBe(true);
    expect(costOf(DECOY_HASH)).toBe(costOf(await hashPassword("any")));
  });

  it("treats a malformed hash as a mismatch", async () => {
    expect(await verifyPassword("x", "not-a-hash")).toBe(false);
    expect(isPasswordHash("$scrypt$ln=15,r=8,p=1$$")).toBe(false);
  });
});
