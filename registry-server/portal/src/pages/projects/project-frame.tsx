// The frame of a project's pages: the project loaded once by id (Harbor's GET /projects/{id}),
// its name as the page's heading, the stack that declared it, and the tabs of its sub-pages. Each
// sub-page is rendered with the loaded project.

import type { ComponentChildren } from "preact";
import { get } from "../../api.ts";
import { DeclaredBanner, useDeclaration } from "../../components/declared-by.tsx";
import { ErrorMessage, Loading } from "../../components/status.tsx";
import { Tabs } from "../../components/tabs.tsx";
import { useResource } from "../../hooks/use-resource.ts";
import { useTitle } from "../../hooks/use-title.ts";
import { useT } from "../../i18n/i18n.tsx";
import type { Project } from "./project-types.ts";
import { projectsMessages } from "./projects-messages.ts";

/** The sub-pages, in the order of the tabs: path under /projects/{id} and the label's key. */
export const PROJECT_TABS = [
  { path: "", label: "tabSummary" },
  { path: "/repositories", label: "tabRepositories" },
  { path: "/members", label: "tabMembers" },
  { path: "/robots", label: "tabRobots" },
  { path: "/policies", label: "tabPolicies" },
  { path: "/logs", label: "tabLogs" },
] as const;

export function ProjectFrame({
  projectId,
  title,
  children,
}: {
  projectId: string;
  /** The sub-page's own name, for the document's title. */
  title: string;
  children: (project: Project, reload: () => void) => ComponentChildren;
}) {
  const t = useT(projectsMessages);
  const project = useResource(
    (signal) => get<Project>(`/projects/${encodeURIComponent(projectId)}`, {}, signal),
    [projectId],
  );
  const declaration = useDeclaration("project", project.data?.name);
  useTitle(project.data ? `${title} · ${project.data.name}` : title);
  if (project.error !== undefined) return <ErrorMessage error={project.error} retry={project.reload} />;
  if (!project.data) return <Loading />;
  const base = `/projects/${project.data.project_id}`;
  return (
    <>
      <h1>{project.data.name}</h1>
      <DeclaredBanner declaration={declaration.data} />
      <Tabs
        label={t("tabsLabel")}
        tabs={PROJECT_TABS.map((tab) => ({ href: `${base}${tab.path}`, label: t(tab.label), exact: tab.path === "" }))}
      />
      {children(project.data, project.reload)}
    </>
  );
}
