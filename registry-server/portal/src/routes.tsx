// The portal's pages and the navigation, in one table: a path pattern (`:name` for one segment)
// and what it renders. A page is here only once the API it shows exists on the server.

import type { JSX } from "preact";
import type { NavItem } from "./components/layout.tsx";
import { ProjectLogsPage } from "./pages/projects/project-logs-page.tsx";
import { ProjectMembersPage } from "./pages/projects/project-members-page.tsx";
import { ProjectRepositoriesPage } from "./pages/projects/project-repositories-page.tsx";
import { ProjectSummaryPage } from "./pages/projects/project-summary-page.tsx";
import { PoliciesRoute } from "./pages/policies/policies-page.tsx";
import { ArtifactPage } from "./pages/content/artifact-page.tsx";
import { ArtifactsPage } from "./pages/content/artifacts-page.tsx";
import { SettingsPage } from "./pages/admin/settings-page.tsx";
import { UsersPage } from "./pages/admin/users-page.tsx";
import { AuditPage } from "./pages/audit/audit-page.tsx";
import { EndpointPage } from "./pages/endpoints/endpoint-page.tsx";
import { EndpointsPage } from "./pages/endpoints/endpoints-page.tsx";
import { GcPage } from "./pages/jobs/gc-page.tsx";
import { QueuesPage } from "./pages/jobs/queues-page.tsx";
import { ReplicationExecutionsPage, ReplicationsPage } from "./pages/jobs/replications-page.tsx";
import { ScansPage } from "./pages/jobs/scans-page.tsx";
import { ProjectsPage } from "./pages/projects/projects-page.tsx";
import { RobotsRoute } from "./pages/robots/robots-page.tsx";

export interface PageRoute {
  readonly pattern: string;
  readonly render: (params: Readonly<Record<string, string>>) => JSX.Element;
}

export const ROUTES: readonly PageRoute[] = [
  { pattern: "/projects", render: () => <ProjectsPage /> },
  { pattern: "/projects/:id", render: ({ id = "" }) => <ProjectSummaryPage key={id} projectId={id} /> },
  {
    pattern: "/projects/:id/repositories",
    render: ({ id = "" }) => <ProjectRepositoriesPage key={id} projectId={id} />,
  },
  { pattern: "/projects/:id/members", render: ({ id = "" }) => <ProjectMembersPage key={id} projectId={id} /> },
  { pattern: "/projects/:id/logs", render: ({ id = "" }) => <ProjectLogsPage key={id} projectId={id} /> },
  { pattern: "/projects/:id/robots", render: ({ id = "" }) => <RobotsRoute key={id} projectId={id} /> },
  { pattern: "/projects/:id/policies", render: ({ id = "" }) => <PoliciesRoute key={id} projectId={id} /> },
  {
    pattern: "/projects/:id/repositories/:repository",
    render: ({ id = "", repository = "" }) => <ArtifactsPage projectId={id} repository={repository} />,
  },
  {
    pattern: "/projects/:id/repositories/:repository/artifacts/:reference",
    render: ({ id = "", repository = "", reference = "" }) => (
      <ArtifactPage projectId={id} repository={repository} reference={reference} />
    ),
  },
  { pattern: "/registries", render: () => <EndpointsPage /> },
  { pattern: "/registries/:id", render: (params) => <EndpointPage id={params["id"] ?? ""} /> },
  { pattern: "/jobs", render: () => <GcPage /> },
  { pattern: "/jobs/replications", render: () => <ReplicationsPage /> },
  {
    pattern: "/jobs/replications/:id",
    render: (params) => <ReplicationExecutionsPage policyId={params["id"] ?? ""} />,
  },
  { pattern: "/jobs/scans", render: () => <ScansPage /> },
  { pattern: "/jobs/queues", render: () => <QueuesPage /> },
  { pattern: "/audit", render: () => <AuditPage /> },
  { pattern: "/users", render: () => <UsersPage /> },
  { pattern: "/settings", render: () => <SettingsPage /> },
];

export const NAVIGATION: readonly NavItem[] = [
  { href: "/projects", label: "navProjects" },
  { href: "/registries", label: "navRegistries", adminOnly: true },
  { href: "/jobs", label: "navJobs", adminOnly: true },
  { href: "/audit", label: "navAudit" },
  { href: "/users", label: "navUsers", adminOnly: true },
  { href: "/settings", label: "navSettings", adminOnly: true },
];
