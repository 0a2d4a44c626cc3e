// A project's summary (/projects/:id): what it is (hosted, or a proxy cache of which endpoint),
// who may pull from it, its repositories, storage and members, the stack that declared it; and
// for its administrators, its access, quota and deletion, each change guarded when a stack
// declared the project.

import { useEffect, useState } from "preact/hooks";
import { del, get, put } from "../../api.ts";
import { useDeclaration, useDeclaredGuard } from "../../components/declared-by.tsx";
import { ConfirmDialog } from "../../components/dialog.tsx";
import { ErrorMessage, Loading } from "../../components/status.tsx";
import { useResource } from "../../hooks/use-resource.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { navigate } from "../../router.tsx";
import { useUser } from "../../session.tsx";
import { ProjectFrame } from "./project-frame.tsx";
import { limitBytes, QuotaMeter, StorageLimitField, storageLimitOf, type StorageLimit } from "./project-quota.tsx";
import { projectAbilities } from "./project-abilities.ts";
import {
  isProxyCache,
  isPublic,
  memberCount,
  type Endpoint,
  type Project,
  type ProjectSummary,
} from "./project-types.ts";
import { projectsMessages } from "./projects-messages.ts";
import "./projects.css";

function EndpointName({ id }: { id: number }) {
  const t = useT(projectsMessages);
  // Endpoints are the administrator's to read: anyone else sees the type without the name.
  const endpoint = useResource((signal) => get<Endpoint>(`/registries/${id}`, {}, signal).catch(() => undefined), [id]);
  return <>{endpoint.data ? t("proxyCacheOf", { endpoint: endpoint.data.name }) : t("proxyCache")}</>;
}

function AccessForm({
  project,
  guard,
  onSaved,
}: {
  project: Project;
  guard: (change: () => void) => void;
  onSaved: () => void;
}) {
  const t = useT(projectsMessages);
  const [checked, setChecked] = useState(isPublic(project));
  const [state, setState] = useState<{ saved?: boolean; error?: unknown }>({});
  useEffect(() => setChecked(isPublic(project)), [project]);
  const save = (event: Event) => {
    event.preventDefault();
    guard(() => {
      setState({});
      put(`/projects/${project.project_id}`, { metadata: { public: String(checked) } }).then(
        () => {
          setState({ saved: true });
          onSaved();
        },
        (error: unknown) => setState({ error }),
      );
    });
  };
  return (
    <form class="project-settings" onSubmit={save}>
      <h3>{t("access")}</h3>
      <div class="checkbox">
        <input
          id="project-access-public"
          type="checkbox"
          checked={checked}
          onChange={(event) => setChecked(event.currentTarget.checked)}
        />
        <label for="project-access-public">{t("accessLabel")}</label>
      </div>
      {state.error !== undefined && <ErrorMessage error={state.error} />}
      <button type="submit">{t("saveAccess")}</button>{" "}
      <span role="status" class="saved">
        {state.saved ? t("accessSaved") : ""}
      </span>
    </form>
  );
}

function QuotaForm({
  project,
  limit,
  guard,
  onSaved,
}: {
  project: Project;
  limit: number;
  guard: (change: () => void) => void;
  onSaved: () => void;
}) {
  const t = useT(projectsMessages);
  const [value, setValue] = useState<StorageLimit>(storageLimitOf(limit));
  const [state, setState] = useState<{ saved?: boolean; error?: unknown; invalid?: boolean }>({});
  const save = (event: Event) => {
    event.preventDefault();
    const bytes = limitBytes(value);
    if (bytes === undefined) {
      setState({ invalid: true });
      return;
    }
    guard(() => {
      setState({});
      put(`/quotas/${project.project_id}`, { hard: { storage: bytes } }).then(
        () => {
          setState({ saved: true });
          onSaved();
        },
        (error: unknown) => setState({ error }),
      );
    });
  };
  return (
    <form class="project-settings" onSubmit={save} noValidate>
      <h3>{t("quotaLabel")}</h3>
      <StorageLimitField value={value} onChange={setValue} error={state.invalid ? t("storageLimitHint") : undefined} />
      {state.error !== undefined && <ErrorMessage error={state.error} />}
      <button type="submit">{t("saveQuota")}</button>{" "}
      <span role="status" class="saved">
        {state.saved ? t("quotaSaved") : ""}
      </span>
    </form>
  );
}

