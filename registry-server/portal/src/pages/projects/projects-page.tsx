// Every project the signed-in user may see, a page at a time: hosted or proxy cache, public or
// private, its repositories, and the stack that declared it.

import { useState } from "preact/hooks";
import { DataTable } from "../../components/data-table.tsx";
import { DeclaredMark, useDeclarations } from "../../components/declared-by.tsx";
import { Pager } from "../../components/pager.tsx";
import { ErrorMessage, Loading } from "../../components/status.tsx";
import { usePagedList } from "../../hooks/use-paged-list.ts";
import { useTitle } from "../../hooks/use-title.ts";
import { common } from "../../i18n/common.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { Link } from "../../router.tsx";
import { isProxyCache, type Project } from "./project-types.ts";
import { projectsMessages } from "./projects-messages.ts";

export function ProjectsPage() {
  const t = useT(projectsMessages);
  const tc = useT(common);
  const format = useFormat();
  useTitle(t("title"));
  const projects = usePagedList<Project>("/projects", (search) => ({
    with_detail: true,
    ...(search && { q: `name=~${search}` }),
  }));
  const declarations = useDeclarations("project", [projects.data]);
  const [search, setSearch] = useState(projects.search);

  return (
    <>
      <h1>{t("title")}</h1>
      <form
        role="search"
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          projects.setSearch(search.trim());
        }}
      >
        <label for="project-search">{t("searchLabel")}</label>
        <input id="project-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        <button type="submit">{tc("search")}</button>
      </form>
      {projects.error !== undefined && <ErrorMessage error={projects.error} retry={projects.reload} />}
      {projects.loading && !projects.data && <Loading />}
      {projects.data && (
        <>
          <DataTable
            caption={t("listLabel")}
            rows={projects.data.items}
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
              {
                header: t("access"),
                cell: (project) => (project.metadata?.["public"] === "true" ? t("public") : t("private")),
              },
              { header: t("repositories"), numeric: true, cell: (project) => format.number(project.repo_count ?? 0) },
              { header: t("created"), cell: (project) => format.dateTime(project.creation_time) },
            ]}
          />
          <Pager
            label={t("listLabel")}
            page={projects.page}
            pageSize={projects.pageSize}
            total={projects.data.total}
            onPage={projects.setPage}
            onPageSize={projects.setPageSize}
          />
        </>
      )}
    </>
  );
}
