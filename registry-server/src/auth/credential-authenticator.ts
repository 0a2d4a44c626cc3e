// Checks basic credentials against local users and robot accounts (names starting with the robot
// name prefix: `robot$` unless the administrator changed the `robot_name_prefix` setting).
// Passwords and robot secrets are stored as slow scrypt hashes; to keep registry requests fast,
// a verified pair is remembered for a few minutes together with the hash it matched, so a
// changed password or a refreshed robot secret invalidates it at once. Disabled or expired
// robots never authenticate. Failed attempts are throttled per account and per address
// (login-throttle.ts): a throttled attempt is refused before anything about it is checked.
// Requests that arrive together with the same credentials share one verification: scrypt takes
// 32 MiB while it runs, and a client's first burst (eight parallel pushes) made a process hold
// ~100 MiB more for a moment, one hash per request.

import { hash } from "node:crypto";
import type { IdentityAreas, RobotRecord, UserRecord } from "../metadata/identity-store.ts";
import type { LoginLimiter } from "./login-throttle.ts";
import { SingleFlight } from "../single-flight.ts";
import { DECOY_HASH, verifyPassword } from "./password-hash.ts";
import type { Credentials, Principal } from "./principal.ts";

export const ROBOT_PREFIX = "robot$";

export type Authentication =
  | { readonly outcome: "authenticated"; readonly principal: Principal }
  | { readonly outcome: "invalid" }
  | { readonly outcome: "throttled"; readonly retryAfterSeconds: number };

const VERIFIED_TTL_MS = 5 * 60 * 1000;
const VERIFIED_MAX_ENTRIES = 4096;

interface Verified {
  /** The stored hash the credentials matched: when it changes, the entry is void. */
  hash: string;
  expiresAt: number;
}

export function robotIsUsable(robot: RobotRecord, nowMs: number): boolean {
  return !robot.disabled && (robot.expiresAt === -1 || robot.expiresAt * 1000 > nowMs);
}

/** A local user as a principal (the administrator flag as stored now). */
export function userPrincipal(user: UserRecord): Principal {
  return { kind: "user", userId: user.id, username: user.username, sysadmin: user.sysadmin };
}

function robotPrincipal(robot: RobotRecord): Principal {
  return {
    kind: "robot",
    robotId: robot.id,
    username: robot.name,
    level: robot.level,
    ...(robot.projectId !== undefined && { projectId: robot.projectId }),
    permissions: robot.permissions,
  };
}

export class CredentialAuthenticator {
  private readonly identity: Pick<IdentityAreas, "users" | "robots">;
  private readonly throttle: LoginLimiter;
  private readonly now: () => number;
  private readonly verified = new Map<string, Verified>();
  /** Verifications in flight, by credentials and the hash they are checked against. */
  private readonly verifying = new SingleFlight<boolean>();
  private readonly verify: (password: string, encoded: string) => Promise<boolean>;

  /** The prefix robots log in with (the `robot_name_prefix` setting); stored names use ROBOT_PREFIX. */
  private readonly robotPrefix: () => Promise<string>;

  constructor(
    identity: Pick<IdentityAreas, "users" | "robots">,
    throttle: LoginLimiter,
    now: () => number = Date.now,
    robotPrefix: () => Promise<string> = async () => ROBOT_PREFIX,
    verify: (password: string, encoded: string) => Promise<boolean> = verifyPassword,
  ) {
    this.identity = identity;
    this.throttle = throttle;
    this.now = now;
    this.robotPrefix = robotPrefix;
    this.verify = verify;
  }

  /** Checks `credentials` presented from `address` (the client's, as http/client-address.ts gives it). */
  async authenticate(credentials: Credentials, address: string): Promise<Authentication> {
    const retryAfterSeconds = this.throttle.retryAfterSeconds(address, credentials.username);
    if (retryAfterSeconds > 0) return { outcome: "throttled", retryAfterSeconds };

    const prefix = await this.robotPrefix();
    const principal = credentials.username.startsWith(prefix)
      ? await this.robot({ ...credentials, username: ROBOT_PREFIX + credentials.username.slice(prefix.length) })
      : await this.user(credentials);
    if (principal) {
      this.throttle.recordSuccess(address, credentials.username);
      return { outcome: "authenticated", principal };
    }
    this.throttle.recordFailure(address, credentials.username);
    return { outcome: "invalid" };
  }

  /**
   * The principal a bearer token was issued to, by the name the token carries (a user's, or a
   * robot's stored `robot$…` name), as it stands now; undefined when it is gone or disabled.
   */
  async principalByName(name: string): Promise<Principal | undefined> {
    if (name.startsWith(ROBOT_PREFIX)) {
      const robot = await this.identity.robots.getByName(name);
      return robot && robotIsUsable(robot, this.now()) ? robotPrincipal(robot) : undefined;
    }
    const user = name === "" ? undefined : await this.identity.users.getByName(name);
    return user && userPrincipal(user);
  }

  private async user(credentials: Credentials): Promise<Principal | undefined> {
    const user = await this.identity.users.getByName(credentials.username);
    if (!(await this.matches(credentials, user?.passwordHash))) return undefined;
    return userPrincipal(user as UserRecord);
  }

  private async robot(credentials: Credentials): Promise<Principal | undefined> {
    const robot = await this.identity.robots.getByName(credentials.username);
    const usable = robot !== undefined && robotIsUsable(robot, this.now());
    if (!(await this.matches(credentials, usable ? robot.secretHash : undefined)) || !robot) return undefined;
    return robotPrincipal(robot);
  }

  /** Whether the password matches the stored hash (undefined: no such account). */
  private async matches(credentials: Credentials, storedHash: string | undefined): Promise<boolean> {
    // One-shot hash(): a Hash object per request cost 2.6 times as much (three per request).
    const key = hash("sha256", `${credentials.username}\0${credentials.password}`, "hex");
    const cached = this.verified.get(key);
    if (storedHash !== undefined && cached && cached.hash === storedHash && cached.expiresAt > this.now()) return true;

    // Against the decoy when there is no such account, so timing does not tell which names exist.
    const encoded = storedHash ?? DECOY_HASH;
    const ok = await this.verifying.run(`${key}\0${encoded}`, () => this.verify(credentials.password, encoded)).promise;
    if (!ok || storedHash === undefined) return false;
    if (this.verified.size >= VERIFIED_MAX_ENTRIES) this.verified.clear();
    this.verified.set(key, { hash: storedHash, expiresAt: this.now() + VERIFIED_TTL_MS });
    return true;
  }
}
