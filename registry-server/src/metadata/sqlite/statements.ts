// Prepared statements for one SQLite connection, each prepared once and reused, behind the small
// helpers every query class of the SQLite store uses.

import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";

export class StatementCache {
  readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  protected statement(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  protected row<R>(sql: string, ...params: SQLInputValue[]): R | undefined {
    return this.statement(sql).get(...params) as R | undefined;
  }

  protected rows<R>(sql: string, ...params: SQLInputValue[]): R[] {
    return this.statement(sql).all(...params) as R[];
  }

  /** Runs a write; returns how many rows it changed. */
  protected run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.statement(sql).run(...params).changes);
  }

  /** The `name` column of every row. */
  protected names(sql: string, ...params: SQLInputValue[]): string[] {
    return this.rows<{ name: string }>(sql, ...params).map((row) => row.name);
  }
}
