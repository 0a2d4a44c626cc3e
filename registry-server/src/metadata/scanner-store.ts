// The scanners area of the metadata store: Harbor's scanner registrations (`/api/v2.0/scanners`),
// each the address and settings of a scanner adapter (scan/scanner-adapter.ts), or of a scanner
// built into this server (a `builtin://` URL).
//
// Registrations are keyed by a UUID the caller draws; names and URLs are unique (ConflictError
// otherwise). At most one registration is the default, and the default is never disabled: the
// schema enforces both, and `setDefault` moves the mark in one step. The access credential is
// kept as the caller hands it over, sealed (auth/secret-box.ts): it is sent to the adapter on
// every call, so it cannot be hashed, and a database dump must not reveal it.
//
// Every backend runs the shared contract suite in test/contracts/scanner-store-contract.ts.

import type { TextMatch } from "./artifact-store.ts";
import type { Listing, Window } from "./identity-store.ts";

/** Harbor's authentication schemes for the adapter API ("" for none). */
export const SCANNER_AUTH_TYPES = ["", "Basic", "Bearer", "X-ScannerAdapter-API-Key"] as const;
export type ScannerAuth = (typeof SCANNER_AUTH_TYPES)[number];

export interface ScannerRegistrationRecord {
  readonly uuid: string;
  readonly name: string;
  readonly description: string;
  /** The adapter's base URL (http, https), or `builtin://<name>` for a scanner of this server. */
  readonly url: string;
  readonly disabled: boolean;
  readonly isDefault: boolean;
  readonly auth: ScannerAuth;
  /** The access credential, sealed; present exactly when `auth` is not "". */
  readonly sealedCredential?: string;
  readonly skipCertVerify: boolean;
  readonly useInternalAddr: boolean;
  /** A registration this server made for itself (a built-in scanner): not to be changed by users. */
  readonly immutable: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type NewScannerRegistration = Omit<ScannerRegistrationRecord, "isDefault" | "createdAt" | "updatedAt">;

/**
 * Whether a new registration becomes the default: "if-first" when there is no other registration
 * (Harbor's rule for the API), "if-no-default" when no registration is the default (a built-in
 * scanner registered at start-up). Decided in the same step as the insert.
 */
export type DefaultRule = "never" | "if-first" | "if-no-default";

/** Fields to change; `sealedCredential: null` removes the credential (with `auth: ""`). */
export interface ScannerChanges {
  readonly name?: string;
  readonly description?: string;
  readonly url?: string;
  readonly disabled?: boolean;
  readonly auth?: ScannerAuth;
  readonly sealedCredential?: string | null;
  readonly skipCertVerify?: boolean;
  readonly useInternalAddr?: boolean;
}

export interface ScannerFilter {
  readonly name?: TextMatch;
  readonly description?: TextMatch;
  readonly url?: TextMatch;
}

export type SetDefaultOutcome = "done" | "missing" | "disabled";

export interface ScannerMetadata {
  /** ConflictError when the name or the URL is taken. */
  create(registration: NewScannerRegistration, rule: DefaultRule, at: Date): Promise<ScannerRegistrationRecord>;
  get(uuid: string): Promise<ScannerRegistrationRecord | undefined>;
  getByUrl(url: string): Promise<ScannerRegistrationRecord | undefined>;
  getDefault(): Promise<ScannerRegistrationRecord | undefined>;
  /** As Harbor lists them: the default first, then the newest first (ties by uuid). */
  list(filter: ScannerFilter, window: Window): Promise<Listing<ScannerRegistrationRecord>>;
  /**
   * Applies the changes; undefined when there is no such registration; ConflictError when the
   * name or URL is taken. Disabling the default is refused by the schema (the caller checks first).
   */
  update(uuid: string, changes: ScannerChanges, at: Date): Promise<ScannerRegistrationRecord | undefined>;
  /** Makes the registration the default and no other, in one step; a disabled one cannot be. */
  setDefault(uuid: string): Promise<SetDefaultOutcome>;
  /** False when there was none. */
  delete(uuid: string): Promise<boolean>;
}
