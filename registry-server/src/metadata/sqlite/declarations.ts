// The declarations area of the SQLite metadata store (DeclarationMetadata): its statements, bound
// to the store's connections by store.ts. Rows and the listing are in rows/declarations.ts;
// postgres/declarations.ts is the same area on PostgreSQL.

import type { DeclarationMetadata } from "../declaration-store.ts";
import { DECLARATION_COLUMNS, declarationListing, toDeclaration, type DeclarationRow } from "../rows/declarations.ts";
import { required } from "../rows/sql.ts";
import { SQLITE } from "./dialect.ts";
import { listing, type Run } from "./statements.ts";

export function declarationArea(read: Run, write: Run): DeclarationMetadata {
  return {
    put: (declaration, at) =>
      write((db) => {
        const projectId = declaration.projectId ?? null;
        if (projectId !== null && db.count("SELECT count(*) AS n FROM projects WHERE id = ?", projectId) === 0) {
          return undefined;
        }
        const existed =
          db.count(
            "SELECT count(*) AS n FROM declarations WHERE kind = ? AND key = ?",
            declaration.kind,
            declaration.key,
          ) > 0;
        const row = db.row<DeclarationRow>(
          `INSERT INTO declarations (kind, key, project_id, stack, resource, updated_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (kind, key) DO UPDATE SET project_id = excluded.project_id, stack = excluded.stack,
               resource = excluded.resource, updated_at = excluded.updated_at
             RETURNING ${DECLARATION_COLUMNS}`,
          declaration.kind,
          declaration.key,
          projectId,
          declaration.stack,
          declaration.resource,
          at.getTime(),
        );
        return { record: toDeclaration(required(row, "INSERT INTO declarations"), SQLITE), created: !existed };
      }),
    get: (kind, key) =>
      read((db) => {
        const row = db.row<DeclarationRow>(
          `SELECT ${DECLARATION_COLUMNS} FROM declarations WHERE kind = ? AND key = ?`,
          kind,
          key,
        );
        return row && toDeclaration(row, SQLITE);
      }),
    list: (filter, window) =>
      read((db) =>
        listing(db, declarationListing(SQLITE, filter), window, (row: DeclarationRow) => toDeclaration(row, SQLITE)),
      ),
    delete: (kind, key) => write((db) => db.run("DELETE FROM declarations WHERE kind = ? AND key = ?", kind, key) > 0),
  };
}
