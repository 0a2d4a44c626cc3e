// A project's security gate in the words of the Pulumi inputs, and its mapping to Harbor's project
// metadata and `cve_allowlist`: scan on push (`autoScan`), refuse pulls at or above a severity
// (`preventVulnerable`) or of stale scans (`preventStaleScan`), the allowlist (the project's own
// or the system's), SBOMs on push (`autoSbom`), and cosign signatures (`requireSignature`, by one
// of `trustedKeys` when given). Every setting is managed: left out, it is off, so removing a line
// from the stack turns the gate off instead of leaving it as it was.
//
// Values the registry rewrites are normalised here, for `check` and for `read` alike, so that no
// perpetual diff appears: severities in lower case, allowlist items sorted, the expiry in one
// ISO form, and public keys as SPKI PEM (the registry keeps each key re-exported that way), sorted
// and once each, so two spellings of the same key are one input.
//
// Imported by the project provider and serialised with it: no imports but ../unknowns.ts (itself
// without imports); node:crypto is required inside the function that needs it.

import { containsUnknown, isUnknown, keepUnknown } from "../unknowns";

/** The severities `preventVulnerable` takes (Harbor's, lower case, without "none"). */
export const SEVERITIES = ["low", "medium", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A CVE allowlist: the vulnerability ids that never block a pull, until `expiresAt` if given. */
export interface CveAllowlist {
  /** Vulnerability ids (CVE-2024-1234, GHSA-…), sorted, once each. */
  items: string[];
  /** When the list stops applying: an ISO 8601 time in UTC without fractions (2026-12-31T00:00:00Z). */
  expiresAt?: string;
}

/** The security settings of a project, as `check` leaves them. */
export interface ProjectSecurity {
  autoScan: boolean;
  /** The lowest severity refused, or false for none. */
  preventVulnerable: Severity | false;
  preventStaleScan: boolean;
  cveAllowlist: CveAllowlist;
  reuseSystemCveAllowlist: boolean;
  autoSbom: boolean;
  requireSignature: boolean;
  /** SPKI PEM public keys, sorted, once each. */
  trustedKeys: string[];
}

/** The metadata keys these settings own, with the input that sets each. */
export const SECURITY_METADATA_KEYS: Record<string, string> = {
  auto_scan: "autoScan",
  prevent_vul: "preventVulnerable",
  severity: "preventVulnerable",
  prevent_stale_scan: "preventStaleScan",
  reuse_sys_cve_allowlist: "reuseSystemCveAllowlist",
  auto_sbom_generation: "autoSbom",
  enable_content_trust_cosign: "requireSignature",
  cosign_trusted_keys: "trustedKeys",
};

/** The metadata key (beyond Harbor) holding the trusted keys: removed with DELETE when none are declared. */
export const TRUSTED_KEYS_KEY = "cosign_trusted_keys";

/** The registry's limits (registry-server/src/security/trusted-keys.ts, scan/cve-allowlist.ts). */
const MAX_TRUSTED_KEYS = 16;
const MAX_ALLOWLIST_ITEMS = 10_000;
const MAX_CVE_ID_LENGTH = 256;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

export type Fail = (property: string, reason: string) => void;

/** Sorted, once each. */
function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/** A severity in any case; `false`, undefined, "off" or "none" mean off. */
export function normaliseSeverity(value: unknown, property: string, fail: Fail): Severity | false {
  if (value === undefined || value === null || value === false) return false;
  if (typeof value === "string") {
    const lower = value.trim().toLowerCase();
    if (lower === "off" || lower === "none" || lower === "false") return false;
    if ((SEVERITIES as readonly string[]).includes(lower)) return lower as Severity;
  }
  fail(property, `expected one of ${SEVERITIES.join(", ")} or false, got ${JSON.stringify(value)}`);
  return false;
}

/** An expiry as the allowlist keeps it: whole seconds, printed as 2026-12-31T00:00:00Z. */
export function expiryText(unixSeconds: number): string {
  return new Date(unixSeconds * 1_000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Unix seconds of an expiry the inputs hold. */
export function expirySeconds(text: string): number {
  return Math.floor(Date.parse(text) / 1_000);
}

/**
 * An allowlist input: `{ items, expiresAt }`, or a plain list of ids. The expiry is an ISO 8601
 * date or time (a date alone means its midnight UTC) or Unix seconds.
 */
export function normaliseAllowlist(value: unknown, property: string, fail: Fail): CveAllowlist {
  if (value === undefined || value === null) return { items: [] };
  if (containsUnknown(value)) return value as CveAllowlist;
  const given = Array.isArray(value) ? { items: value } : value;
  if (typeof given !== "object" || given === null) {
    fail(property, `expected { items: [CVE ids], expiresAt? }, got ${JSON.stringify(value)}`);
    return { items: [] };
  }
  const { items = [], expiresAt, ...rest } = given as { items?: unknown; expiresAt?: unknown };
  for (const key of Object.keys(rest)) fail(`${property}.${key}`, "unknown key: expected items and expiresAt");
  const ids: string[] = [];
  if (!Array.isArray(items)) fail(`${property}.items`, `expected a list of CVE ids, got ${JSON.stringify(items)}`);
  else {
    if (items.length > MAX_ALLOWLIST_ITEMS) fail(`${property}.items`, `more than ${MAX_ALLOWLIST_ITEMS} ids`);
    items.forEach((item: unknown, index) => {
      if (typeof item !== "string" || !/^\S+$/.test(item) || item.length > MAX_CVE_ID_LENGTH) {
        fail(
          `${property}.items[${index}]`,
          `expected a vulnerability id such as CVE-2024-3094, got ${JSON.stringify(item)}`,
        );
      } else if (ids.includes(item)) {
        fail(`${property}.items[${index}]`, `${item} is listed twice`);
      } else ids.push(item);
    });
  }
  const allowlist: CveAllowlist = { items: sortedUnique(ids) };
  if (expiresAt !== undefined && expiresAt !== null) {
    let seconds: number | undefined;
    if (typeof expiresAt === "number" && Number.isInteger(expiresAt) && expiresAt > 0) seconds = expiresAt;
    else if (
      typeof expiresAt === "string" &&
      /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(expiresAt)
    ) {
      const text = /^\d{4}-\d{2}-\d{2}$/.test(expiresAt) ? `${expiresAt}T00:00:00Z` : expiresAt;
      const parsed = Date.parse(text);
      if (Number.isFinite(parsed)) seconds = Math.floor(parsed / 1_000);
    }
    if (seconds === undefined) {
      fail(
        `${property}.expiresAt`,
        `expected an ISO 8601 date or time (2026-12-31, 2026-12-31T12:00:00Z) or Unix seconds, got ${JSON.stringify(expiresAt)}`,
      );
    } else allowlist.expiresAt = expiryText(seconds);
  }
  return allowlist;
}

/** Harbor's CVEAllowlist body. */
export function allowlistBody(allowlist: CveAllowlist): Record<string, unknown> {
  return {
    items: allowlist.items.map((cve_id) => ({ cve_id })),
    ...(allowlist.expiresAt !== undefined && { expires_at: expirySeconds(allowlist.expiresAt) }),
  };
}

/** Harbor's CVEAllowlist JSON, as the inputs say it. */
export function allowlistFromHarbor(live: unknown): CveAllowlist {
  const body = (live ?? {}) as { items?: Array<{ cve_id?: unknown }> | null; expires_at?: unknown };
  const items = (body.items ?? []).flatMap((item) => (typeof item.cve_id === "string" ? [item.cve_id] : []));
  return {
    items: sortedUnique(items),
    ...(typeof body.expires_at === "number" && body.expires_at > 0 && { expiresAt: expiryText(body.expires_at) }),
  };
}

/**
 * Public keys in a canonical form: each PEM block re-exported as SPKI PEM (the registry's form),
 * sorted, once each. A problem names the key by its place (`trustedKeys[1]`, key 2 of a bundle).
 */
export function canonicalPublicKeys(given: readonly string[], property: string, fail: Fail): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at run time by the provider
  const { createPublicKey } = require("node:crypto") as typeof import("node:crypto");
  const keys: string[] = [];
  given.forEach((text, index) => {
    const where = given.length > 1 ? `${property}[${index}]` : property;
    const blocks = [...text.matchAll(PEM_BLOCK)];
    let rest = text;
    for (const block of blocks) rest = rest.replace(block[0], "");
    if (blocks.length === 0 || rest.trim() !== "") {
      fail(where, "expected PEM public keys (-----BEGIN PUBLIC KEY-----) and nothing else");
      return;
    }
    blocks.forEach((block, position) => {
      const which = blocks.length > 1 ? `${where} (key ${position + 1})` : where;
      const label = block[1] ?? "";
      if (label.includes("PRIVATE")) return fail(which, "is a private key: give only the public key (cosign.pub)");
      if (label !== "PUBLIC KEY" && label !== "RSA PUBLIC KEY") return fail(which, `is a ${label}, not a PUBLIC KEY`);
      let key: import("node:crypto").KeyObject;
      try {
        key = createPublicKey({ key: block[0], format: "pem" });
      } catch {
        return fail(which, "is not a valid PEM public key");
      }
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      const accepted =
        (key.asymmetricKeyType === "ec" && (curve === "prime256v1" || curve === "secp384r1")) ||
        key.asymmetricKeyType === "ed25519" ||
        (key.asymmetricKeyType === "rsa" && bits >= 2048);
      if (!accepted) {
        return fail(
          which,
          `is a ${key.asymmetricKeyType ?? "unknown"} key${curve ? ` on ${curve}` : bits ? ` of ${bits} bits` : ""}: ` +
            "ECDSA P-256/P-384, Ed25519 or RSA of 2048 bits or more is expected",
        );
      }
      keys.push(key.export({ type: "spki", format: "pem" }).toString());
    });
  });
  const canonical = sortedUnique(keys);
  if (canonical.length > MAX_TRUSTED_KEYS) fail(property, `more than ${MAX_TRUSTED_KEYS} keys`);
  return canonical;
}

/** Validates the known settings among `news` and normalises them; unknowns are passed on. */
export function checkProjectSecurity(news: Record<string, unknown>, fail: Fail): ProjectSecurity {
  const flag = (key: string): boolean =>
    keepUnknown(news[key] ?? false, (value) => {
      if (typeof value !== "boolean") fail(key, `expected true or false, got ${JSON.stringify(value)}`);
      return value === true;
    });
  const preventVulnerable = keepUnknown(news["preventVulnerable"], (value) =>
    normaliseSeverity(value, "preventVulnerable", fail),
  );
  const givenKeys = news["trustedKeys"] ?? [];
  let trustedKeys: string[];
  if (containsUnknown(givenKeys)) trustedKeys = givenKeys as string[];
  else if (typeof givenKeys === "string") trustedKeys = canonicalPublicKeys([givenKeys], "trustedKeys", fail);
  else if (Array.isArray(givenKeys) && givenKeys.every((key) => typeof key === "string"))
    trustedKeys = canonicalPublicKeys(givenKeys, "trustedKeys", fail);
  else {
    fail("trustedKeys", "expected PEM public keys: a list of PEM strings, or one bundle");
    trustedKeys = [];
  }
  const security: ProjectSecurity = {
    autoScan: flag("autoScan"),
    preventVulnerable,
    preventStaleScan: flag("preventStaleScan"),
    cveAllowlist: normaliseAllowlist(news["cveAllowlist"], "cveAllowlist", fail),
    reuseSystemCveAllowlist: flag("reuseSystemCveAllowlist"),
    autoSbom: flag("autoSbom"),
    requireSignature: flag("requireSignature"),
    trustedKeys,
  };
  // Keys the registry would keep and never use: a declaration that looks safer than it is.
  const keysGiven = !containsUnknown(trustedKeys) && trustedKeys.length > 0;
  if (keysGiven && !isUnknown(security.requireSignature) && !security.requireSignature) {
    fail("trustedKeys", "trusted keys are only used with requireSignature: true");
  }
  if (security.preventStaleScan && !isUnknown(preventVulnerable) && preventVulnerable === false) {
    fail("preventStaleScan", "only applies with preventVulnerable (a severity)");
  }
  return security;
}

/** The metadata the settings write (all of their keys but the trusted keys when there are none). */
export function securityMetadata(security: ProjectSecurity): Record<string, string> {
  return {
    auto_scan: String(security.autoScan),
    prevent_vul: String(security.preventVulnerable !== false),
    ...(security.preventVulnerable !== false && { severity: security.preventVulnerable }),
    prevent_stale_scan: String(security.preventStaleScan),
    reuse_sys_cve_allowlist: String(security.reuseSystemCveAllowlist),
    auto_sbom_generation: String(security.autoSbom),
    enable_content_trust_cosign: String(security.requireSignature),
    ...(security.trustedKeys.length > 0 && { [TRUSTED_KEYS_KEY]: security.trustedKeys.join("") }),
  };
}

/** The settings a project's metadata and allowlist (GET /projects/{p}) say. */
export function securityFromHarbor(metadata: Readonly<Record<string, string>>, cveAllowlist: unknown): ProjectSecurity {
  const on = (key: string): boolean => metadata[key] === "true";
  const bundle = metadata[TRUSTED_KEYS_KEY];
  // A bundle the registry holds was checked when it was set; a problem here only drops the key.
  const ignore: Fail = () => undefined;
  return {
    autoScan: on("auto_scan"),
    // prevent_vul without a severity: the registry judges by "Unknown"; shown as such, it differs.
    preventVulnerable: on("prevent_vul") ? ((metadata["severity"] ?? "").toLowerCase() as Severity) : false,
    preventStaleScan: on("prevent_stale_scan"),
    cveAllowlist: allowlistFromHarbor(cveAllowlist),
    reuseSystemCveAllowlist: on("reuse_sys_cve_allowlist"),
    autoSbom: on("auto_sbom_generation"),
    requireSignature: on("enable_content_trust_cosign"),
    trustedKeys: bundle ? canonicalPublicKeys([bundle], TRUSTED_KEYS_KEY, ignore) : [],
  };
}

/** The input names of the settings, for diffs. */
export const SECURITY_INPUTS = [
  "autoScan",
  "preventVulnerable",
  "preventStaleScan",
  "cveAllowlist",
  "reuseSystemCveAllowlist",
  "autoSbom",
  "requireSignature",
  "trustedKeys",
] as const;
