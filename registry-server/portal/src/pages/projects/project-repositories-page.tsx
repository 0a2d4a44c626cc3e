// A project's repositories (/projects/:id/repositories), a page at a time with Harbor's name
// search, each linking to its own page at /projects/:id/repositories/:repository where
// :repository is encodeURIComponent of the full name Harbor returns ("library/nginx" →
// library%2Fnginx): one path segment, decoded back to the name the repository page asks the API
// for. Deleting one is offered to those whose role may (administrators and maintainers).

import { useState } from "preact/hooks";
import { del, repositoryPath } from "../../api.ts";
import { ConfirmDialog } from "../../components/dialog.tsx";
import { PagedTable } from "../../components/paged-table.tsx";
import { SearchForm } from "../../components/search-form.tsx";
import { ErrorMessage } from "../../components/status.tsx";
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
      <SearchForm
        id="repository-search"
        label={t("searchRepositories")}
        search={repositories.search}
        setSearch={repositories.setSearch}
      />
      {error !== undefined && <ErrorMessage error={error} />}
      <PagedTable
        list={repositories}
        caption={t("repositoriesTitle")}
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
