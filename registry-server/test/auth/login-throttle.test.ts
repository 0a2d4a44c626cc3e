// The login throttle on its own, on a clock the test moves: which counts refuse whom and for how
// long, that a refused attempt never reaches the password check, and that an attacker rotating
// names or addresses cannot grow its tables past their bound.

import { describe, expect, it } from "vitest";
import { CredentialAuthenticator } from "../../src/auth/credential-authenticator.ts";
import { addressKey, LoginThrottle, type LoginThrottleOptions } from "../../src/auth/login-throttle.ts";
import { hashPassword } from "../../src/auth/password-hash.ts";
import type { IdentityAreas } from "../../src/metadata/identity-store.ts";

const LIMITS = { perAddressAndAccount: 3, perAccount: 5, perAddress: 6, windowMs: 60_000 };

function throttle(options: Partial<LoginThrottleOptions> = {}): { throttle: LoginThrottle; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return { throttle: new LoginThrottle({ ...LIMITS, now: () => clock.now, ...options }), clock };
}

function failTimes(target: LoginThrottle, address: string, username: string, count: number): void {
  for (let i = 0; i < count; i++) target.recordFailure(address, username);
}

describe("login throttle", () => {
  it("refuses an account at an address after its limit there, until the oldest failure leaves the window", () => {
    const { throttle: t, clock } = throttle();
    failTimes(t, "10.0.0.1", "alice", 2);
    expect(t.retryAfterSeconds("10.0.0.1", "alice")).toBe(0);
    clock.now += 20_000;
    t.recordFailure("10.0.0.1", "alice");
    // The first failure is 20 s old: 40 s to go.
    expect(t.retryAfterSeconds("10.0.0.1", "alice")).toBe(40);
    expect(t.retryAfterSeconds("10.0.0.1", "Alice")).toBe(40);
    expect(t.retryAfterSeconds("10.0.0.2", "alice")).toBe(0);
    expect(t.retryAfterSeconds("10.0.0.1", "bob")).toBe(0);
    clock.now += 40_001;
    expect(t.retryAfterSeconds("10.0.0.1", "alice")).toBe(0);
  });

  it("refuses an account failing from many addresses everywhere but where it logged in recently", () => {
    const { throttle: t, clock } = throttle();
    t.recordSuccess("10.0.0.99", "ci");
    for (let i = 1; i <= 5; i++) t.recordFailure(`10.0.1.${i}`, "ci");
    expect(t.retryAfterSeconds("10.0.2.1", "ci")).toBeGreaterThan(0);
    expect(t.retryAfterSeconds("10.0.0.99", "ci")).toBe(0);
    // A day later the address is no longer known.
    clock.now += 24 * 3_600_000 + 1;
    for (let i = 1; i <= 5; i++) t.recordFailure(`10.0.1.${i}`, "ci");
    expect(t.retryAfterSeconds("10.0.0.99", "ci")).toBeGreaterThan(0);
  });

  it("gives each account one failure from a spraying address, and never refuses one without failures", () => {
    const { throttle: t } = throttle();
    for (let i = 0; i < 6; i++) t.recordFailure("10.0.0.1", `name-${i}`);
    expect(t.retryAfterSeconds("10.0.0.1", "name-0")).toBeGreaterThan(0);
    expect(t.retryAfterSeconds("10.0.0.1", "fresh")).toBe(0);
    t.recordFailure("10.0.0.1", "fresh");
    expect(t.retryAfterSeconds("10.0.0.1", "fresh")).toBeGreaterThan(0);
    expect(t.retryAfterSeconds("10.0.0.2", "name-0")).toBe(0);
  });

  it("keeps counting an account by its case-folded name after thousands of other names, long ones too", () => {
    const { throttle: t } = throttle();
    const long = `x${"y".repeat(4096)}`;
    failTimes(t, "10.0.0.1", "Alice", 3);
    failTimes(t, "10.0.0.1", long, 3);
    // More names than the account keys kept in memory (they are dropped when full).
    for (let i = 0; i < 3000; i++) t.recordSuccess("10.0.0.9", `name-${i}`);
    expect(t.retryAfterSeconds("10.0.0.1", "alice")).toBeGreaterThan(0);
    expect(t.retryAfterSeconds("10.0.0.1", "ALICE")).toBeGreaterThan(0);
    expect(t.retryAfterSeconds("10.0.0.1", long.toUpperCase())).toBeGreaterThan(0);
    expect(t.retryAfterSeconds("10.0.0.1", "alicE2")).toBe(0);
  });

  it("counts IPv6 addresses by their /64, which one host rotates through freely", () => {
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8:1:2::ffff")).toBe("2001:db8:1:2::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("192.0.2.1")).toBe("192.0.2.1");
    const { throttle: t } = throttle();
    for (let i = 1; i <= 3; i++) t.recordFailure(`2001:db8:1:2::${i}`, "alice");
    expect(t.retryAfterSeconds("2001:db8:1:2:ffff::9", "alice")).toBeGreaterThan(0);
    expect(t.retryAfterSeconds("2001:db8:1:3::1", "alice")).toBe(0);
  });

  it("stays within its bound however many names and addresses an attacker rotates through", () => {
    const { throttle: t } = throttle({ maxEntries: 1000 });
    for (let i = 0; i < 20_000; i++) t.recordFailure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `user-${i}`);
    for (let i = 0; i < 5_000; i++) t.recordSuccess(`10.9.${(i >> 8) & 255}.${i & 255}`, "x".repeat(1000));
    expect(t.size).toBeLessThanOrEqual(4 * 1000);
    // The most recent keys are still counted.
    failTimes(t, "192.0.2.1", "alice", 3);
    expect(t.retryAfterSeconds("192.0.2.1", "alice")).toBeGreaterThan(0);
  });

  it("refuses a throttled attempt before looking the account up or checking its password", async () => {
    const lookups: string[] = [];
    const hash = await hashPassword("Right-password-1");
    const identity = {
      users: {
        getByName: async (name: string) => {
          lookups.push(name);
          return { id: 1, username: name, passwordHash: hash, sysadmin: false };
        },
      },
      robots: { getByName: async () => undefined },
    } as unknown as Pick<IdentityAreas, "users" | "robots">;
    const { throttle: t } = throttle();
    const authenticator = new CredentialAuthenticator(identity, t);
    for (let i = 0; i < 3; i++) {
      expect((await authenticator.authenticate({ username: "alice", password: "wrong" }, "10.0.0.1")).outcome).toBe(
        "invalid",
      );
    }
    expect(lookups).toHaveLength(3);
    const refused = await authenticator.authenticate({ username: "alice", password: "Right-password-1" }, "10.0.0.1");
    expect(refused).toEqual({ outcome: "throttled", retryAfterSeconds: 60 });
    expect(lookups).toHaveLength(3);
    expect(
      (await authenticator.authenticate({ username: "alice", password: "Right-password-1" }, "10.0.0.2")).outcome,
    ).toBe("authenticated");
  });
});
