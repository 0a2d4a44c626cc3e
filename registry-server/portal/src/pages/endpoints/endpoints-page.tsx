// The upstream registry endpoints (Harbor's /registries), a page at a time: type, URL, health,
// a connection test per row, and, for the administrator, a new endpoint. Each endpoint's own page
// (/registries/{id}) edits or deletes it and shows the proxy cache's figures.

import { useState } from "preact/hooks";
import { DataTable } from "../../components/data-table.tsx";
import { DeclaredMark, useDeclarations } from "../../components/declared-by.tsx";
import { Pager } from "../../components/pager.tsx";
import { ErrorMessage, Loading } from "../../components/status.tsx";
import { usePagedList } from "../../hooks/use-paged-list.ts";
import { useTitle } from "../../hooks/use-title.ts";
import { common } from "../../i18n/common.ts";
import { useT } from "../../i18n/i18n.tsx";
import { Link } from "../../router.tsx";
import { useUser } from "../../session.tsx";
import { EndpointForm, HealthBadge, TestConnection } from "./endpoint-parts.tsx";
import type { Endpoint } from "./endpoint-types.ts";
import { endpointsMessages } from "./endpoints-messages.ts";
import "./endpoints.css";

export function EndpointsPage() {
  const t = useT(endpointsMessages);
  const tc = useT(common);
  const user = useUser();
  useTitle(t("title"));
  const endpoints = usePagedList<Endpoint>("/registries", (search) => (search ? { q: `name=~${search}` } : {}));
  const declarations = useDeclarations("registry", [endpoints.data]);
  const [search, setSearch] = useState(endpoints.search);
  const [creating, setCreating] = useState(false);
  const [notice, setNotice] = useState("");

  return (
    <>
      <h1>{t("title")}</h1>
      <div class="toolbar">
        <form
          role="search"
          class="toolbar"
          onSubmit={(event) => {
            event.preventDefault();
            endpoints.setSearch(search.trim());
          }}
        >
          <label for="endpoint-search">{t("searchLabel")}</label>
          <input id="endpoint-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
          <button type="submit">{tc("search")}</button>
        </form>
        {user.sysadmin_flag && (
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            {t("newEndpoint")}
          </button>
        )}
      </div>
      <p role="status" class="status">
        {notice}
      </p>
      {endpoints.error !== undefined && <ErrorMessage error={endpoints.error} retry={endpoints.reload} />}
      {endpoints.loading && !endpoints.data && <Loading />}
      {endpoints.data && (
        <>
          <DataTable
            caption={t("listLabel")}
            rows={endpoints.data.items}
            rowKey={(endpoint) => endpoint.id}
            columns={[
              {
                header: t("name"),
                cell: (endpoint) => (
                  <>
                    <Link href={`/registries/${endpoint.id}`}>{endpoint.name}</Link>{" "}
                    <DeclaredMark declaration={declarations.data?.get(endpoint.name)} />
                  </>
                ),
              },
              { header: t("type"), cell: (endpoint) => endpoint.type },
              { header: t("url"), cell: (endpoint) => <code>{endpoint.url}</code> },
              { header: t("health"), cell: (endpoint) => <HealthBadge status={endpoint.status} /> },
              ...(user.sysadmin_flag
                ? [
                    {
                      header: t("testConnection"),
                      cell: (endpoint: Endpoint) => <TestConnection endpoint={endpoint} />,
                    },
                  ]
                : []),
            ]}
          />
          <p class="hint">{t("healthNote")}</p>
          <Pager
            label={t("listLabel")}
            page={endpoints.page}
            pageSize={endpoints.pageSize}
            total={endpoints.data.total}
            onPage={endpoints.setPage}
            onPageSize={endpoints.setPageSize}
          />
        </>
      )}
      <EndpointForm
        open={creating}
        onClose={() => setCreating(false)}
        onSaved={(name) => {
          setCreating(false);
          setNotice(t("saved", { name }));
          endpoints.reload();
        }}
      />
    </>
  );
}
