// A table of rows with a caption (its accessible name) and column headers; cells are whatever
// the page renders. Wide tables scroll inside their own box, so the page reflows at 200% zoom.

import type { ComponentChildren } from "preact";
import { common } from "../i18n/common.ts";
import { useT } from "../i18n/i18n.tsx";

export interface Column<T> {
  readonly header: string;
  readonly cell: (row: T) => ComponentChildren;
  /** Right-aligned figures. */
  readonly numeric?: boolean;
}

export interface DataTableProps<T> {
  readonly caption: string;
  readonly columns: ReadonlyArray<Column<T>>;
  readonly rows: readonly T[];
  readonly rowKey: (row: T) => string | number;
  /** Shown instead of an empty table. */
  readonly empty?: string;
}

export function DataTable<T>({ caption, columns, rows, rowKey, empty }: DataTableProps<T>) {
  const t = useT(common);
  if (rows.length === 0) return <p class="empty">{empty ?? t("empty")}</p>;
  return (
    <div class="table-scroll" role="region" aria-label={caption} tabIndex={0}>
      <table>
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column.header} scope="col" class={column.numeric ? "numeric" : undefined}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((column) => (
                <td key={column.header} class={column.numeric ? "numeric" : undefined}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
