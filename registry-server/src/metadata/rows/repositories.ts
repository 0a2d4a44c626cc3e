// The repositories area's rows (RepositoryMetadata in metadata-store.ts), as both backends read
// them, and the listing of a project's repositories. The management API's view of repositories
// (ids, descriptions) is in artifacts.ts.

import type { RepositorySummary } from "../metadata-store.ts";
import { Conditions, type Dialect, type ListingQuery, type RowReader, type StoredTime } from "./sql.ts";

export interface RepositorySummaryRow {
  name: string;
  created_at: StoredTime;
  manifests: number;
}

export function toRepositorySummary(row: RepositorySummaryRow, r: RowReader): RepositorySummary {
  return { name: row.name, manifestCount: row.manifests, createdAt: r.date(row.created_at) };
}

/** The repositories named `<project>/…`, with `contains` in the name when given, in byte order. */
export function projectRepositories<V>(d: Dialect<V>, project: string, contains: string | undefined): ListingQuery<V> {
  const where = new Conditions(d).inProject("name", project);
  if (contains !== undefined) where.contains("name", contains);
  return {
    columns: "name, created_at, (SELECT count(*) FROM manifests m WHERE m.repository = r.name) AS manifests",
    from: "repositories r",
    where,
    order: "name",
  };
}
