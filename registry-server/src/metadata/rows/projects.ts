// The projects area's rows (ProjectMetadataArea in identity-store.ts), as both backends read them:
// projects with their metadata (JSON), the listing of projects with its filter, and the usage
// figures the metrics read.

import type { ProjectFilter, ProjectRecord, ProjectUsage } from "../identity-store.ts";
import {
  Conditions,
  type Dialect,
  type ListingQuery,
  type RowReader,
  type StoredJson,
  type StoredTime,
} from "./sql.ts";

export interface ProjectRow {
  id: number;
  name: string;
  owner_id: number;
  metadata: StoredJson<Record<string, string>>;
  storage_limit: number;
  registry_id: number | null;
  created_at: StoredTime;
  updated_at: StoredTime;
}

export const PROJECT_COLUMNS = "id, name, owner_id, metadata, storage_limit, registry_id, created_at, updated_at";

export function toProject(row: ProjectRow, r: RowReader): ProjectRecord {
  return {
    id: row.id,
    name: row.name,
    ownerId: row.owner_id,
    metadata: r.json(row.metadata),
    storageLimit: row.storage_limit,
    ...(row.registry_id !== null && { registryId: row.registry_id }),
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
  };
}

/** Projects by name under `filter`. */
export function projectListing<V>(d: Dialect<V>, filter: ProjectFilter): ListingQuery<V> {
  const where = new Conditions(d);
  if (filter.name !== undefined) where.contains("name", filter.name);
  if (filter.public === true) where.add(`${d.jsonText("metadata", "public")} = 'true'`);
  if (filter.public === false) where.add(`coalesce(${d.jsonText("metadata", "public")}, '') <> 'true'`);
  const userId = filter.memberUserId;
  if (userId !== undefined) {
    where.add(
      (p) => `EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = projects.id AND m.user_id = ${p(userId)})`,
    );
  }
  where.among("id", filter.ids);
  return { columns: PROJECT_COLUMNS, from: "projects", where, order: "name" };
}

export interface ProjectUsageRow {
  name: string;
  storage_used: number;
  repositories: number;
  members: number;
}

export function toProjectUsage(row: ProjectUsageRow): ProjectUsage {
  return { name: row.name, storageUsed: row.storage_used, repositories: row.repositories, members: row.members };
}
