// Paging for Harbor's lists: the server counts (X-Total-Count) and pages (page, page_size); the
// portal never loads a whole list, which is what keeps a 10,000-artifact repository fast.

import { common } from "../i18n/common.ts";
import { useFormat, useT } from "../i18n/i18n.tsx";

export const PAGE_SIZES = [10, 25, 50, 100] as const;

export interface PagerProps {
  readonly page: number;
  readonly pageSize: number;
  readonly total: number;
  readonly onPage: (page: number) => void;
  readonly onPageSize?: (pageSize: number) => void;
  /** Names the list the pager belongs to, for screen readers when a page holds several. */
  readonly label: string;
}

export function Pager({ page, pageSize, total, onPage, onPageSize, label }: PagerProps) {
  const t = useT(common);
  const format = useFormat();
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return (
    <nav class="pager" aria-label={label}>
      <span>{t("itemsTotal", { total: format.number(total) })}</span>
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        {t("previousPage")}
      </button>
      <span aria-current="page">{t("pageOf", { page: format.number(page), pages: format.number(pages) })}</span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        {t("nextPage")}
      </button>
      {onPageSize && (
        <label>
          {t("pageSize")}{" "}
          <select value={pageSize} onChange={(event) => onPageSize(Number(event.currentTarget.value))}>
            {PAGE_SIZES.map((size) => (
              <option key={size} value={size}>
                {size}
              </option>
            ))}
          </select>
        </label>
      )}
    </nav>
  );
}
