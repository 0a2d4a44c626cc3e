// The body of a paged list: its error (with a retry), a loading notice until the first page
// arrives, then the rows and the pager. Takes what usePagedList and useLocalPagedList return.

import type { ComponentChildren } from "preact";
import type { Page } from "../api.ts";
import { DataTable, type DataTableProps } from "./data-table.tsx";
import { Pager } from "./pager.tsx";
import { ErrorMessage, Loading } from "./status.tsx";

/** The part of a paged list these components read. */
export interface PagedListState<T> {
  readonly data: Page<T> | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  readonly reload: () => void;
  readonly page: number;
  readonly pageSize: number;
  readonly setPage: (page: number) => void;
  /** Present when the list lets the reader choose the page size. */
  readonly setPageSize?: (size: number) => void;
}

export interface PagedViewProps<T> {
  readonly list: PagedListState<T>;
  /** Names the pager for screen readers. */
  readonly label: string;
  /** Keeps the page size fixed even when the list could change it. */
  readonly fixedPageSize?: boolean;
  /** Renders the page's rows. */
  readonly children: (items: T[]) => ComponentChildren;
}

/** A paged list whose rows the page renders itself. */
export function PagedView<T>({ list, label, fixedPageSize, children }: PagedViewProps<T>) {
  return (
    <>
      {list.error !== undefined && <ErrorMessage error={list.error} retry={list.reload} />}
      {list.loading && !list.data && <Loading />}
      {list.data && (
        <>
          {children(list.data.items)}
          <Pager
            label={label}
            page={list.page}
            pageSize={list.pageSize}
            total={list.data.total}
            onPage={list.setPage}
            onPageSize={fixedPageSize ? undefined : list.setPageSize}
          />
        </>
      )}
    </>
  );
}

export interface PagedTableProps<T> extends Omit<DataTableProps<T>, "rows"> {
  /** The caption names both the table and its pager. */
  readonly list: PagedListState<T>;
  /** Names the pager when the caption does not suit it. */
  readonly pagerLabel?: string;
  readonly fixedPageSize?: boolean;
  /** Shown between the table and the pager (a note on the rows). */
  readonly children?: ComponentChildren;
}

/** A paged list shown as a DataTable. */
export function PagedTable<T>({ list, pagerLabel, fixedPageSize, children, ...table }: PagedTableProps<T>) {
  return (
    <PagedView list={list} label={pagerLabel ?? table.caption} fixedPageSize={fixedPageSize}>
      {(items) => (
        <>
          <DataTable {...table} rows={items} />
          {children}
        </>
      )}
    </PagedView>
  );
}
