// The document's title follows the page: what a screen reader announces on navigation and what
// the browser's history and tabs show.

import { useEffect } from "preact/hooks";

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Airlock` : "Airlock";
  }, [title]);
}
