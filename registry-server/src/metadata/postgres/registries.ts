// The registries area of the PostgreSQL metadata store (upstream endpoints): the queries, written
// against `Db`, bound to the store's connections by postgres-store.ts. The table comes from
// postgres-schema.ts; the semantics are the SQLite store's (sqlite-registries.ts).

import { OldConditions, conflict, oldListing, type Db, type Run } from "./connection.ts";
import type { RegistryMetadata, RegistryRecord, StoredCredential } from "../registry-store.ts";

interface RegistryRow {
  id: number;
  name: string;
  type: string;
  url: string;
  description: string;
  insecure: boolean;
  credential_type: string | null;
  access_key: string | null;
  sealed_secret: string | null;
  ca_certificate: string | null;
  status: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  "id, name, type, url, description, insecure, credential_type, access_key, sealed_secret, ca_certificate, status, created_at, updated_at";

function toRegistry(row: RegistryRow): RegistryRecord {
  const credential: StoredCredential | undefined =
    row.credential_type !== null && row.access_key !== null && row.sealed_secret !== null
      ? {
          type: row.credential_type === "oauth" ? "oauth" : "basic",
          accessKey: row.access_key,
          sealedSecret: row.sealed_secret,
        }
      : undefined;
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    url: row.url,
    description: row.description,
    insecure: row.insecure,
    ...(credential && { credential }),
    ...(row.ca_certificate !== null && { caCertificate: row.ca_certificate }),
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function nameTaken(error: unknown, name: string | undefined): unknown {
  return conflict(error, "registries_name_key", `registry ${name ?? ""} already exists`);
}

async function getRegistry(db: Db, id: number): Promise<RegistryRecord | undefined> {
  const row = await db.row<RegistryRow>(`SELECT ${COLUMNS} FROM registries WHERE id = $1`, id);
  return row && toRegistry(row);
}

export function registryArea(read: Run, write: Run): RegistryMetadata {
  return {
    create: (registry, at) =>
      write(async (db) => {
        try {
          const row = await db.row<RegistryRow>(
            `INSERT INTO registries (name, type, url, description, insecure, credential_type, access_key,
               sealed_secret, ca_certificate, status, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING ${COLUMNS}`,
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
          if (!row) throw new Error("INSERT INTO registries returned no row");
          return toRegistry(row);
        } catch (error) {
          throw nameTaken(error, registry.name);
        }
      }),
    get: (id) => read((db) => getRegistry(db, id)),
    getByName: (name) =>
      read(async (db) => {
        const row = await db.row<RegistryRow>(`SELECT ${COLUMNS} FROM registries WHERE name = $1`, name);
        return row && toRegistry(row);
      }),
    list: (filter, window) =>
      read((db) => {
        const where = new OldConditions();
        const match = (column: string, term: { value: string; fuzzy: boolean } | undefined): void => {
          if (!term) return;
          where.add((p) => (term.fuzzy ? `strpos(${column}, ${p(term.value)}) > 0` : `${column} = ${p(term.value)}`));
        };
        match("name", filter.name);
        match("url", filter.url);
        if (filter.type !== undefined) match("type", { value: filter.type, fuzzy: false });
        return oldListing(db, { table: "registries", columns: COLUMNS, where, order: "id" }, window, toRegistry);
      }),
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
               WHERE id = $12 RETURNING ${COLUMNS}`,
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
          return row && toRegistry(row);
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
