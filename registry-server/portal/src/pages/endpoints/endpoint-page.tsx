// One upstream endpoint (/registries/{id}): what it is, its health and a connection test, the
// proxy cache's figures for it (beyond Harbor: /registries/{id}/cache-stats) with the proxy-cache
// projects using it, and, for the administrator, edit and delete, guarded when a stack declared it.

import { useState } from "preact/hooks";
import { del, get } from "../../api.ts";
import { DeclaredBanner, useDeclaration, useDeclaredGuard } from "../../components/declared-by.tsx";
import { ConfirmDialog } from "../../components/dialog.tsx";
import { ErrorMessage, Loading } from "../../components/status.tsx";
import { useResource } from "../../hooks/use-resource.ts";
import { useTitle } from "../../hooks/use-title.ts";
import { common } from "../../i18n/common.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { Link, navigate } from "../../router.tsx";
import { useUser } from "../../session.tsx";
import { EndpointForm, HealthBadge, TestConnection } from "./endpoint-parts.tsx";
import type { CacheStats, Endpoint } from "./endpoint-types.ts";
import { endpointsMessages } from "./endpoints-messages.ts";
import "./endpoints.css";

function CacheFigures({ endpointId }: { endpointId: number }) {
  const t = useT(endpointsMessages);
  const format = useFormat();
  const stats = useResource(
    (signal) => get<CacheStats>(`/registries/${endpointId}/cache-stats`, {}, signal),
    [endpointId],
  );
  if (stats.error !== undefined) return <ErrorMessage error={stats.error} retry={stats.reload} />;
  if (!stats.data) return <Loading />;
  const figures = stats.data;
  return (
    <>
      <p>{t("cacheIntro")}</p>
      <dl class="facts" aria-label={t("cacheTitle")}>
        <dt>{t("hits")}</dt>
        <dd>{format.number(figures.hits)}</dd>
        <dt>{t("misses")}</dt>
        <dd>{format.number(figures.misses)}</dd>
        <dt>{t("hitRatio")}</dt>
        <dd>{format.percent(figures.hit_ratio)}</dd>
        <dt>{t("bytesSaved")}</dt>
        <dd>{format.bytes(figures.bytes_served_from_cache)}</dd>
        <dt>{t("staleServed")}</dt>
        <dd>{format.number(figures.stale_served)}</dd>
        <dt>{t("upstreamErrors")}</dt>
        <dd>{format.number(figures.upstream_errors)}</dd>
        <dt>{t("since")}</dt>
        <dd>{figures.since ? format.dateTime(figures.since) : t("notCounted")}</dd>
      </dl>
      <h3>{t("projectsTitle")}</h3>
      {figures.projects.length === 0 ? (
        <p class="empty">{t("noProjects")}</p>
      ) : (
        <ul>
          {figures.projects.map((project) => (
            <li key={project.project_id}>
              <Link href={`/projects/${project.project_id}`}>{project.name}</Link>
            </li>
          ))}
        </ul>
      )}
      <button type="button" onClick={stats.reload}>
        {t("cacheRefresh")}
      </button>
    </>
  );
}

export function EndpointPage({ id }: { id: string }) {
  const t = useT(endpointsMessages);
  const tc = useT(common);
  const format = useFormat();
  const user = useUser();
  const endpoint = useResource((signal) => get<Endpoint>(`/registries/${encodeURIComponent(id)}`, {}, signal), [id]);
  const declaration = useDeclaration("registry", endpoint.data?.name);
  const { guard, dialog } = useDeclaredGuard("registry", endpoint.data?.name);
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [failure, setFailure] = useState<unknown>();
  useTitle(endpoint.data ? endpoint.data.name : t("title"));
  if (endpoint.error !== undefined) return <ErrorMessage error={endpoint.error} retry={endpoint.reload} />;
  if (!endpoint.data) return <Loading />;
  const current = endpoint.data;
  return (
    <>
      <p>
        <Link href="/registries">{t("backToList")}</Link>
      </p>
      <h1>{current.name}</h1>
      <DeclaredBanner declaration={declaration.data} />
      {failure !== undefined && <ErrorMessage error={failure} />}
      <h2>{t("details")}</h2>
      <dl class="facts">
        <dt>{t("type")}</dt>
        <dd>{current.type}</dd>
        <dt>{t("url")}</dt>
        <dd>
          <code>{current.url}</code>
        </dd>
        <dt>{t("description")}</dt>
        <dd>{current.description || "—"}</dd>
        <dt>{t("credential")}</dt>
        <dd>{current.credential?.access_key ? current.credential.access_key : t("anonymous")}</dd>
        <dt>{t("insecure")}</dt>
        <dd>{current.insecure ? tc("yes") : tc("no")}</dd>
        <dt>{t("health")}</dt>
        <dd>
          <HealthBadge status={current.status} />
        </dd>
        <dt>{t("created")}</dt>
        <dd>{format.dateTime(current.creation_time)}</dd>
      </dl>
      {user.sysadmin_flag && (
        <div class="toolbar">
          <TestConnection endpoint={current} />
          <button type="button" onClick={() => guard(() => setEditing(true))}>
            {t("edit")}
          </button>
          <button type="button" class="danger" onClick={() => guard(() => setDeleting(true))}>
            {tc("delete")}
          </button>
        </div>
      )}
      {user.sysadmin_flag && (
        <section aria-labelledby="cache-title">
          <h2 id="cache-title">{t("cacheTitle")}</h2>
          <CacheFigures endpointId={current.id} />
        </section>
      )}
      <EndpointForm
        open={editing}
        endpoint={current}
        onClose={() => setEditing(false)}
        onSaved={() => {
          setEditing(false);
          endpoint.reload();
        }}
      />
      <ConfirmDialog
        open={deleting}
        title={t("deleteTitle", { name: current.name })}
        confirmLabel={tc("delete")}
        danger
        onCancel={() => setDeleting(false)}
        onConfirm={() => {
          setDeleting(false);
          del(`/registries/${current.id}`).then(() => navigate("/registries"), setFailure);
        }}
      >
        <p>{t("deleteText")}</p>
      </ConfirmDialog>
      {dialog}
    </>
  );
}
