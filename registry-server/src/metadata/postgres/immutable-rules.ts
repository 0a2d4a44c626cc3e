// The immutable rules area of the PostgreSQL metadata store (ImmutableRuleMetadata): its
// statements, bound to the store's connections by store.ts. Rows and the listing are in
// rows/immutable-rules.ts; sqlite/immutable-rules.ts is the same area on SQLite.

import type { ImmutableRuleMetadata } from "../lifecycle-store.ts";
import {
  IMMUTABLE_RULE_COLUMNS,
  immutableRuleListing,
  toImmutableRule,
  type ImmutableRuleRow,
} from "../rows/immutable-rules.ts";
import { required } from "../rows/sql.ts";
import { listing, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

export function immutableRuleArea(read: Run, write: Run): ImmutableRuleMetadata {
  return {
    create: (projectId, rule, at) =>
      write(async (db) => {
        const row = await db.row<ImmutableRuleRow>(
          `INSERT INTO immutable_rules (project_id, disabled, priority, rule, created_at) VALUES ($1, $2, $3, $4, $5)
             RETURNING ${IMMUTABLE_RULE_COLUMNS}`,
          projectId,
          rule.disabled,
          rule.priority,
          rule.rule,
          at,
        );
        return toImmutableRule(required(row, "insert into immutable_rules"), POSTGRES);
      }),
    get: (id) =>
      read(async (db) => {
        const row = await db.row<ImmutableRuleRow>(
          `SELECT ${IMMUTABLE_RULE_COLUMNS} FROM immutable_rules WHERE id = $1`,
          id,
        );
        return row && toImmutableRule(row, POSTGRES);
      }),
    list: (projectId, window) =>
      read((db) =>
        listing(db, immutableRuleListing(POSTGRES, projectId), window, (row: ImmutableRuleRow) =>
          toImmutableRule(row, POSTGRES),
        ),
      ),
    update: (projectId, id, changes) =>
      write(async (db) => {
        const row = await db.row<ImmutableRuleRow>(
          `UPDATE immutable_rules SET
             disabled = coalesce($1, disabled), priority = coalesce($2, priority), rule = coalesce($3, rule)
             WHERE project_id = $4 AND id = $5 RETURNING ${IMMUTABLE_RULE_COLUMNS}`,
          changes.disabled ?? null,
          changes.priority ?? null,
          changes.rule ?? null,
          projectId,
          id,
        );
        return row && toImmutableRule(row, POSTGRES);
      }),
    delete: (projectId, id) =>
      write(
        async (db) =>
          (await db.run("DELETE FROM immutable_rules WHERE project_id = $1 AND id = $2", projectId, id)) > 0,
      ),
  };
}
