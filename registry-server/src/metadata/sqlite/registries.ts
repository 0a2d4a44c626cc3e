// The registries area of the SQLite metadata store (RegistryMetadata): its statements, bound to the
// store's connections by store.ts. Rows and the listing are in rows/registries.ts;
// postgres/registries.ts is the same area on PostgreSQL.

import type { RegistryMetadata, RegistryRecord } from "../registry-store.ts";
import { REGISTRY_COLUMNS, registryListing, toRegistry, type RegistryRow } from "../rows/registries.ts";
import { required } from "../rows/sql.ts";
import { SQLITE } from "./dialect.ts";
import { conflict, listing, type Db, type Run } from "./statements.ts";

function nameTaken(error: unknown, name: string | undefined): unknown {
  return conflict(error, "registries.name", `registry ${name ?? ""} already exists`);
}

function getRegistry(db: Db, id: number): RegistryRecord | undefined {
  const row = db.row<RegistryRow>(`SELECT ${REGISTRY_COLUMNS} FROM registries WHERE id = ?`, id);
  return row && toRegistry(row, SQLITE);
}

export function registryArea(read: Run, write: Run): RegistryMetadata {
  return {
    create: (registry, at) =>
      write((db) => {
        try {
          const row = db.row<RegistryRow>(
            `INSERT INTO registries (name, type, url, description, insecure, credential_type, access_key,
               sealed_secret, ca_certificate, status, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${REGISTRY_COLUMNS}`,
            registry.name,
            registry.type,
            registry.url,
            registry.description,
            registry.insecure ? 1 : 0,
            registry.credential?.type ?? null,
            registry.credential?.accessKey ?? null,
            registry.credential?.sealedSecret ?? null,
            registry.caCertificate ?? null,
            registry.status,
            at.getTime(),
            at.getTime(),
          );
          return toRegistry(required(row, "INSERT INTO registries"), SQLITE);
        } catch (error) {
          throw nameTaken(error, registry.name);
        }
      }),
    get: (id) => read((db) => getRegistry(db, id)),
    getByName: (name) =>
      read((db) => {
        const row = db.row<RegistryRow>(`SELECT ${REGISTRY_COLUMNS} FROM registries WHERE name = ?`, name);
        return row && toRegistry(row, SQLITE);
      }),
    list: (filter, window) =>
      read((db) => listing(db, registryListing(SQLITE, filter), window, (row: RegistryRow) => toRegistry(row, SQLITE))),
    update: (id, changes, at) =>
      write((db) => {
        const current = getRegistry(db, id);
        if (!current) return undefined;
        const credential = changes.credential === undefined ? current.credential : (changes.credential ?? undefined);
        const ca = changes.caCertificate === undefined ? current.caCertificate : (changes.caCertificate ?? undefined);
        try {
          const row = db.row<RegistryRow>(
            `UPDATE registries SET name = ?, type = ?, url = ?, description = ?, insecure = ?,
               credential_type = ?, access_key = ?, sealed_secret = ?, ca_certificate = ?, status = ?,
               updated_at = ?
               WHERE id = ? RETURNING ${REGISTRY_COLUMNS}`,
            changes.name ?? current.name,
            changes.type ?? current.type,
            changes.url ?? current.url,
            changes.description ?? current.description,
            (changes.insecure ?? current.insecure) ? 1 : 0,
            credential?.type ?? null,
            credential?.accessKey ?? null,
            credential?.sealedSecret ?? null,
            ca ?? null,
            changes.status ?? current.status,
            at.getTime(),
            id,
          );
          return row && toRegistry(row, SQLITE);
        } catch (error) {
          throw nameTaken(error, changes.name);
        }
      }),
    setStatus: (id, status) =>
      write((db) => {
        db.run("UPDATE registries SET status = ? WHERE id = ?", status, id);
      }),
    delete: (id) => write((db) => db.run("DELETE FROM registries WHERE id = ?", id) > 0),
    projectsUsing: (id) =>
      read((db) =>
        db.rows<{ id: number }>("SELECT id FROM projects WHERE registry_id = ? ORDER BY id", id).map((row) => row.id),
      ),
  };
}
