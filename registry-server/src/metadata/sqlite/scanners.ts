// The scanners area of the SQLite metadata store (ScannerMetadata): its statements, bound to the
// store's connections by store.ts. Rows and the listing are in rows/scanners.ts;
// postgres/scanners.ts is the same area on PostgreSQL.

import type { ScannerMetadata, ScannerRegistrationRecord } from "../scanner-store.ts";
import { defaultCondition, SCANNER_COLUMNS, scannerListing, toScanner, type ScannerRow } from "../rows/scanners.ts";
import { required } from "../rows/sql.ts";
import { SQLITE } from "./dialect.ts";
import { conflict, isUniqueViolation, listing, type Db, type Run } from "./statements.ts";

/** A name or URL taken as a ConflictError; anything else as it is. */
function taken(error: unknown, name: string | undefined, url: string | undefined): unknown {
  if (isUniqueViolation(error, "scanner_registrations.url")) {
    return conflict(error, undefined, `a scanner registration with url ${url ?? ""} already exists`);
  }
  return conflict(error, "scanner_registrations.name", `a scanner registration named ${name ?? ""} already exists`);
}

function getScanner(db: Db, uuid: string): ScannerRegistrationRecord | undefined {
  const row = db.row<ScannerRow>(`SELECT ${SCANNER_COLUMNS} FROM scanner_registrations WHERE uuid = ?`, uuid);
  return row && toScanner(row, SQLITE);
}

export function scannerArea(read: Run, write: Run): ScannerMetadata {
  return {
    create: (registration, rule, at) =>
      write((db) => {
        try {
          const row = db.row<ScannerRow>(
            `INSERT INTO scanner_registrations (uuid, name, description, url, disabled, is_default, auth,
               sealed_credential, skip_cert_verify, use_internal_addr, immutable, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, CASE WHEN ${defaultCondition(rule)} THEN 1 ELSE 0 END, ?, ?, ?, ?, ?, ?, ?)
               RETURNING ${SCANNER_COLUMNS}`,
            registration.uuid,
            registration.name,
            registration.description,
            registration.url,
            registration.disabled ? 1 : 0,
            registration.auth,
            registration.sealedCredential ?? null,
            registration.skipCertVerify ? 1 : 0,
            registration.useInternalAddr ? 1 : 0,
            registration.immutable ? 1 : 0,
            at.getTime(),
            at.getTime(),
          );
          return toScanner(required(row, "INSERT INTO scanner_registrations"), SQLITE);
        } catch (error) {
          throw taken(error, registration.name, registration.url);
        }
      }),
    get: (uuid) => read((db) => getScanner(db, uuid)),
    getByUrl: (url) =>
      read((db) => {
        const row = db.row<ScannerRow>(`SELECT ${SCANNER_COLUMNS} FROM scanner_registrations WHERE url = ?`, url);
        return row && toScanner(row, SQLITE);
      }),
    getDefault: () =>
      read((db) => {
        const row = db.row<ScannerRow>(`SELECT ${SCANNER_COLUMNS} FROM scanner_registrations WHERE is_default = 1`);
        return row && toScanner(row, SQLITE);
      }),
    list: (filter, window) =>
      read((db) => listing(db, scannerListing(SQLITE, filter), window, (row: ScannerRow) => toScanner(row, SQLITE))),
    update: (uuid, changes, at) =>
      write((db) => {
        const current = getScanner(db, uuid);
        if (!current) return undefined;
        const sealed =
          changes.sealedCredential === undefined ? current.sealedCredential : (changes.sealedCredential ?? undefined);
        try {
          const row = db.row<ScannerRow>(
            `UPDATE scanner_registrations SET name = ?, description = ?, url = ?, disabled = ?, auth = ?,
               sealed_credential = ?, skip_cert_verify = ?, use_internal_addr = ?, updated_at = ?
               WHERE uuid = ? RETURNING ${SCANNER_COLUMNS}`,
            changes.name ?? current.name,
            changes.description ?? current.description,
            changes.url ?? current.url,
            (changes.disabled ?? current.disabled) ? 1 : 0,
            changes.auth ?? current.auth,
            sealed ?? null,
            (changes.skipCertVerify ?? current.skipCertVerify) ? 1 : 0,
            (changes.useInternalAddr ?? current.useInternalAddr) ? 1 : 0,
            at.getTime(),
            uuid,
          );
          return row && toScanner(row, SQLITE);
        } catch (error) {
          throw taken(error, changes.name, changes.url);
        }
      }),
    setDefault: (uuid) =>
      write((db) => {
        const current = getScanner(db, uuid);
        if (!current) return "missing" as const;
        if (current.disabled) return "disabled" as const;
        // The old mark goes first: the schema admits one default at a time.
        db.run("UPDATE scanner_registrations SET is_default = 0 WHERE is_default = 1 AND uuid <> ?", uuid);
        db.run("UPDATE scanner_registrations SET is_default = 1 WHERE uuid = ?", uuid);
        return "done" as const;
      }),
    delete: (uuid) => write((db) => db.run("DELETE FROM scanner_registrations WHERE uuid = ?", uuid) > 0),
  };
}
