// The declarations area of the PostgreSQL metadata store (DeclarationMetadata): its statements,
// bound to the store's connections by store.ts. Rows and the listing are in rows/declarations.ts;
// sqlite/declarations.ts is the same area on SQLite.

import type { DeclarationMetadata } from "../declaration-store.ts";
import { DECLARATION_COLUMNS, declarationListing, toDeclaration, type DeclarationRow } from "../rows/declarations.ts";
import { required } from "../rows/sql.ts";
import { listing, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

export function declarationArea(read: Run, write: Run): DeclarationMetadata {
  return {
    put: (declaration, at) =>
      write(async (db) => {
        const projectId = declaration.projectId ?? null;
        // FOR KEY SHARE: the project cannot be deleted under the row until this commits.
        if (projectId !== null && !(await db.row("SELECT 1 FROM projects WHERE id = $1 FOR KEY SHARE", projectId))) {
          return undefined;
        }
        // xmax is 0 in a row this statement inserted, and the updating transaction's id otherwise.
        const row = await db.row<DeclarationRow & { inserted: boolean }>(
          `INSERT INTO declarations (kind, key, project_id, stack, resource, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (kind, key) DO UPDATE SET project_id = excluded.project_id, stack = excluded.stack,
               resource = excluded.resource, updated_at = excluded.updated_at
             RETURNING ${DECLARATION_COLUMNS}, (xmax = 0) AS inserted`,
          declaration.kind,
          declaration.key,
          projectId,
          declaration.stack,
          declaration.resource,
          at,
        );
        const written = required(row, "INSERT INTO declarations");
        return { record: toDeclaration(written, POSTGRES), created: written.inserted };
      }),
    get: (kind, key) =>
      read(async (db) => {
        const row = await db.row<DeclarationRow>(
          `SELECT ${DECLARATION_COLUMNS} FROM declarations WHERE kind = $1 AND key = $2`,
          kind,
          key,
        );
        return row && toDeclaration(row, POSTGRES);
      }),
    list: (filter, window) =>
      read((db) =>
        listing(db, declarationListing(POSTGRES, filter), window, (row: DeclarationRow) =>
          toDeclaration(row, POSTGRES),
        ),
      ),
    delete: (kind, key) =>
      write(async (db) => (await db.run("DELETE FROM declarations WHERE kind = $1 AND key = $2", kind, key)) > 0),
  };
}
