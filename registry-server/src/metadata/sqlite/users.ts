// The users area of the SQLite metadata store (UserMetadata): its statements, bound to the store's
// connections by store.ts. Rows and the listing are in rows/users.ts; postgres/users.ts is the
// same area on PostgreSQL.

import { ConflictError, type UserMetadata } from "../identity-store.ts";
import { required } from "../rows/sql.ts";
import { USER_COLUMNS, toUser, userListing, type UserRow } from "../rows/users.ts";
import { SQLITE } from "./dialect.ts";
import { conflict, isUniqueViolation, listing, type Run } from "./statements.ts";

/** Users have two unique columns: the violated one says which name is taken. */
function userConflict(error: unknown, username: string | undefined, email: string | undefined): unknown {
  return isUniqueViolation(error, "users.email")
    ? new ConflictError(`email ${JSON.stringify(email)} is taken`, { cause: error })
    : conflict(error, undefined, `user name ${JSON.stringify(username)} is taken`);
}

export function userArea(read: Run, write: Run): UserMetadata {
  return {
    create: (user, at) =>
      write((db) => {
        try {
          const row = db.row<UserRow>(
            `INSERT INTO users (username, email, realname, comment, password_hash, sysadmin, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${USER_COLUMNS}`,
            user.username,
            user.email,
            user.realname,
            user.comment,
            user.passwordHash,
            user.sysadmin ? 1 : 0,
            at.getTime(),
            at.getTime(),
          );
          return toUser(required(row, "insert into users"), SQLITE);
        } catch (error) {
          throw userConflict(error, user.username, user.email);
        }
      }),
    get: (id) =>
      read((db) => {
        const row = db.row<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`, id);
        return row && toUser(row, SQLITE);
      }),
    getByName: (username) =>
      read((db) => {
        const row = db.cachedRow<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = ?`, username);
        return row && toUser(row, SQLITE);
      }),
    list: (filter, window) =>
      read((db) => listing(db, userListing(SQLITE, filter), window, (row: UserRow) => toUser(row, SQLITE))),
    update: (id, changes, at) =>
      write((db) => {
        try {
          const row = db.row<UserRow>(
            `UPDATE users SET
               email = coalesce(?, email), realname = coalesce(?, realname), comment = coalesce(?, comment),
               password_hash = coalesce(?, password_hash), sysadmin = coalesce(?, sysadmin), updated_at = ?
               WHERE id = ? RETURNING ${USER_COLUMNS}`,
            changes.email ?? null,
            changes.realname ?? null,
            changes.comment ?? null,
            changes.passwordHash ?? null,
            changes.sysadmin === undefined ? null : changes.sysadmin ? 1 : 0,
            at.getTime(),
            id,
          );
          return row && toUser(row, SQLITE);
        } catch (error) {
          throw userConflict(error, undefined, changes.email);
        }
      }),
    // Memberships go with it through ON DELETE CASCADE.
    delete: (id) => write((db) => db.run("DELETE FROM users WHERE id = ?", id) > 0),
  };
}
