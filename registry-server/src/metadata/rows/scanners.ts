// The scanners area's rows (ScannerMetadata in scanner-store.ts), as both backends read them:
// scanner registrations with their sealed credential, and their listing with Harbor's filter.

import {
  SCANNER_AUTH_TYPES,
  type ScannerAuth,
  type ScannerFilter,
  type ScannerRegistrationRecord,
} from "../scanner-store.ts";
import {
  Conditions,
  type Dialect,
  type ListingQuery,
  type RowReader,
  type StoredBool,
  type StoredTime,
} from "./sql.ts";

export interface ScannerRow {
  uuid: string;
  name: string;
  description: string;
  url: string;
  disabled: StoredBool;
  is_default: StoredBool;
  auth: string;
  sealed_credential: string | null;
  skip_cert_verify: StoredBool;
  use_internal_addr: StoredBool;
  immutable: StoredBool;
  created_at: StoredTime;
  updated_at: StoredTime;
}

export const SCANNER_COLUMNS =
  "uuid, name, description, url, disabled, is_default, auth, sealed_credential, skip_cert_verify, " +
  "use_internal_addr, immutable, created_at, updated_at";

/** Harbor's order: the default first, then the newest. */
export const SCANNER_ORDER = "is_default DESC, created_at DESC, uuid";

function authOf(value: string): ScannerAuth {
  // The schema's CHECK admits only these.
  return (SCANNER_AUTH_TYPES as readonly string[]).includes(value) ? (value as ScannerAuth) : "";
}

export function toScanner(row: ScannerRow, r: RowReader): ScannerRegistrationRecord {
  return {
    uuid: row.uuid,
    name: row.name,
    description: row.description,
    url: row.url,
    disabled: r.flag(row.disabled),
    isDefault: r.flag(row.is_default),
    auth: authOf(row.auth),
    ...(row.sealed_credential !== null && { sealedCredential: row.sealed_credential }),
    skipCertVerify: r.flag(row.skip_cert_verify),
    useInternalAddr: r.flag(row.use_internal_addr),
    immutable: r.flag(row.immutable),
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
  };
}

/** Registrations under `filter` (each field equal, or fuzzy: containing it whatever the case). */
export function scannerListing<V>(d: Dialect<V>, filter: ScannerFilter): ListingQuery<V> {
  const where = new Conditions(d)
    .text("name", filter.name)
    .text("description", filter.description)
    .text("url", filter.url);
  return { columns: SCANNER_COLUMNS, from: "scanner_registrations", where, order: SCANNER_ORDER };
}

/** SQL true when a new registration should become the default under `rule`. */
export function defaultCondition(rule: "never" | "if-first" | "if-no-default"): string {
  switch (rule) {
    case "never":
      return "1 = 0";
    case "if-first":
      return "NOT EXISTS (SELECT 1 FROM scanner_registrations)";
    case "if-no-default":
      return "NOT EXISTS (SELECT 1 FROM scanner_registrations WHERE is_default)";
  }
}
