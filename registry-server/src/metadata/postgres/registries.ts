// The registries area of the PostgreSQL metadata store (RegistryMetadata): its statements, bound
// to the store's connections by store.ts. Rows and the listing are in rows/registries.ts;
// sqlite/registries.ts is the same area on SQLite.

import type { RegistryMetadata, RegistryRecord } from "../registry-store.ts";
import { REGISTRY_COLUMNS, registryListing, toRegistry, type RegistryRow } from "../rows/registries.ts";
import { required } from "../rows/sql.ts";
import { conflict, listing, type Db, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

function nameTaken(error: unknown, name: string | undefined): unknown {
  return conflict(error, "registries_name_key", `registry ${name ?? ""} already exists`);
}

async function getRegistry(db: Db, id: number): Promise<RegistryRecord | undefined> {
  const row = await db.row<RegistryRow>(`SELECT ${REGISTRY_COLUMNS} FROM registries WHERE id = $1`, id);
  return row && toRegistry(row, POSTGRES);
}

export function registryArea(read: Run, write: Run): RegistryMetadata {
  return {
    create: (registry, at) =>
      write(async (db) => {
        try {
          const row = await db.row<RegistryRow>(
            `INSERT INTO registries (name, type, url, description, insecure, credential_type, access_key,
               sealed_secret, ca_certificate, status, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING ${REGISTRY_COLUMNS}`,
            registry.name,
            registry.type,
            registry.url,
            registry.description,
            registry.insecure,
            registry.credential?.type ?? null,
            registry.credential?.accessKey ?? null,
            registry.credential?.sealedSecret ?? null,
            registry.caCertificate ?? null,
            registry.status,
            at,
          );
          return toRegistry(required(row, "INSERT INTO registries"), POSTGRES);
        } catch (error) {
          throw nameTaken(error, registry.name);
        }
      }),
    get: (id) => read((db) => getRegistry(db, id)),
    getByName: (name) =>
      read(async (db) => {
        const row = await db.row<RegistryRow>(`SELECT ${REGISTRY_COLUMNS} FROM registries WHERE name = $1`, name);
        return row && toRegistry(row, POSTGRES);
      }),
    list: (filter, window) =>
      read((db) =>
        listing(db, registryListing(POSTGRES, filter), window, (row: RegistryRow) => toRegistry(row, POSTGRES)),
      ),
    update: (id, changes, at) =>
      write(async (db) => {
        const current = await getRegistry(db, id);
        if (!current) return undefined;
        const credential = changes.credential === undefined ? current.credential : (changes.credential ?? undefined);
        const ca = changes.caCertificate === undefined ? current.caCertificate : (changes.caCertificate ?? undefined);
        try {
          const row = await db.row<RegistryRow>(
            `UPDATE registries SET name = $1, type = $2, url = $3, description = $4, insecure = $5,
               credential_type = $6, access_key = $7, sealed_secret = $8, ca_certificate = $9, status = $10,
               updated_at = $11
               WHERE id = $12 RETURNING ${REGISTRY_COLUMNS}`,
            changes.name ?? current.name,
            changes.type ?? current.type,
            changes.url ?? current.url,
            changes.description ?? current.description,
            changes.insecure ?? current.insecure,
            credential?.type ?? null,
            credential?.accessKey ?? null,
            credential?.sealedSecret ?? null,
            ca ?? null,
            changes.status ?? current.status,
            at,
            id,
          );
          return row && toRegistry(row, POSTGRES);
        } catch (error) {
          throw nameTaken(error, changes.name);
        }
      }),
    setStatus: (id, status) =>
      write(async (db) => {
        await db.run("UPDATE registries SET status = $1 WHERE id = $2", status, id);
      }),
    delete: (id) => write(async (db) => (await db.run("DELETE FROM registries WHERE id = $1", id)) > 0),
    projectsUsing: (id) =>
      read(async (db) =>
        (await db.rows<{ id: number }>("SELECT id FROM projects WHERE registry_id = $1 ORDER BY id", id)).map(
          (row) => row.id,
        ),
      ),
  };
}
