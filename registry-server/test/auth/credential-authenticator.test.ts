// Basic credentials checked against stored scrypt hashes: requests arriving together with the same
// credentials share one verification (scrypt takes 32 MiB while it runs), different credentials
// each get theirs, an unknown name is checked against the decoy hash, and a verified pair is then
// answered without hashing until its stored hash changes.

import { describe, expect, it } from "vitest";
import { CredentialAuthenticator } from "../../src/auth/credential-authenticator.ts";
import { LoginThrottle } from "../../src/auth/login-throttle.ts";
import { DECOY_HASH, hashPassword, verifyPassword } from "../../src/auth/password-hash.ts";
import type { IdentityAreas } from "../../src/metadata/identity-store.ts";

const ADDRESS = "192.0.2.7";

/** An authenticator over one user, counting the hashes it verifies against (real scrypt). */
async function withUser(password: string): Promise<{
  authenticator: CredentialAuthenticator;
  verified: string[];
  user: { passwordHash: string };
}> {
  const user = { id: 1, username: "alice", passwordHash: await hashPassword(password), sysadmin: false };
  const identity = {
    users: { getByName: async (name: string) => (name === user.username ? user : undefined) },
    robots: { getByName: async () => undefined },
  } as unknown as Pick<IdentityAreas, "users" | "robots">;
  const throttle = new LoginThrottle({ perAddressAndAccount: 100, perAccount: 100, perAddress: 100, windowMs: 60_000 });
  const verified: string[] = [];
  const authenticator = new CredentialAuthenticator(identity, throttle, Date.now, undefined, (given, encoded) => {
    verified.push(encoded);
    return verifyPassword(given, encoded);
  });
  return { authenticator, verified, user };
}

describe("credential authenticator", () => {
  it("verifies a burst of requests with the same credentials once", async () => {
    const { authenticator, verified, user } = await withUser("Right-password-1");
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () =>
        authenticator.authenticate({ username: "alice", password: "Right-password-1" }, ADDRESS),
      ),
    );
    expect(outcomes.map((o) => o.outcome)).toEqual(Array(8).fill("authenticated"));
    expect(verified).toEqual([user.passwordHash]);

    // Remembered afterwards: no hash at all.
    expect(
      (await authenticator.authenticate({ username: "alice", password: "Right-password-1" }, ADDRESS)).outcome,
    ).toBe("authenticated");
    expect(verified).toHaveLength(1);
  });

  it("verifies different credentials separately, and refuses the wrong ones", async () => {
    const { authenticator, verified } = await withUser("Right-password-1");
    const [right, wrong, unknown] = await Promise.all([
      authenticator.authenticate({ username: "alice", password: "Right-password-1" }, ADDRESS),
      authenticator.authenticate({ username: "alice", password: "wrong" }, ADDRESS),
      authenticator.authenticate({ username: "mallory", password: "wrong" }, ADDRESS),
    ]);
    expect([right.outcome, wrong.outcome, unknown.outcome]).toEqual(["authenticated", "invalid", "invalid"]);
    expect(verified).toHaveLength(3);
    // The unknown name paid a full verification, against the decoy.
    expect(verified).toContain(DECOY_HASH);
  });

  it("verifies again once the stored hash changed", async () => {
    const { authenticator, verified, user } = await withUser("Right-password-1");
    await authenticator.authenticate({ username: "alice", password: "Right-password-1" }, ADDRESS);
    user.passwordHash = await hashPassword("New-password-2");
    expect(
      (await authenticator.authenticate({ username: "alice", password: "Right-password-1" }, ADDRESS)).outcome,
    ).toBe("invalid");
    expect((await authenticator.authenticate({ username: "alice", password: "New-password-2" }, ADDRESS)).outcome).toBe(
      "authenticated",
    );
    expect(verified).toHaveLength(3);
  });
});