function DeleteProject({ project, guard }: { project: Project; guard: (change: () => void) => void }) {
  const t = useT(projectsMessages);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>();
  const remove = () => {
    setConfirming(false);
    setError(undefined);
    del(`/projects/${project.project_id}`).then(
      () => navigate("/projects"),
      (err: unknown) => setError(err),
    );
  };
  return (
    <section class="project-settings" aria-labelledby="project-delete-heading">
      <h3 id="project-delete-heading">{t("dangerTitle")}</h3>
      <p>{t("dangerText")}</p>
      {error !== undefined && <ErrorMessage error={error} />}
      <button type="button" class="danger" onClick={() => guard(() => setConfirming(true))}>
        {t("deleteProject")}
      </button>
      <ConfirmDialog
        open={confirming}
        title={t("deleteProjectTitle", { name: project.name })}
        confirmLabel={t("deleteProject")}
        danger
        onCancel={() => setConfirming(false)}
        onConfirm={remove}
      >
        <p>{t("deleteProjectText")}</p>
      </ConfirmDialog>
    </section>
  );
}

function Summary({ project, reload }: { project: Project; reload: () => void }) {
  const t = useT(projectsMessages);
  const format = useFormat();
  const user = useUser();
  const abilities = projectAbilities(user, project);
  const summary = useResource(
    (signal) => get<ProjectSummary>(`/projects/${project.project_id}/summary`, {}, signal),
    [project],
  );
  const declaration = useDeclaration("project", project.name);
  const { guard, dialog } = useDeclaredGuard("project", project.name);
  const quota = summary.data?.quota;
  return (
    <>
      <h2>{t("summaryTitle")}</h2>
      {summary.error !== undefined && <ErrorMessage error={summary.error} retry={summary.reload} />}
      <dl class="facts">
        <dt>{t("type")}</dt>
        <dd>{isProxyCache(project) ? <EndpointName id={project.registry_id ?? 0} /> : t("hosted")}</dd>
        <dt>{t("access")}</dt>
        <dd>{isPublic(project) ? t("public") : t("private")}</dd>
        <dt>{t("repositoriesCount")}</dt>
        <dd>{format.number(summary.data?.repo_count ?? project.repo_count ?? 0)}</dd>
        <dt>{t("quotaUsed")}</dt>
        <dd>{quota ? <QuotaMeter used={quota.used.storage} limit={quota.hard.storage} /> : t("notShown")}</dd>
        <dt>{t("members")}</dt>
        <dd>{summary.data ? format.number(memberCount(summary.data)) : t("notShown")}</dd>
        <dt>{t("created")}</dt>
        <dd>{format.dateTime(project.creation_time)}</dd>
        <dt>{t("declaredStack")}</dt>
        <dd>{declaration.data ? <code>{declaration.data.stack}</code> : t("notDeclared")}</dd>
      </dl>
      {summary.loading && !summary.data && <Loading />}
      {abilities.administer && (
        <>
          <h2>{t("settingsTitle")}</h2>
          <AccessForm project={project} guard={guard} onSaved={reload} />
          {abilities.setQuota && quota && (
            <QuotaForm project={project} limit={quota.hard.storage} guard={guard} onSaved={summary.reload} />
          )}
          <DeleteProject project={project} guard={guard} />
          {dialog}
        </>
      )}
    </>
  );
}

export function ProjectSummaryPage({ projectId }: { projectId: string }) {
  const t = useT(projectsMessages);
  return (
    <ProjectFrame projectId={projectId} title={t("summaryTitle")}>
      {(project, reload) => <Summary project={project} reload={reload} />}
    </ProjectFrame>
  );
}
