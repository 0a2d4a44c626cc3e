// Slows down password guessing without letting a guesser lock other people out. Failed logins
// are counted in three ways within a sliding window, and an attempt is refused before its
// password is checked (so a refusal says nothing about the password) when:
//   - its account failed too often from its address: one address guessing one account;
//   - its account failed too often from every address together: a guesser spreading over many
//     addresses. Addresses where the account logged in successfully recently stay exempt from
//     this one, so a CI robot keeps working while its name is attacked from elsewhere;
//   - its address failed too often across accounts (password spraying) and its account has
//     already failed from there: each further account gets one guess from that address.
// What is never refused: a right password for an account that has no failure from that address
// (and is not under a distributed attack), whatever other accounts' failures from the same address
// were. That matters behind a shared address (an Ingress without trusted proxies, a NAT), where
// a throttle keyed on the address alone locked everyone out after ten failures of anyone's.
// Successful logins do not clear failures, so interleaving a known password does not help.
// Robots are accounts like users; unknown names are counted as accounts too (a refusal must not
// tell which names exist). IPv6 addresses count by their /64, which one host can rotate through.
// Memory is bounded: each table keeps at most `maxEntries` keys, dropping the least recently
// touched, and each key at most as many timestamps as its limit.

import { hash } from "node:crypto";
import { isIP } from "node:net";

export interface LoginLimits {
  /** Failures of one account from one address within the window. */
  perAddressAndAccount: number;
  /** Failures of one account from all addresses together within the window. */
  perAccount: number;
  /** Failures from one address across accounts within the window, beyond which each account gets one. */
  perAddress: number;
  windowMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perAddressAndAccount: 10,
  perAccount: 30,
  perAddress: 30,
  windowMs: 60_000,
};

export interface LoginThrottleOptions extends LoginLimits {
  /** How long a successful login exempts its address from the account's own limit. */
  knownAddressMs?: number;
  /** Keys kept per table (address and account, account, address, known addresses). */
  maxEntries?: number;
  now?: () => number;
}

const KNOWN_ADDRESS_MS = 24 * 3_600_000;
const MAX_ENTRIES = 50_000;

/** Timestamps per key, oldest first, in least-recently-touched order, with a bound on both. */
class FailureTable {
  private readonly entries = new Map<string, number[]>();
  private readonly limit: number;
  private readonly maxEntries: number;

  constructor(limit: number, maxEntries: number) {
    this.limit = limit;
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Failures of `key` since `since`. */
  recent(key: string, since: number): number[] {
    return (this.entries.get(key) ?? []).filter((at) => at > since);
  }

  record(key: string, at: number, since: number): void {
    const kept = this.recent(key, since);
    kept.push(at);
    // Only the last `limit` failures matter: when the oldest of them leaves the window, the key is below the limit.
    if (kept.length > this.limit) kept.splice(0, kept.length - this.limit);
    touch(this.entries, key, kept, this.maxEntries);
  }
}

/** Sets `key` as the most recently touched entry, dropping the least recently touched beyond `max`. */
function touch<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) break;
    map.delete(oldest);
  }
}

