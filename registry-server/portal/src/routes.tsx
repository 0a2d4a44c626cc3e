// The portal's pages and the navigation, in one table: a path pattern (`:name` for one segment)
// and what it renders. A page is here only once the API it shows exists on the server.

import type { JSX } from "preact";
import type { NavItem } from "./components/layout.tsx";
import { PoliciesRoute } from "./pages/policies/policies-page.tsx";
import { ProjectsPage } from "./pages/projects/projects-page.tsx";
import { RobotsRoute } from "./pages/robots/robots-page.tsx";

export interface PageRoute {
  readonly pattern: string;
  readonly render: (params: Readonly<Record<string, string>>) => JSX.Element;
}

export const ROUTES: readonly PageRoute[] = [
  { pattern: "/projects", render: () => <ProjectsPage /> },
  {
    pattern: "/projects/:id/robots",
    render: (params) => <RobotsRoute projectId={params["id"] ?? ""} />,
  },
  {
    pattern: "/projects/:id/policies",
    render: (params) => <PoliciesRoute projectId={params["id"] ?? ""} />,
  },
];

export const NAVIGATION: readonly NavItem[] = [{ href: "/projects", label: "navProjects" }];
