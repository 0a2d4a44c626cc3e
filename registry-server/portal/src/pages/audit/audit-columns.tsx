// The columns of an audit log table, the same on the audit page and in a project's logs. Each
// page brings its own words (its catalogue words some of them differently, in French above all).

import type { Column } from "../../components/data-table.tsx";

/** One entry of Harbor's /auditlog-exts and /projects/{name}/auditlog-exts. */
export interface AuditEntry {
  readonly id: number;
  readonly username: string;
  readonly resource: string;
  readonly resource_type: string;
  readonly operation: string;
  readonly op_time: string;
  readonly operation_result?: boolean;
}

/** The words the columns need, which both pages' catalogues hold under these keys. */
export type AuditWord = "time" | "operation" | "resourceType" | "resource" | "result" | "succeeded" | "failed";

export interface AuditColumnsOptions {
  readonly t: (key: AuditWord) => string;
  /** The user column's header (the catalogues name it differently). */
  readonly userHeader: string;
  readonly dateTime: (iso: string) => string;
  /** How an operation reads; as Harbor wrote it unless given. */
  readonly operation?: (operation: string) => string;
}

export function auditColumns({
  t,
  userHeader,
  dateTime,
  operation = (op) => op,
}: AuditColumnsOptions): Array<Column<AuditEntry>> {
  return [
    { header: t("time"), cell: (entry) => dateTime(entry.op_time) },
    { header: userHeader, cell: (entry) => entry.username },
    { header: t("operation"), cell: (entry) => operation(entry.operation) },
    { header: t("resourceType"), cell: (entry) => entry.resource_type },
    { header: t("resource"), cell: (entry) => <code>{entry.resource}</code> },
    {
      header: t("result"),
      cell: (entry) =>
        entry.operation_result === false ? (
          <span class="badge badge-critical">{t("failed")}</span>
        ) : (
          <span class="badge badge-ok">{t("succeeded")}</span>
        ),
    },
  ];
}
