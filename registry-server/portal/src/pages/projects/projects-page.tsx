// Every project the signed-in user may see, a page at a time: hosted or proxy cache, public or
// private, its repositories, the storage it uses, and the stack that declared it; and, for those
// allowed, a new project.

import { useState } from "preact/hooks";
import { get, list, type Page } from "../../api.ts";
import { DeclaredMark, useDeclarations } from "../../components/declared-by.tsx";
import { PagedTable } from "../../components/paged-table.tsx";
import { SearchForm } from "../../components/search-form.tsx";
import { usePagedList } from "../../hooks/use-paged-list.ts";
import { useResource } from "../../hooks/use-resource.ts";
import { useTitle } from "../../hooks/use-title.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { Link } from "../../router.tsx";
import { useUser, type CurrentUser } from "../../session.tsx";
import { CreateProjectDialog } from "./create-project-dialog.tsx";
import { QuotaMeter } from "./project-quota.tsx";
import {
  isProxyCache,
  isPublic,
  type Project,
  type ProjectSummary,
  type Quota,
  type SystemInfo,
} from "./project-types.ts";
import { projectsMessages } from "./projects-messages.ts";
import "./projects.css";

interface Usage {
  readonly used: number;
  readonly limit: number;
}

/**
 * The storage of a page of projects. The administrator's /quotas lists projects in the order the
 * unfiltered project list does, so one request covers an unsearched page; anyone else (quotas are
 * the administrator's) and a searched page fall back to each project's summary, which its members
 * may read. A project whose figures are refused shows none.
 */
function useUsage(
  page: Page<Project> | undefined,
  user: CurrentUser,
  aligned: { page: number; pageSize: number } | undefined,
) {
  return useResource(
    async (signal) => {
      const usage = new Map<number, Usage>();
      if (!page) return usage;
      if (user.sysadmin_flag && aligned) {
        const quotas = await list<Quota>(
          "/quotas",
          { reference: "project", page: aligned.page, page_size: aligned.pageSize },
          signal,
        ).catch(() => undefined);
        for (const quota of quotas?.items ?? [])
          usage.set(quota.ref.id, { used: quota.used.storage, limit: quota.hard.storage });
      }
      await Promise.all(
        page.items
          .filter((project) => !usage.has(project.project_id))
          .map(async (project) => {
            const summary = await get<ProjectSummary>(`/projects/${project.project_id}/summary`, {}, signal).catch(
              () => undefined,
            );
            if (summary?.quota)
              usage.set(project.project_id, { used: summary.quota.used.storage, limit: summary.quota.hard.storage });
          }),
      );
      return usage;
    },
    [page],
  );
}

/** Harbor's rule: any signed-in user creates projects unless only the administrator may. */
function useMayCreate(user: CurrentUser): boolean {
  const info = useResource((signal) => get<SystemInfo>("/systeminfo", {}, signal), []);
  if (user.sysadmin_flag) return true;
  return info.data !== undefined && info.data.project_creation_restriction !== "adminonly";
}

export function ProjectsPage() {
  const t = useT(projectsMessages);
  const format = useFormat();
  const user = useUser();
  useTitle(t("title"));
  const projects = usePagedList<Project>("/projects", (search) => ({
    with_detail: true,
    ...(search && { q: `name=~${search}` }),
  }));
  const declarations = useDeclarations("project", [projects.data]);
  const usage = useUsage(
    projects.data,
    user,
    projects.search ? undefined : { page: projects.page, pageSize: projects.pageSize },
  );
  const mayCreate = useMayCreate(user);
  const [creating, setCreating] = useState(false);

  return (
    <>
      <h1>{t("title")}</h1>
      <div class="toolbar">
        <SearchForm
          id="project-search"
          label={t("searchLabel")}
          search={projects.search}
          setSearch={projects.setSearch}
        />
        {mayCreate && (
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            {t("newProject")}
          </button>
        )}
      </div>
      <CreateProjectDialog open={creating} onClose={() => setCreating(false)} />
      <PagedTable
        list={projects}
        caption={t("listLabel")}
        rowKey={(project) => project.project_id}
        columns={[
          {
            header: t("name"),
            cell: (project) => (
              <>
                <Link href={`/projects/${project.project_id}`}>{project.name}</Link>{" "}
                <DeclaredMark declaration={declarations.data?.get(project.name)} />
              </>
            ),
          },
          { header: t("type"), cell: (project) => (isProxyCache(project) ? t("proxyCache") : t("hosted")) },
          { header: t("access"), cell: (project) => (isPublic(project) ? t("public") : t("private")) },
          { header: t("repositories"), numeric: true, cell: (project) => format.number(project.repo_count ?? 0) },
          {
            header: t("quotaUsed"),
            cell: (project) => {
              const figures = usage.data?.get(project.project_id);
              return figures ? <QuotaMeter used={figures.used} limit={figures.limit} /> : t("notShown");
            },
          },
          { header: t("created"), cell: (project) => format.dateTime(project.creation_time) },
        ]}
      />
    </>
  );
}
