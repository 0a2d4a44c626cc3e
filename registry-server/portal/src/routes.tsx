// The portal's pages and the navigation, in one table: a path pattern (`:name` for one segment)
// and what it renders. A page is here only once the API it shows exists on the server.

import type { JSX } from "preact";
import type { NavItem } from "./components/layout.tsx";
import { ProjectsPage } from "./pages/projects/projects-page.tsx";

export interface PageRoute {
  readonly pattern: string;
  readonly render: (params: Readonly<Record<string, string>>) => JSX.Element;
}

export const ROUTES: readonly PageRoute[] = [{ pattern: "/projects", render: () => <ProjectsPage /> }];

export const NAVIGATION: readonly NavItem[] = [{ href: "/projects", label: "navProjects" }];
