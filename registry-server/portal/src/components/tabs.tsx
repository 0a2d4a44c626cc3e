// Sub-pages of one object (a project's repositories, members, robots…) as a row of links: real
// URLs, the current one marked for screen readers with aria-current.

import { Link, useLocation } from "../router.tsx";

export interface Tab {
  readonly href: string;
  readonly label: string;
  /** Marked current only on its exact path (the first tab, whose path prefixes the others). */
  readonly exact?: boolean;
}

export function Tabs({ label, tabs }: { label: string; tabs: readonly Tab[] }) {
  const location = useLocation();
  return (
    <nav class="tabs" aria-label={label}>
      <ul>
        {tabs.map((tab) => {
          const here = tab.exact
            ? location.path === tab.href
            : location.path === tab.href || location.path.startsWith(`${tab.href}/`);
          return (
            <li key={tab.href}>
              <Link href={tab.href} {...(here && { "aria-current": "page" as const })}>
                {tab.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
