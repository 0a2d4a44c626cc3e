// A project's tag retention (Harbor's /retentions/{id}, the id in the project's `retention_id`):
// the rules in words, the schedule, runs and dry runs started from the page, and the executions a
// page at a time with each one's tasks (one per repository) and a task's log. While a run is
// going, the list refreshes itself every few seconds (for a bounded time). The bytes a dry run
// says garbage collection would free are in its log: the API has no field for them.

import { useEffect, useState } from "preact/hooks";
import { createdId, get, getText, post } from "../../api.ts";
import { DataTable } from "../../components/data-table.tsx";
import { PagedTable, PagedView } from "../../components/paged-table.tsx";
import { ErrorMessage, Loading } from "../../components/status.tsx";
import { useResource } from "../../hooks/use-resource.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import type { Project } from "../projects/project-types.ts";
import { selectorWords } from "./immutable-rules.tsx";
import { useLocalPagedList } from "./local-paged-list.ts";
import { policiesMessages, type PoliciesMessage } from "./policies-messages.ts";
import {
  FINAL_STATUSES,
  type RetentionExecution,
  type RetentionPolicy,
  type RetentionRule,
  type RetentionTask,
} from "./policy-types.ts";

const POLL_MS = 2_000;
/** About five minutes of refreshing, then the Refresh button. */
const MAX_POLLS = 150;

export function RetentionSection({ project, editable }: { project: Project; editable: boolean }) {
  const t = useT(policiesMessages);
  const retentionId = project.metadata?.["retention_id"];
  return (
    <section aria-labelledby="retention-heading">
      <h2 id="retention-heading">{t("retentionHeading")}</h2>
      {retentionId === undefined ? (
        <p class="empty">{t("retentionNone")}</p>
      ) : (
        <RetentionPolicyView id={retentionId} editable={editable} />
      )}
    </section>
  );
}

