// The upstream registry endpoints (Harbor's /registries), a page at a time: type, URL, health,
// a connection test per row, and, for the administrator, a new endpoint. Each endpoint's own page
// (/registries/{id}) edits or deletes it and shows the proxy cache's figures.

import { useState } from "preact/hooks";
import { DeclaredMark, useDeclarations } from "../../components/declared-by.tsx";
import { PagedTable } from "../../components/paged-table.tsx";
import { SearchForm } from "../../components/search-form.tsx";
import { usePagedList } from "../../hooks/use-paged-list.ts";
import { useTitle } from "../../hooks/use-title.ts";
import { useT } from "../../i18n/i18n.tsx";
import { Link } from "../../router.tsx";
import { useUser } from "../../session.tsx";
import { EndpointForm, HealthBadge, TestConnection } from "./endpoint-parts.tsx";
import type { Endpoint } from "./endpoint-types.ts";
import { endpointsMessages } from "./endpoints-messages.ts";
import "./endpoints.css";

export function EndpointsPage() {
  const t = useT(endpointsMessages);
  const user = useUser();
  useTitle(t("title"));
  const endpoints = usePagedList<Endpoint>("/registries", (search) => (search ? { q: `name=~${search}` } : {}));
  const declarations = useDeclarations("registry", [endpoints.data]);
  const [creating, setCreating] = useState(false);
  const [notice, setNotice] = useState("");

  return (
    <>
      <h1>{t("title")}</h1>
      <div class="toolbar">
        <SearchForm
          id="endpoint-search"
          label={t("searchLabel")}
          search={endpoints.search}
          setSearch={endpoints.setSearch}
        />
        {user.sysadmin_flag && (
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            {t("newEndpoint")}
          </button>
        )}
      </div>
      <p role="status" class="status">
        {notice}
      </p>
      <PagedTable
        list={endpoints}
        caption={t("listLabel")}
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
      >
        <p class="hint">{t("healthNote")}</p>
      </PagedTable>
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
