// The declarations area's rows (DeclarationMetadata in declaration-store.ts), as both backends
// read them, and their listing.

import type { DeclarationFilter, DeclarationRecord } from "../declaration-store.ts";
import { Conditions, type Dialect, type ListingQuery, type RowReader, type StoredTime } from "./sql.ts";

export interface DeclarationRow {
  kind: string;
  key: string;
  project_id: number | string | null;
  stack: string;
  resource: string;
  updated_at: StoredTime;
}

export const DECLARATION_COLUMNS = "kind, key, project_id, stack, resource, updated_at";

export function toDeclaration(row: DeclarationRow, r: RowReader): DeclarationRecord {
  return {
    kind: row.kind,
    key: row.key,
    ...(row.project_id !== null && { projectId: Number(row.project_id) }),
    stack: row.stack,
    resource: row.resource,
    updatedAt: r.date(row.updated_at),
  };
}

export function declarationListing<V>(d: Dialect<V>, filter: DeclarationFilter): ListingQuery<V> {
  const where = new Conditions(d);
  if (filter.kind !== undefined) where.equals("kind", filter.kind);
  if (filter.key !== undefined) where.equals("key", filter.key);
  where.among("project_id", filter.projectIds);
  return { columns: DECLARATION_COLUMNS, from: "declarations", where, order: "kind, key" };
}
