// The search box of a list page: the text is the page's own until submitted, then it goes to the
// list (and so to the URL's ?q=), trimmed, which starts again from the first page.

import { useState } from "preact/hooks";
import { common } from "../i18n/common.ts";
import { useT } from "../i18n/i18n.tsx";

export interface SearchFormProps {
  /** The input's id, which its label points at. */
  readonly id: string;
  /** The input's visible label, which is also its accessible name. */
  readonly label: string;
  /** The list's current search, the box's first value. */
  readonly search: string;
  readonly setSearch: (search: string) => void;
}

export function SearchForm({ id, label, search, setSearch }: SearchFormProps) {
  const tc = useT(common);
  const [text, setText] = useState(search);
  return (
    <form
      role="search"
      class="toolbar"
      onSubmit={(event) => {
        event.preventDefault();
        setSearch(text.trim());
      }}
    >
      <label for={id}>{label}</label>
      <input id={id} type="search" value={text} onInput={(event) => setText(event.currentTarget.value)} />
      <button type="submit">{tc("search")}</button>
    </form>
  );
}
