// The robots area's rows (RobotMetadata in identity-store.ts), as both backends read them: robot
// accounts with their permissions (JSON), and the listing of robots with its filter.

import type { RobotFilter, RobotPermission, RobotRecord } from "../identity-store.ts";
import {
  Conditions,
  type Dialect,
  type ListingQuery,
  type RowReader,
  type StoredBool,
  type StoredJson,
  type StoredTime,
} from "./sql.ts";

export interface RobotRow {
  id: number;
  name: string;
  description: string;
  level: string;
  project_id: number | null;
  duration: number;
  expires_at: number;
  disabled: StoredBool;
  secret_hash: string;
  permissions: StoredJson<RobotPermission[]>;
  created_at: StoredTime;
  updated_at: StoredTime;
}

export const ROBOT_COLUMNS =
  "id, name, description, level, project_id, duration, expires_at, disabled, secret_hash, permissions, created_at, updated_at";

export function toRobot(row: RobotRow, r: RowReader): RobotRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    level: row.level as RobotRecord["level"],
    ...(row.project_id !== null && { projectId: row.project_id }),
    duration: row.duration,
    expiresAt: row.expires_at,
    disabled: r.flag(row.disabled),
    secretHash: row.secret_hash,
    permissions: r.json(row.permissions),
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
  };
}

/** Robots by id under `filter`. */
export function robotListing<V>(d: Dialect<V>, filter: RobotFilter): ListingQuery<V> {
  const where = new Conditions(d);
  if (filter.level !== undefined) where.equals("level", filter.level);
  if (filter.projectId !== undefined) where.equals("project_id", filter.projectId);
  if (filter.name !== undefined) where.contains("name", filter.name);
  return { columns: ROBOT_COLUMNS, from: "robots", where, order: "id" };
}
