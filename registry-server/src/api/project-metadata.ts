// Harbor's project metadata: string values by key ("true", "high", "2048"). The keys Harbor's
// model has are checked and normalised as Harbor's handlers do (booleans in any form Go's
// ParseBool takes become "true" or "false", a severity its lower-case name); keys it does not
// have are dropped, as its JSON decoding drops them (clients newer than the server send keys
// such as proxy_cache_local_on_not_found). Null and empty values mean "not given".
// Beyond Harbor: `cosign_trusted_keys`, the PEM public keys whose cosign signatures the project
// accepts (security/trusted-keys.ts), checked when set and kept in a canonical form; and
// `prevent_stale_scan`, a boolean: with `prevent_vul`, scans made with a vulnerability database
// older than the server's limit (or of unknown age) do not vouch for an image
// (scan/vulnerability-check.ts).

import { HarborError } from "../http/errors.ts";
import { parseTrustedKeys, TRUSTED_KEYS_KEY, TrustedKeyError } from "../security/trusted-keys.ts";
import { PROJECT_SCANNER_KEY } from "../scan/scanner-registry.ts";

const BOOLEAN_KEYS = [
  "public",
  "enable_content_trust",
  "enable_content_trust_cosign",
  "prevent_vul",
  "auto_scan",
  "auto_sbom_generation",
  "reuse_sys_cve_allowlist",
  "prevent_stale_scan",
] as const;
const SEVERITIES = ["none", "low", "medium", "high", "critical"] as const;
/** Keys that only mean something for a proxy-cache project (Harbor drops them for others). */
export const PROXY_ONLY_KEYS = ["proxy_speed_kb", "max_upstream_conn"] as const;
const INT32_KEYS = PROXY_ONLY_KEYS;

/** Every key this server keeps. */
export const METADATA_KEYS: readonly string[] = [
  ...BOOLEAN_KEYS,
  "severity",
  "retention_id",
  ...INT32_KEYS,
  TRUSTED_KEYS_KEY,
];

const TRUE_WORDS = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE_WORDS = new Set(["0", "f", "F", "FALSE", "false", "False"]);

function invalid(key: string, reason: string): HarborError {
  return new HarborError("BAD_REQUEST", `invalid metadata.${key}: ${reason}`);
}

/** One value, checked and normalised; undefined when the key is not Harbor's or the value is empty. */
export function normaliseMetadataValue(key: string, value: unknown): string | undefined {
  if (!METADATA_KEYS.includes(key) || value === null || value === undefined) return undefined;
  if (typeof value !== "string") throw invalid(key, "metadata values are strings");
  if (value === "") return undefined;
  if ((BOOLEAN_KEYS as readonly string[]).includes(key)) {
    if (TRUE_WORDS.has(value)) return "true";
    if (FALSE_WORDS.has(value)) return "false";
    throw invalid(key, `expected "true" or "false", got ${JSON.stringify(value)}`);
  }
  if (key === "severity") {
    const severity = value.toLowerCase();
    if (!(SEVERITIES as readonly string[]).includes(severity))
      throw invalid(key, `expected one of ${SEVERITIES.join(", ")}`);
    return severity;
  }
  if (key === TRUSTED_KEYS_KEY) {
    try {
      return parseTrustedKeys(value).pem;
    } catch (err) {
      if (err instanceof TrustedKeyError) throw invalid(key, err.message);
      throw err;
    }
  }
  if (key === "retention_id") {
    if (!/^\d+$/.test(value)) throw invalid(key, "expected a retention policy id");
    return value;
  }
  // proxy_speed_kb, max_upstream_conn: an int32.
  const number = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || number < -(2 ** 31) || number >= 2 ** 31) {
    throw invalid(key, "expected an integer");
  }
  return String(number);
}

/** A request's metadata object, checked and normalised (see above). */
export function normaliseMetadata(body: unknown): Record<string, string> {
  if (body === null || body === undefined) return {};
  if (typeof body !== "object" || Array.isArray(body)) {
    throw new HarborError("BAD_REQUEST", "invalid metadata: expected an object of strings");
  }
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) {
    const normalised = normaliseMetadataValue(key, value);
    if (normalised !== undefined) result[key] = normalised;
  }
  return result;
}

/**
 * The metadata a project keeps from a request, as Harbor's handlers decide: the proxy-cache keys
 * only on a proxy-cache project, content trust (Notary) never on one.
 */
export function applicableMetadata(
  metadata: Readonly<Record<string, string>>,
  proxyCache: boolean,
): Record<string, string> {
  const kept = { ...metadata };
  if (!proxyCache) for (const key of PROXY_ONLY_KEYS) delete kept[key];
  if (proxyCache) delete kept["enable_content_trust"];
  return kept;
}

/**
 * The metadata a project document shows: not the entries Harbor keeps beside the typed ones (the
 * project's scanner, `projectScanner`), which its ProjectMetadata model leaves out of /projects.
 * The /metadatas routes show every entry, as Harbor's do.
 */
export function shownMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const { [PROJECT_SCANNER_KEY]: _scanner, ...shown } = metadata;
  return shown;
}