function RetentionPolicyView({ id, editable }: { id: string; editable: boolean }) {
  const t = useT(policiesMessages);
  const base = `/retentions/${encodeURIComponent(id)}`;
  const policy = useResource((signal) => get<RetentionPolicy>(base, {}, signal), [base]);
  const executions = useLocalPagedList<RetentionExecution>(`${base}/executions`);
  const [started, setStarted] = useState<number | undefined>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [polls, setPolls] = useState(0);
  const [expanded, setExpanded] = useState<number | undefined>();

  const running = executions.data?.items.some((execution) => !FINAL_STATUSES.has(execution.status)) ?? false;
  useEffect(() => {
    if (!running || executions.loading || polls >= MAX_POLLS) return undefined;
    const timer = setTimeout(() => {
      setPolls((n) => n + 1);
      executions.reload();
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [running, executions.loading, polls]);

  const run = async (dryRun: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      const reply = await post(`${base}/executions`, { dry_run: dryRun });
      setStarted(createdId(reply));
      setPolls(0);
      executions.setPage(1);
      executions.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (policy.error !== undefined) return <ErrorMessage error={policy.error} retry={policy.reload} />;
  if (!policy.data) return <Loading />;
  const cron = policy.data.trigger?.settings?.["cron"];
  return (
    <>
      <h3 class="policy-subheading">{t("retentionRules")}</h3>
      <ul class="policy-rules">
        {policy.data.rules.map((rule) => (
          <li key={rule.id}>
            <RuleWords rule={rule} />
          </li>
        ))}
      </ul>
      <dl class="facts">
        <dt>{t("schedule")}</dt>
        <dd>{typeof cron === "string" && cron !== "" ? <code>{cron}</code> : t("scheduleNone")}</dd>
      </dl>
      {editable && (
        <>
          <div class="toolbar">
            <button type="button" class="primary" disabled={busy} onClick={() => void run(false)}>
              {t("runNow")}
            </button>
            <button type="button" disabled={busy} onClick={() => void run(true)} aria-describedby="dry-run-hint">
              {t("dryRun")}
            </button>
          </div>
          <p id="dry-run-hint" class="hint">
            {t("dryRunHint")}
          </p>
        </>
      )}
      {started !== undefined && (
        <p role="status" class="copy-result">
          {t("started", { id: started })}
        </p>
      )}
      {error !== undefined && <ErrorMessage error={error} />}
      <h3 class="policy-subheading">{t("executions")}</h3>
      <div class="toolbar">
        <button type="button" onClick={executions.reload}>
          {t("refresh")}
        </button>
      </div>
      <PagedView list={executions} label={t("executions")}>
        {(items) => (
          <ExecutionTable
            executions={items}
            expanded={expanded}
            onToggle={(execution) => setExpanded(expanded === execution ? undefined : execution)}
          />
        )}
      </PagedView>
      {expanded !== undefined && <ExecutionTasks base={base} execution={expanded} />}
    </>
  );
}

function RuleWords({ rule }: { rule: RetentionRule }) {
  const t = useT(policiesMessages);
  const template = `template_${rule.template}` as PoliciesMessage;
  const n = rule.params[rule.template];
  const what =
    template in policiesMessages.en
      ? t(template, { n: typeof n === "number" || typeof n === "string" ? n : "" })
      : `${rule.template} ${JSON.stringify(rule.params)}`;
  return (
    <>
      {t("retentionRule", {
        repositories: selectorWords(t, rule.scope_selectors["repository"]),
        tags: selectorWords(t, rule.tag_selectors),
        what,
      })}
      {rule.disabled && ` ${t("retentionRuleDisabled")}`}
    </>
  );
}

function ExecutionTable({
  executions,
  expanded,
  onToggle,
}: {
  executions: readonly RetentionExecution[];
  expanded: number | undefined;
  onToggle: (execution: number) => void;
}) {
  const t = useT(policiesMessages);
  const format = useFormat();
  return (
    <DataTable
      caption={t("executions")}
      rows={executions}
      rowKey={(execution) => execution.id}
      empty={t("executionsNone")}
      columns={[
        {
          header: t("execution"),
          cell: (execution) => (
            <button
              type="button"
              aria-expanded={expanded === execution.id}
              aria-controls={expanded === execution.id ? `retention-tasks-${execution.id}` : undefined}
              onClick={() => onToggle(execution.id)}
            >
              {t(expanded === execution.id ? "hideTasks" : "showTasks", { id: execution.id })}
            </button>
          ),
        },
        { header: t("status"), cell: (execution) => <StatusBadge status={execution.status} /> },
        { header: t("kind"), cell: (execution) => (execution.dry_run ? t("dryRunKind") : t("realRun")) },
        { header: t("trigger"), cell: (execution) => execution.trigger },
        { header: t("startTime"), cell: (execution) => format.dateTime(execution.start_time) },
        { header: t("endTime"), cell: (execution) => format.dateTime(execution.end_time) },
      ]}
    />
  );
}

function StatusBadge({ status }: { status: string }) {
  const tone =
    status === "Success" ? "badge badge-ok" : status === "Error" || status === "Failed" ? "badge badge-high" : "badge";
  return <span class={tone}>{status}</span>;
}

function ExecutionTasks({ base, execution }: { base: string; execution: number }) {
  const t = useT(policiesMessages);
  const tasks = useLocalPagedList<RetentionTask>(`${base}/executions/${execution}/tasks`);
  const [shown, setShown] = useState<RetentionTask | undefined>();
  const format = useFormat();
  return (
    <section id={`retention-tasks-${execution}`} aria-labelledby={`retention-tasks-heading-${execution}`}>
      <h3 id={`retention-tasks-heading-${execution}`} class="policy-subheading">
        {t("tasks", { id: execution })}
      </h3>
      <PagedTable
        list={tasks}
        caption={t("tasks", { id: execution })}
        rowKey={(task) => task.id}
        empty={t("tasksNone")}
        columns={[
          { header: t("repository"), cell: (task) => <code>{task.repository}</code> },
          { header: t("status"), cell: (task) => <StatusBadge status={task.status} /> },
          { header: t("total"), numeric: true, cell: (task) => format.number(task.total) },
          { header: t("retained"), numeric: true, cell: (task) => format.number(task.retained) },
          {
            header: t("logOf", { repository: "" }).trim(),
            cell: (task) => (
              <button
                type="button"
                aria-expanded={shown?.id === task.id}
                onClick={() => setShown(shown?.id === task.id ? undefined : task)}
              >
                {t(shown?.id === task.id ? "hideLog" : "showLog", { repository: task.repository })}
              </button>
            ),
          },
        ]}
      />
      {shown && <TaskLog path={`${base}/executions/${execution}/tasks/${shown.id}`} repository={shown.repository} />}
    </section>
  );
}

function TaskLog({ path, repository }: { path: string; repository: string }) {
  const t = useT(policiesMessages);
  const log = useResource((signal) => getText(path, signal), [path]);
  return (
    <section aria-label={t("logOf", { repository })}>
      <h4 class="policy-subheading">{t("logOf", { repository })}</h4>
      {log.error !== undefined && <ErrorMessage error={log.error} retry={log.reload} />}
      {log.loading && log.data === undefined && <Loading />}
      {log.data !== undefined && (
        <pre class="policy-log" tabIndex={0}>
          {log.data}
        </pre>
      )}
    </section>
  );
}
