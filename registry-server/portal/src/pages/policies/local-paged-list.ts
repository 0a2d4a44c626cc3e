// A Harbor list paged in the component's own state, for pages that hold several lists (the URL's
// ?page= belongs to one list only, usePagedList's).

import { useState } from "preact/hooks";
import { list } from "../../api.ts";
import { useResource } from "../../hooks/use-resource.ts";

export function useLocalPagedList<T>(path: string | undefined, pageSize = 10) {
  const [page, setPage] = useState(1);
  const resource = useResource(
    (signal) =>
      path === undefined ? Promise.resolve(undefined) : list<T>(path, { page, page_size: pageSize }, signal),
    [path, page, pageSize],
  );
  return { ...resource, page, pageSize, setPage };
}
