// A project's repositories (/projects/:id/repositories), a page at a time with Harbor's name
// search, each linking to its own page at /projects/:id/repositories/:repository where
// :repository is encodeURIComponent of the full name Harbor returns ("library/nginx" →
// library%2Fnginx): one path segment, decoded back to the name the repository page asks the API
// for. Deleting one is offered to those whose role may (administrators and maintainers).

import { useState } from "preact/hooks";
import { del, repositoryPath } from "../../api.ts";
import { DataTable } from "../../components/data-table.tsx";
import { ConfirmDialog } from "../../components/dialog.tsx";
import { Pager } from "../../components/pager.tsx";
import { ErrorMessage, Loading } from "../../components/status.tsx";
import { usePagedList } from "../../hooks/use-paged-list.ts";
import { common } from "../../i18n/common.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { Link } from "../../router.tsx";
import { useUser } from "../../session.tsx";
import { ProjectFrame } from "./project-frame.tsx";
import { projectAbilities } from "./project-abilities.ts";
import type { Project, Repository } from "./project-types.ts";
import { projectsMessages } from "./projects-messages.ts";

/** The repository page's path: the full name as one encoded segment (the repository helper's contract). */
export function repositoryHref(project: Project, repository: string): string {
  return `/projects/${project.project_id}/repositories/${encodeURIComponent(repository)}`;
}

/** The name without its project, which Harbor's repository paths take (encoded twice). */
function shortName(project: Project, repository: string): string {
  const prefix = `${project.name}/`;
  return repository.startsWith(prefix) ? repository.slice(prefix.length) : repository;
}

function Repositories({ project }: { project: Project }) {
  const t = useT(projectsMessages);
  const tc = useT(common);
  const format = useFormat();
  const user = useUser();
  const abilities = projectAbilities(user, project);
  const repositories = usePagedList<Repository>(
    `/projects/${encodeURIComponent(project.name)}/repositories`,
    (search) => (search ? { q: `name=~${search}` } : {}),
  );
  const [search, setSearch] = useState(repositories.search);
  const [deleting, setDeleting] = useState<Repository>();
  const [error, setError] = useState<unknown>();

  const remove = () => {
    const target = deleting;
    setDeleting(undefined);
    if (!target) return;
    setError(undefined);
    del(
      `/projects/${encodeURIComponent(project.name)}/repositories/${repositoryPath(shortName(project, target.name))}`,
    ).then(repositories.reload, (err: unknown) => setError(err));
  };

  return (
    <>
      <h2>{t("repositoriesTitle")}</h2>
      <form
        role="search"
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          repositories.setSearch(search.trim());
        }}
      >
        <label for="repository-search">{t("searchRepositories")}</label>
        <input
          id="repository-search"
          type="search"
          value={search}
          onInput={(event) => setSearch(event.currentTarget.value)}
        />
        <button type="submit">{tc("search")}</button>
      </form>
      {error !== undefined && <ErrorMessage error={error} />}
      {repositories.error !== undefined && <ErrorMessage error={repositories.error} retry={repositories.reload} />}
      {repositories.loading && !repositories.data && <Loading />}
      {repositories.data && (
        <>
          <DataTable
            caption={t("repositoriesTitle")}
            rows={repositories.data.items}
            rowKey={(repository) => repository.id}
            empty={repositories.search ? tc("empty") : t("noRepositories")}
            columns={[
              {
                header: t("repositoryName"),
                cell: (repository) => <Link href={repositoryHref(project, repository.name)}>{repository.name}</Link>,
              },
              {
                header: t("artifacts"),
                numeric: true,
                cell: (repository) => format.number(repository.artifact_count ?? 0),
              },
              { header: t("pulls"), numeric: true, cell: (repository) => format.number(repository.pull_count ?? 0) },
              { header: t("lastModified"), cell: (repository) => format.dateTime(repository.update_time) },
              ...(abilities.deleteRepositories
                ? [
                    {
                      header: t("actions"),
                      cell: (repository: Repository) => (
                        <button type="button" onClick={() => setDeleting(repository)}>
                          {t("deleteRepository", { name: repository.name })}
                        </button>
                      ),
                    },
                  ]
                : []),
            ]}
          />
          <Pager
            label={t("repositoriesTitle")}
            page={repositories.page}
            pageSize={repositories.pageSize}
            total={repositories.data.total}
            onPage={repositories.setPage}
            onPageSize={repositories.setPageSize}
          />
        </>
      )}
      <ConfirmDialog
        open={deleting !== undefined}
        title={t("deleteRepositoryTitle", { name: deleting?.name ?? "" })}
        confirmLabel={tc("delete")}
        danger
        onCancel={() => setDeleting(undefined)}
        onConfirm={remove}
      >
        <p>{t("deleteRepositoryText")}</p>
      </ConfirmDialog>
    </>
  );
}

export function ProjectRepositoriesPage({ projectId }: { projectId: string }) {
  const t = useT(projectsMessages);
  return (
    <ProjectFrame projectId={projectId} title={t("repositoriesTitle")}>
      {(project) => <Repositories project={project} />}
    </ProjectFrame>
  );
}
