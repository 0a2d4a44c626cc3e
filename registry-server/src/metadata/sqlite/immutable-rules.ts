// The immutable rules area of the SQLite metadata store (ImmutableRuleMetadata): its statements,
// bound to the store's connections by store.ts. Rows and the listing are in
// rows/immutable-rules.ts; postgres/immutable-rules.ts is the same area on PostgreSQL.

import type { ImmutableRuleMetadata } from "../lifecycle-store.ts";
import {
  IMMUTABLE_RULE_COLUMNS,
  immutableRuleListing,
  toImmutableRule,
  type ImmutableRuleRow,
} from "../rows/immutable-rules.ts";
import { required } from "../rows/sql.ts";
import { SQLITE } from "./dialect.ts";
import { listing, type Run } from "./statements.ts";

export function immutableRuleArea(read: Run, write: Run): ImmutableRuleMetadata {
  return {
    create: (projectId, rule, at) =>
      write((db) => {
        const row = db.row<ImmutableRuleRow>(
          `INSERT INTO immutable_rules (project_id, disabled, priority, rule, created_at) VALUES (?, ?, ?, ?, ?)
             RETURNING ${IMMUTABLE_RULE_COLUMNS}`,
          projectId,
          rule.disabled ? 1 : 0,
          rule.priority,
          rule.rule,
          at.getTime(),
        );
        return toImmutableRule(required(row, "insert into immutable_rules"), SQLITE);
      }),
    get: (id) =>
      read((db) => {
        const row = db.row<ImmutableRuleRow>(`SELECT ${IMMUTABLE_RULE_COLUMNS} FROM immutable_rules WHERE id = ?`, id);
        return row && toImmutableRule(row, SQLITE);
      }),
    list: (projectId, window) =>
      read((db) =>
        listing(db, immutableRuleListing(SQLITE, projectId), window, (row: ImmutableRuleRow) =>
          toImmutableRule(row, SQLITE),
        ),
      ),
    update: (projectId, id, changes) =>
      write((db) => {
        const row = db.row<ImmutableRuleRow>(
          `UPDATE immutable_rules SET
             disabled = coalesce(?, disabled), priority = coalesce(?, priority), rule = coalesce(?, rule)
             WHERE project_id = ? AND id = ? RETURNING ${IMMUTABLE_RULE_COLUMNS}`,
          changes.disabled === undefined ? null : changes.disabled ? 1 : 0,
          changes.priority ?? null,
          changes.rule ?? null,
          projectId,
          id,
        );
        return row && toImmutableRule(row, SQLITE);
      }),
    delete: (projectId, id) =>
      write((db) => db.run("DELETE FROM immutable_rules WHERE project_id = ? AND id = ?", projectId, id) > 0),
  };
}
