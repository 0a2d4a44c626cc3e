// A Harbor list page by page, the page, its size and the search kept in the URL (?page=2&q=…) so
// that the back button, a reload and a shared link all land on the same rows.

import { list, type Page, type Query } from "../api.ts";
import { setQuery, useLocation } from "../router.tsx";
import { useResource, type Resource } from "./use-resource.ts";

export interface PagedList<T> extends Resource<Page<T>> {
  readonly page: number;
  readonly pageSize: number;
  readonly search: string;
  readonly setPage: (page: number) => void;
  readonly setPageSize: (size: number) => void;
  readonly setSearch: (search: string) => void;
}

const DEFAULT_PAGE_SIZE = 25;

/**
 * `path` is the list's API path; `query` builds the rest of its query from the search text
 * (Harbor's `q=name=~…` or `name=…`, depending on the list).
 */
export function usePagedList<T>(
  path: string,
  query: (search: string) => Query = () => ({}),
  deps: readonly unknown[] = [],
): PagedList<T> {
  const location = useLocation();
  const page = Math.max(1, Number(location.query.get("page")) || 1);
  const pageSize = Math.min(100, Math.max(1, Number(location.query.get("page_size")) || DEFAULT_PAGE_SIZE));
  const search = location.query.get("q") ?? "";
  const resource = useResource(
    (signal) => list<T>(path, { page, page_size: pageSize, ...query(search) }, signal),
    [path, page, pageSize, search, ...deps],
  );
  return {
    ...resource,
    page,
    pageSize,
    search,
    setPage: (next) => setQuery({ page: next === 1 ? undefined : next }),
    setPageSize: (size) => setQuery({ page_size: size === DEFAULT_PAGE_SIZE ? undefined : size, page: undefined }),
    setSearch: (text) => setQuery({ q: text || undefined, page: undefined }, { replace: true }),
  };
}
