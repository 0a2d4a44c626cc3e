// The users area's rows (UserMetadata in identity-store.ts), as both backends read them, and the
// listing of users with its filter.

import type { UserRecord } from "../identity-store.ts";
import {
  Conditions,
  type Dialect,
  type ListingQuery,
  type RowReader,
  type StoredBool,
  type StoredTime,
} from "./sql.ts";

export interface UserRow {
  id: number;
  username: string;
  email: string;
  realname: string;
  comment: string;
  password_hash: string;
  sysadmin: StoredBool;
  created_at: StoredTime;
  updated_at: StoredTime;
}

export const USER_COLUMNS = "id, username, email, realname, comment, password_hash, sysadmin, created_at, updated_at";

export function toUser(row: UserRow, r: RowReader): UserRecord {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    realname: row.realname,
    comment: row.comment,
    passwordHash: row.password_hash,
    sysadmin: r.flag(row.sysadmin),
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
  };
}

/** Users by id; `username` filters by substring. */
export function userListing<V>(d: Dialect<V>, filter: { username?: string }): ListingQuery<V> {
  const where = new Conditions(d);
  if (filter.username !== undefined) where.contains("username", filter.username);
  return { columns: USER_COLUMNS, from: "users", where, order: "id" };
}
