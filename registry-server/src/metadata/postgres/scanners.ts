// The scanners area of the PostgreSQL metadata store (ScannerMetadata): its statements, bound to
// the store's connections by store.ts. Rows and the listing are in rows/scanners.ts;
// sqlite/scanners.ts is the same area on SQLite.

import type { ScannerMetadata, ScannerRegistrationRecord } from "../scanner-store.ts";
import { defaultCondition, SCANNER_COLUMNS, scannerListing, toScanner, type ScannerRow } from "../rows/scanners.ts";
import { required } from "../rows/sql.ts";
import { conflict, isUniqueViolation, listing, type Db, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

/** A name or URL taken as a ConflictError; anything else as it is. */
function taken(error: unknown, name: string | undefined, url: string | undefined): unknown {
  if (isUniqueViolation(error, "scanner_registrations_url_key")) {
    return conflict(
      error,
      "scanner_registrations_url_key",
      `a scanner registration with url ${url ?? ""} already exists`,
    );
  }
  return conflict(error, "scanner_registrations_name_key", `a scanner registration named ${name ?? ""} already exists`);
}

async function getScanner(db: Db, uuid: string): Promise<ScannerRegistrationRecord | undefined> {
  const row = await db.row<ScannerRow>(`SELECT ${SCANNER_COLUMNS} FROM scanner_registrations WHERE uuid = $1`, uuid);
  return row && toScanner(row, POSTGRES);
}

export function scannerArea(read: Run, write: Run): ScannerMetadata {
  return {
    create: (registration, rule, at) =>
      write(async (db) => {
        try {
          const row = await db.row<ScannerRow>(
            `INSERT INTO scanner_registrations (uuid, name, description, url, disabled, is_default, auth,
               sealed_credential, skip_cert_verify, use_internal_addr, immutable, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, ${defaultCondition(rule)}, $6, $7, $8, $9, $10, $11, $11)
               RETURNING ${SCANNER_COLUMNS}`,
            registration.uuid,
            registration.name,
            registration.description,
            registration.url,
            registration.disabled,
            registration.auth,
            registration.sealedCredential ?? null,
            registration.skipCertVerify,
            registration.useInternalAddr,
            registration.immutable,
            at,
          );
          return toScanner(required(row, "INSERT INTO scanner_registrations"), POSTGRES);
        } catch (error) {
          throw taken(error, registration.name, registration.url);
        }
      }),
    get: (uuid) => read((db) => getScanner(db, uuid)),
    getByUrl: (url) =>
      read(async (db) => {
        const row = await db.row<ScannerRow>(
          `SELECT ${SCANNER_COLUMNS} FROM scanner_registrations WHERE url = $1`,
          url,
        );
        return row && toScanner(row, POSTGRES);
      }),
    getDefault: () =>
      read(async (db) => {
        const row = await db.row<ScannerRow>(`SELECT ${SCANNER_COLUMNS} FROM scanner_registrations WHERE is_default`);
        return row && toScanner(row, POSTGRES);
      }),
    list: (filter, window) =>
      read((db) =>
        listing(db, scannerListing(POSTGRES, filter), window, (row: ScannerRow) => toScanner(row, POSTGRES)),
      ),
    update: (uuid, changes, at) =>
      write(async (db) => {
        const current = await getScanner(db, uuid);
        if (!current) return undefined;
        const sealed =
          changes.sealedCredential === undefined ? current.sealedCredential : (changes.sealedCredential ?? undefined);
        try {
          const row = await db.row<ScannerRow>(
            `UPDATE scanner_registrations SET name = $1, description = $2, url = $3, disabled = $4, auth = $5,
               sealed_credential = $6, skip_cert_verify = $7, use_internal_addr = $8, updated_at = $9
               WHERE uuid = $10 RETURNING ${SCANNER_COLUMNS}`,
            changes.name ?? current.name,
            changes.description ?? current.description,
            changes.url ?? current.url,
            changes.disabled ?? current.disabled,
            changes.auth ?? current.auth,
            sealed ?? null,
            changes.skipCertVerify ?? current.skipCertVerify,
            changes.useInternalAddr ?? current.useInternalAddr,
            at,
            uuid,
          );
          return row && toScanner(row, POSTGRES);
        } catch (error) {
          throw taken(error, changes.name, changes.url);
        }
      }),
    setDefault: (uuid) =>
      write(async (db) => {
        const current = await getScanner(db, uuid);
        if (!current) return "missing" as const;
        if (current.disabled) return "disabled" as const;
        // The old mark goes first: the schema admits one default at a time.
        await db.run("UPDATE scanner_registrations SET is_default = false WHERE is_default AND uuid <> $1", uuid);
        await db.run("UPDATE scanner_registrations SET is_default = true WHERE uuid = $1", uuid);
        return "done" as const;
      }),
    delete: (uuid) =>
      write(async (db) => (await db.run("DELETE FROM scanner_registrations WHERE uuid = $1", uuid)) > 0),
  };
}
