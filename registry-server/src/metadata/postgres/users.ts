// The users area of the PostgreSQL metadata store (UserMetadata): its statements, bound to the
// store's connections by store.ts. Rows and the listing are in rows/users.ts; sqlite/users.ts is
// the same area on SQLite.

import { ConflictError, type UserMetadata } from "../identity-store.ts";
import { required } from "../rows/sql.ts";
import { USER_COLUMNS, toUser, userListing, type UserRow } from "../rows/users.ts";
import { conflict, isUniqueViolation, listing, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

/** Users have two unique columns: the violated constraint says which name is taken. */
function userConflict(error: unknown, username: string | undefined, email: string | undefined): unknown {
  return isUniqueViolation(error, "users_email_key")
    ? new ConflictError(`email ${JSON.stringify(email)} is taken`, { cause: error })
    : conflict(error, "users_username_key", `user name ${JSON.stringify(username)} is taken`);
}

export function userArea(read: Run, write: Run): UserMetadata {
  return {
    create: (user, at) =>
      write(async (db) => {
        try {
          const row = await db.row<UserRow>(
            `INSERT INTO users (username, email, realname, comment, password_hash, sysadmin, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ${USER_COLUMNS}`,
            user.username,
            user.email,
            user.realname,
            user.comment,
            user.passwordHash,
            user.sysadmin,
            at,
          );
          return toUser(required(row, "insert into users"), POSTGRES);
        } catch (error) {
          throw userConflict(error, user.username, user.email);
        }
      }),
    get: (id) =>
      read(async (db) => {
        const row = await db.row<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, id);
        return row && toUser(row, POSTGRES);
      }),
    getByName: (username) =>
      read(async (db) => {
        const row = await db.row<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = $1`, username);
        return row && toUser(row, POSTGRES);
      }),
    list: (filter, window) =>
      read((db) => listing(db, userListing(POSTGRES, filter), window, (row: UserRow) => toUser(row, POSTGRES))),
    update: (id, changes, at) =>
      write(async (db) => {
        try {
          const row = await db.row<UserRow>(
            `UPDATE users SET
               email = coalesce($1, email), realname = coalesce($2, realname), comment = coalesce($3, comment),
               password_hash = coalesce($4, password_hash), sysadmin = coalesce($5, sysadmin), updated_at = $6
               WHERE id = $7 RETURNING ${USER_COLUMNS}`,
            changes.email ?? null,
            changes.realname ?? null,
            changes.comment ?? null,
            changes.passwordHash ?? null,
            changes.sysadmin ?? null,
            at,
            id,
          );
          return row && toUser(row, POSTGRES);
        } catch (error) {
          throw userConflict(error, undefined, changes.email);
        }
      }),
    // Memberships go with it through ON DELETE CASCADE.
    delete: (id) => write(async (db) => (await db.run("DELETE FROM users WHERE id = $1", id)) > 0),
  };
}