/** The address as throttled: IPv4 as is, IPv6 by its /64 prefix. */
export function addressKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = "", tail] = address.split("%")[0]?.split("::") ?? [""];
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups =
    tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(":")}::/64`;
}

/**
 * The keys of recently seen account names, since every request with basic authentication asks
 * for one (hashing was 3% of a manifest GET). Bounded in entries and in name length: names are
 * whatever a client sends, so the map is cleared when full and long names are not kept.
 */
const accountKeys = new Map<string, string>();
const ACCOUNT_KEYS_MAX_ENTRIES = 1024;
const ACCOUNT_KEYS_MAX_NAME = 255;

/** Account names case-folded and hashed: any length of name costs the same few bytes. */
function accountKey(username: string): string {
  let key = accountKeys.get(username);
  if (key === undefined) {
    key = hash("sha256", username.toLowerCase(), "base64url").slice(0, 22);
    if (username.length <= ACCOUNT_KEYS_MAX_NAME) {
      if (accountKeys.size >= ACCOUNT_KEYS_MAX_ENTRIES) accountKeys.clear();
      accountKeys.set(username, key);
    }
  }
  return key;
}

/** What the credential check uses of a throttle (cluster/shared-login-throttle.ts shares one). */
export type LoginLimiter = Pick<LoginThrottle, "retryAfterSeconds" | "recordFailure" | "recordSuccess">;

export class LoginThrottle {
  private readonly limits: LoginLimits;
  private readonly knownAddressMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly pairs: FailureTable;
  private readonly accounts: FailureTable;
  private readonly addresses: FailureTable;
  /** "address account" → when the account last logged in from there. */
  private readonly known = new Map<string, number>();

  constructor(options: LoginThrottleOptions) {
    this.limits = {
      perAddressAndAccount: options.perAddressAndAccount,
      perAccount: options.perAccount,
      perAddress: options.perAddress,
      windowMs: options.windowMs,
    };
    this.knownAddressMs = options.knownAddressMs ?? KNOWN_ADDRESS_MS;
    this.maxEntries = options.maxEntries ?? MAX_ENTRIES;
    this.now = options.now ?? Date.now;
    this.pairs = new FailureTable(options.perAddressAndAccount, this.maxEntries);
    this.accounts = new FailureTable(options.perAccount, this.maxEntries);
    this.addresses = new FailureTable(options.perAddress, this.maxEntries);
  }

  /** Keys held in all tables together: what the throttle costs in memory. */
  get size(): number {
    return this.pairs.size + this.accounts.size + this.addresses.size + this.known.size;
  }

  /** Seconds until `username` may try again from `address`, or 0 when it may try now. */
  retryAfterSeconds(address: string, username: string): number {
    const now = this.now();
    const since = now - this.limits.windowMs;
    const { pair, account, from } = this.keys(address, username);
    const pairFailures = this.pairs.recent(pair, since);
    const waits: number[] = [];
    if (pairFailures.length >= this.limits.perAddressAndAccount) waits.push(this.until(pairFailures, now));
    const accountFailures = this.accounts.recent(account, since);
    if (accountFailures.length >= this.limits.perAccount && !this.isKnown(pair, now)) {
      waits.push(this.until(accountFailures, now));
    }
    const addressFailures = this.addresses.recent(from, since);
    if (pairFailures.length > 0 && addressFailures.length >= this.limits.perAddress) {
      // Free again when the address falls below its limit, or when this account's failures there expire.
      const lastPairFailure = pairFailures[pairFailures.length - 1] ?? now;
      waits.push(Math.min(this.until(addressFailures, now), this.until([lastPairFailure], now)));
    }
    return waits.length === 0 ? 0 : Math.max(...waits);
  }

  recordFailure(address: string, username: string): void {
    const now = this.now();
    const since = now - this.limits.windowMs;
    const { pair, account, from } = this.keys(address, username);
    this.pairs.record(pair, now, since);
    this.accounts.record(account, now, since);
    this.addresses.record(from, now, since);
  }

  recordSuccess(address: string, username: string): void {
    touch(this.known, this.keys(address, username).pair, this.now(), this.maxEntries);
  }

  /** When `username` last logged in from `address` as far as this throttle knows, if it did. */
  lastSuccessAt(address: string, username: string): number | undefined {
    return this.known.get(this.keys(address, username).pair);
  }

  private keys(address: string, username: string): { pair: string; account: string; from: string } {
    const from = addressKey(address);
    const account = accountKey(username);
    return { pair: `${from} ${account}`, account, from };
  }

  private isKnown(pair: string, now: number): boolean {
    const at = this.known.get(pair);
    return at !== undefined && at > now - this.knownAddressMs;
  }

  /** Whole seconds (at least 1) until the oldest of `failures` leaves the window. */
  private until(failures: readonly number[], now: number): number {
    const oldest = failures[0] ?? now;
    return Math.max(1, Math.ceil((oldest + this.limits.windowMs - now) / 1000));
  }
}
