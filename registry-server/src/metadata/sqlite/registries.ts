// The registries area of the SQLite metadata store. Its table comes from the third schema step in
// sqlite-store.ts; this file holds the queries, and sqlite-store.ts wires them to its connections
// and transactions, as it does the identity queries.

import type { SQLInputValue } from "node:sqlite";
import { ConflictError, type Listing, type Window } from "../identity-store.ts";
import type {
  NewRegistry,
  RegistryChanges,
  RegistryFilter,
  RegistryMetadata,
  RegistryRecord,
  StoredCredential,
} from "../registry-store.ts";
import { Db } from "./statements.ts";

interface RegistryRow {
  id: number;
  name: string;
  type: string;
  url: string;
  description: string;
  insecure: number;
  credential_type: string | null;
  access_key: string | null;
  sealed_secret: string | null;
  ca_certificate: string | null;
  status: string;
  created_at: number;
  updated_at: number;
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
    insecure: row.insecure === 1,
    ...(credential && { credential }),
    ...(row.ca_certificate !== null && { caCertificate: row.ca_certificate }),
    status: row.status,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function conflict(error: unknown, name: string | undefined): unknown {
  const message = error instanceof Error ? error.message : "";
  return /UNIQUE constraint failed: registries\.name/.test(message)
    ? new ConflictError(`registry ${name ?? ""} already exists`)
    : error;
}

/** The registries queries on one connection, synchronous. */
export class RegistryQueries extends Db {
  create(registry: NewRegistry, at: Date): RegistryRecord {
    try {
      const row = this.row<RegistryRow>(
        `INSERT INTO registries (name, type, url, description, insecure, credential_type, access_key, sealed_secret,
           ca_certificate, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           RETURNING ${COLUMNS}`,
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
      if (!row) throw new Error("INSERT INTO registries returned no row");
      return toRegistry(row);
    } catch (error) {
      throw conflict(error, registry.name);
    }
  }

  get(id: number): RegistryRecord | undefined {
    const row = this.row<RegistryRow>(`SELECT ${COLUMNS} FROM registries WHERE id = ?`, id);
    return row && toRegistry(row);
  }

  getByName(name: string): RegistryRecord | undefined {
    const row = this.row<RegistryRow>(`SELECT ${COLUMNS} FROM registries WHERE name = ?`, name);
    return row && toRegistry(row);
  }

  list(filter: RegistryFilter, window: Window): Listing<RegistryRecord> {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    const match = (column: string, term: { value: string; fuzzy: boolean } | undefined): void => {
      if (!term) return;
      where.push(term.fuzzy ? `instr(${column}, ?) > 0` : `${column} = ?`);
      params.push(term.value);
    };
    match("name", filter.name);
    match("url", filter.url);
    if (filter.type !== undefined) match("type", { value: filter.type, fuzzy: false });
    const clause = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
    const items = this.rows<RegistryRow>(
      `SELECT ${COLUMNS} FROM registries ${clause} ORDER BY id LIMIT ? OFFSET ?`,
      ...params,
      Math.max(0, Math.floor(window.limit)),
      Math.max(0, Math.floor(window.offset)),
    ).map(toRegistry);
    const total = this.row<{ n: number }>(`SELECT count(*) AS n FROM registries ${clause}`, ...params)?.n ?? 0;
    return { items, total };
  }

  update(id: number, changes: RegistryChanges, at: Date): RegistryRecord | undefined {
    const current = this.get(id);
    if (!current) return undefined;
    const credential = changes.credential === undefined ? current.credential : (changes.credential ?? undefined);
    const ca = changes.caCertificate === undefined ? current.caCertificate : (changes.caCertificate ?? undefined);
    try {
      const row = this.row<RegistryRow>(
        `UPDATE registries SET name = ?, type = ?, url = ?, description = ?, insecure = ?, credential_type = ?,
           access_key = ?, sealed_secret = ?, ca_certificate = ?, status = ?, updated_at = ?
           WHERE id = ? RETURNING ${COLUMNS}`,
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
      return row && toRegistry(row);
    } catch (error) {
      throw conflict(error, changes.name);
    }
  }

  setStatus(id: number, status: string): void {
    this.run("UPDATE registries SET status = ? WHERE id = ?", status, id);
  }

  delete(id: number): boolean {
    return this.run("DELETE FROM registries WHERE id = ?", id) > 0;
  }

  projectsUsing(id: number): number[] {
    return this.rows<{ id: number }>("SELECT id FROM projects WHERE registry_id = ? ORDER BY id", id).map((r) => r.id);
  }
}

type RegistryRun = <T>(query: (queries: RegistryQueries) => T) => Promise<T>;

/** The registries area, with reads going through `read` and writes through `write`. */
export function bindRegistryArea(read: RegistryRun, write: RegistryRun): RegistryMetadata {
  return {
    create: (registry, at) => write((q) => q.create(registry, at)),
    get: (id) => read((q) => q.get(id)),
    getByName: (name) => read((q) => q.getByName(name)),
    list: (filter, window) => read((q) => q.list(filter, window)),
    update: (id, changes, at) => write((q) => q.update(id, changes, at)),
    setStatus: (id, status) => write((q) => q.setStatus(id, status)),
    delete: (id) => write((q) => q.delete(id)),
    projectsUsing: (id) => read((q) => q.projectsUsing(id)),
  };
}
