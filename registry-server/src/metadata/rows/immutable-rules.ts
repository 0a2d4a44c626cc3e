// The immutable rules area's rows (ImmutableRuleMetadata in lifecycle-store.ts), as both backends
// read them: a project's immutable tag rules, Harbor's JSON kept as text, and their listing.

import type { ImmutableRuleRecord } from "../lifecycle-store.ts";
import {
  Conditions,
  type Dialect,
  type ListingQuery,
  type RowReader,
  type StoredBool,
  type StoredTime,
} from "./sql.ts";

export interface ImmutableRuleRow {
  id: number;
  project_id: number;
  disabled: StoredBool;
  priority: number;
  rule: string;
  created_at: StoredTime;
}

export const IMMUTABLE_RULE_COLUMNS = "id, project_id, disabled, priority, rule, created_at";

export function toImmutableRule(row: ImmutableRuleRow, r: RowReader): ImmutableRuleRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    disabled: r.flag(row.disabled),
    priority: row.priority,
    rule: row.rule,
    createdAt: r.date(row.created_at),
  };
}

/** A project's rules by id. */
export function immutableRuleListing<V>(d: Dialect<V>, projectId: number): ListingQuery<V> {
  const where = new Conditions(d).equals("project_id", projectId);
  return { columns: IMMUTABLE_RULE_COLUMNS, from: "immutable_rules", where, order: "id" };
}
