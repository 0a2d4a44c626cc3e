// A project's audit log (/projects/:id/logs): Harbor 2.13's /projects/{name}/auditlog-exts, newest
// first, a page at a time, with the result of each operation; filtered by operation and user
// through Harbor's `q` (operation=…, username=…), the filters kept in the URL like the page.

import { useState } from "preact/hooks";
import { PagedTable } from "../../components/paged-table.tsx";
import { usePagedList } from "../../hooks/use-paged-list.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { setQuery, useLocation } from "../../router.tsx";
import { ProjectFrame } from "./project-frame.tsx";
import { auditColumns, type AuditEntry } from "../audit/audit-columns.tsx";
import type { Project } from "./project-types.ts";
import { projectsMessages } from "./projects-messages.ts";
import "./projects.css";

/** The operations the registry records, with their label keys. */
const OPERATIONS = [
  { value: "create", label: "opCreate" },
  { value: "pull", label: "opPull" },
  { value: "delete", label: "opDelete" },
  { value: "update", label: "opUpdate" },
] as const;

/**
 * Harbor's `q` takes `key=value` terms joined by commas: a comma in a value would split it. The
 * server unescapes q once more, as Harbor does (a `+` there is a space): the value goes escaped,
 * or a robot's name (`robot$project+ci`) would match nothing.
 */
function term(key: string, value: string): string | undefined {
  const clean = value.replace(/,/g, "").trim();
  return clean ? `${key}=${encodeURIComponent(clean)}` : undefined;
}

function Logs({ project }: { project: Project }) {
  const t = useT(projectsMessages);
  const format = useFormat();
  const location = useLocation();
  const operation = location.query.get("operation") ?? "";
  const username = location.query.get("user") ?? "";
  const logs = usePagedList<AuditEntry>(
    `/projects/${encodeURIComponent(project.name)}/auditlog-exts`,
    () => {
      const q = [term("operation", operation), term("username", username)].filter(Boolean).join(",");
      return q ? { q } : {};
    },
    [operation, username],
  );
  const [operationInput, setOperationInput] = useState(operation);
  const [userInput, setUserInput] = useState(username);

  return (
    <>
      <h2>{t("logsTitle")}</h2>
      <form
        class="filters"
        aria-label={t("filtersLabel")}
        onSubmit={(event) => {
          event.preventDefault();
          setQuery({ operation: operationInput || undefined, user: userInput.trim() || undefined, page: undefined });
        }}
      >
        <div class="field">
          <label for="log-operation">{t("operation")}</label>
          <select
            id="log-operation"
            value={operationInput}
            onChange={(event) => setOperationInput(event.currentTarget.value)}
          >
            <option value="">{t("anyOperation")}</option>
            {OPERATIONS.map((op) => (
              <option key={op.value} value={op.value}>
                {t(op.label)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="log-user">{t("filterUser")}</label>
          <input
            id="log-user"
            type="search"
            value={userInput}
            onInput={(event) => setUserInput(event.currentTarget.value)}
          />
        </div>
        <button type="submit">{t("filter")}</button>
      </form>
      <PagedTable
        list={logs}
        caption={t("logsTitle")}
        rowKey={(entry) => entry.id}
        empty={t("noLogs")}
        columns={auditColumns({
          t,
          userHeader: t("userColumn"),
          dateTime: format.dateTime,
          operation: (operation) => {
            const known = OPERATIONS.find((op) => op.value === operation);
            return known ? t(known.label) : operation;
          },
        })}
      />
    </>
  );
}

export function ProjectLogsPage({ projectId }: { projectId: string }) {
  const t = useT(projectsMessages);
  return (
    <ProjectFrame projectId={projectId} title={t("logsTitle")}>
      {(project) => <Logs project={project} />}
    </ProjectFrame>
  );
}
