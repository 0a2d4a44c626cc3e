// The registries area's rows (RegistryMetadata in registry-store.ts), as both backends read them:
// upstream endpoints with their sealed credential, and the listing of endpoints with its filter.

import type { RegistryFilter, RegistryRecord, StoredCredential } from "../registry-store.ts";
import {
  Conditions,
  type Dialect,
  type ListingQuery,
  type RowReader,
  type StoredBool,
  type StoredTime,
} from "./sql.ts";

export interface RegistryRow {
  id: number;
  name: string;
  type: string;
  url: string;
  description: string;
  insecure: StoredBool;
  credential_type: string | null;
  access_key: string | null;
  sealed_secret: string | null;
  ca_certificate: string | null;
  status: string;
  created_at: StoredTime;
  updated_at: StoredTime;
}

export const REGISTRY_COLUMNS =
  "id, name, type, url, description, insecure, credential_type, access_key, sealed_secret, ca_certificate, status, created_at, updated_at";

export function toRegistry(row: RegistryRow, r: RowReader): RegistryRecord {
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
    insecure: r.flag(row.insecure),
    ...(credential && { credential }),
    ...(row.ca_certificate !== null && { caCertificate: row.ca_certificate }),
    status: row.status,
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
  };
}

/** Endpoints by id under `filter`: names and URLs equal, or (fuzzy) containing the term, case-sensitively. */
export function registryListing<V>(d: Dialect<V>, filter: RegistryFilter): ListingQuery<V> {
  const where = new Conditions(d);
  const match = (column: string, term: { value: string; fuzzy: boolean } | undefined): void => {
    if (term?.fuzzy) where.contains(column, term.value);
    else if (term) where.equals(column, term.value);
  };
  match("name", filter.name);
  match("url", filter.url);
  if (filter.type !== undefined) where.equals("type", filter.type);
  return { columns: REGISTRY_COLUMNS, from: "registries", where, order: "id" };
}
