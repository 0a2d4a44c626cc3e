// The audit log (Harbor's /auditlog-exts: the administrator sees everything, a project
// administrator their projects'), newest first, a page at a time, filtered by Harbor's `q`
// (user, operation, resource, resource type, time range) kept in the URL.

import { useState } from "preact/hooks";
import { Field } from "../../components/field.tsx";
import { PagedTable } from "../../components/paged-table.tsx";
import { usePagedList } from "../../hooks/use-paged-list.ts";
import { useTitle } from "../../hooks/use-title.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { setQuery, useLocation } from "../../router.tsx";
import { auditColumns, type AuditEntry } from "./audit-columns.tsx";
import { auditMessages } from "./audit-messages.ts";
import "./audit.css";

// As this server records them: a push is the artifact's "create", as in Harbor.
const OPERATIONS = ["create", "delete", "update", "pull"] as const;
const FILTERS = ["username", "operation", "resource", "resource_type", "from", "to"] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

/** A datetime-local value as Harbor's q time ("2024-01-31 23:59:59", UTC). */
function harborTime(value: string): string {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString().slice(0, 19).replace("T", " ");
}

/**
 * Harbor's q: exact user, operation and type; a resource substring (~); an op_time range. The
 * server unescapes q once more, as Harbor does (a `+` there is a space): typed values go escaped,
 * or a robot's name (`robot$project+ci`) would match nothing.
 */
export function auditQuery(filters: Filters): string {
  const terms: string[] = [];
  const typed = (value: string) => encodeURIComponent(value);
  if (filters.username) terms.push(`username=${typed(filters.username)}`);
  if (filters.operation) terms.push(`operation=${filters.operation}`);
  if (filters.resource) terms.push(`resource=~${typed(filters.resource)}`);
  if (filters.resource_type) terms.push(`resource_type=${typed(filters.resource_type)}`);
  if (filters.from || filters.to) {
    terms.push(`op_time=[${filters.from ? harborTime(filters.from) : ""}~${filters.to ? harborTime(filters.to) : ""}]`);
  }
  return terms.join(",");
}

export function AuditPage() {
  const t = useT(auditMessages);
  const format = useFormat();
  useTitle(t("title"));
  const location = useLocation();
  const applied = Object.fromEntries(FILTERS.map((key) => [key, location.query.get(key) ?? ""])) as Filters;
  const q = auditQuery(applied);
  const entries = usePagedList<AuditEntry>("/auditlog-exts", () => (q ? { q } : {}), [q]);
  const [form, setForm] = useState<Filters>(applied);
  const set = (key: keyof Filters, value: string) => setForm((previous) => ({ ...previous, [key]: value }));
  const text = (key: keyof Filters, label: string, time = false) => (
    <Field label={label}>
      {(control) =>
        time ? (
          <input
            {...control}
            type="datetime-local"
            value={form[key]}
            onInput={(e) => set(key, e.currentTarget.value)}
          />
        ) : (
          <input {...control} type="text" value={form[key]} onInput={(e) => set(key, e.currentTarget.value)} />
        )
      }
    </Field>
  );
  return (
    <>
      <h1>{t("title")}</h1>
      <form
        role="search"
        aria-label={t("filters")}
        class="audit-filters"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery({ ...form, page: undefined });
        }}
      >
        {text("username", t("username"))}
        <Field label={t("operation")}>
          {(control) => (
            <select {...control} value={form.operation} onChange={(e) => set("operation", e.currentTarget.value)}>
              <option value="">{t("anyOperation")}</option>
              {OPERATIONS.map((operation) => (
                <option key={operation} value={operation}>
                  {operation}
                </option>
              ))}
            </select>
          )}
        </Field>
        {text("resource", t("resource"))}
        {text("resource_type", t("resourceType"))}
        {text("from", t("from"), true)}
        {text("to", t("to"), true)}
        <div class="actions">
          <button
            type="button"
            onClick={() => {
              const empty = Object.fromEntries(FILTERS.map((key) => [key, ""])) as Filters;
              setForm(empty);
              setQuery({ ...empty, page: undefined });
            }}
          >
            {t("clear")}
          </button>
          <button type="submit" class="primary">
            {t("apply")}
          </button>
        </div>
      </form>
      <PagedTable
        list={entries}
        caption={t("listLabel")}
        rowKey={(entry) => entry.id}
        columns={auditColumns({ t, userHeader: t("username"), dateTime: format.dateTime })}
      />
    </>
  );
}
