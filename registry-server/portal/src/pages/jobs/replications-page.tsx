// Replications (Harbor's /replication/policies and /replication/executions): the policies with a
// Start button each, and per policy (/jobs/replications/{id}) its executions, an execution's
// tasks and a task's log. Lists refresh while an execution is still in progress.

import { useState } from "preact/hooks";
import { createdId, get, list, post } from "../../api.ts";
import { DataTable } from "../../components/data-table.tsx";
import { PagedTable } from "../../components/paged-table.tsx";
import { ErrorMessage, Loading } from "../../components/status.tsx";
import { usePagedList } from "../../hooks/use-paged-list.ts";
import { useResource } from "../../hooks/use-resource.ts";
import { common } from "../../i18n/common.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { Link, navigate } from "../../router.tsx";
import { JobControls, JobLog, JobsFrame, RUNNING, StatusBadge, usePoll } from "./job-parts.tsx";
import { jobsMessages } from "./jobs-messages.ts";

interface Policy {
  readonly id: number;
  readonly name: string;
  readonly enabled: boolean;
  readonly src_registry?: { readonly id: number; readonly name: string } | null;
  readonly dest_registry?: { readonly id: number; readonly name: string } | null;
}

interface Execution {
  readonly id: number;
  readonly status: string;
  readonly trigger: string;
  readonly start_time?: string;
  readonly total?: number;
  readonly succeed?: number;
  readonly failed?: number;
}

interface Task {
  readonly id: number;
  readonly status: string;
  readonly operation?: string;
  readonly src_resource?: string;
  readonly dst_resource?: string;
  readonly start_time?: string;
}

function registryName(registry: Policy["src_registry"], local: string): string {
  return registry && registry.id > 0 ? registry.name : local;
}

export function ReplicationsPage() {
  const t = useT(jobsMessages);
  const tc = useT(common);
  const policies = usePagedList<Policy>("/replication/policies");
  const [failure, setFailure] = useState<unknown>();
  const start = (policy: Policy) => {
    setFailure(undefined);
    post("/replication/executions", { policy_id: policy.id }).then(
      () => navigate(`/jobs/replications/${policy.id}`),
      setFailure,
    );
  };
  return (
    <JobsFrame title={t("tabReplications")}>
      <h2>{t("policies")}</h2>
      {failure !== undefined && <ErrorMessage error={failure} />}
      <PagedTable
        list={policies}
        caption={t("policies")}
        rowKey={(policy) => policy.id}
        columns={[
          {
            header: t("policy"),
            cell: (policy) => <Link href={`/jobs/replications/${policy.id}`}>{policy.name}</Link>,
          },
          { header: t("source"), cell: (policy) => registryName(policy.src_registry, t("thisRegistry")) },
          { header: t("destination"), cell: (policy) => registryName(policy.dest_registry, t("thisRegistry")) },
          { header: t("enabled"), cell: (policy) => (policy.enabled ? tc("yes") : tc("no")) },
          {
            header: t("start"),
            cell: (policy) => (
              <button type="button" aria-label={t("startPolicy", { name: policy.name })} onClick={() => start(policy)}>
                {t("start")}
              </button>
            ),
          },
        ]}
        fixedPageSize
      />
    </JobsFrame>
  );
}

function Tasks({ execution }: { execution: Execution }) {
  const t = useT(jobsMessages);
  const format = useFormat();
  const tasks = useResource(
    (signal) => list<Task>(`/replication/executions/${execution.id}/tasks`, { page: 1, page_size: 100 }, signal),
    [execution.id, execution.status],
  );
  const [shown, setShown] = useState<number>();
  if (tasks.error !== undefined) return <ErrorMessage error={tasks.error} retry={tasks.reload} />;
  if (!tasks.data) return <Loading />;
  return (
    <section aria-labelledby="tasks-title">
      <h3 id="tasks-title">{t("tasksOf", { id: execution.id })}</h3>
      <DataTable
        caption={t("tasksOf", { id: execution.id })}
        rows={tasks.data.items}
        rowKey={(task) => task.id}
        columns={[
          { header: t("id"), numeric: true, cell: (task) => task.id },
          { header: t("operation"), cell: (task) => task.operation ?? "" },
          { header: t("resource"), cell: (task) => `${task.src_resource ?? ""} → ${task.dst_resource ?? ""}` },
          { header: t("status"), cell: (task) => <StatusBadge status={task.status} /> },
          { header: t("started"), cell: (task) => format.dateTime(task.start_time) },
          {
            header: t("log"),
            cell: (task) => (
              <button
                type="button"
                aria-expanded={shown === task.id}
                onClick={() => setShown(shown === task.id ? undefined : task.id)}
              >
                {shown === task.id ? t("hideLog") : t("showTaskLog", { id: task.id })}
              </button>
            ),
          },
        ]}
      />
      {shown !== undefined && (
        <>
          <h4>{t("taskLog", { id: shown })}</h4>
          <JobLog
            path={`/replication/executions/${execution.id}/tasks/${shown}/log`}
            label={t("taskLog", { id: shown })}
          />
        </>
      )}
    </section>
  );
}

export function ReplicationExecutionsPage({ policyId }: { policyId: string }) {
  const t = useT(jobsMessages);
  const format = useFormat();
  const policy = useResource(
    (signal) => get<Policy>(`/replication/policies/${encodeURIComponent(policyId)}`, {}, signal),
    [policyId],
  );
  const executions = usePagedList<Execution>("/replication/executions", () => ({ policy_id: policyId }), [policyId]);
  const [shown, setShown] = useState<number>();
  const [failure, setFailure] = useState<unknown>();
  const [notice, setNotice] = useState("");
  usePoll(executions.data?.items.some((execution) => RUNNING.has(execution.status)) ?? false, executions.reload);
  const name = policy.data?.name ?? policyId;
  const start = () => {
    setFailure(undefined);
    post("/replication/executions", { policy_id: Number(policyId) }).then((reply) => {
      setNotice(t("started_", { id: createdId(reply) ?? "" }));
      executions.reload();
    }, setFailure);
  };
  const selected = executions.data?.items.find((execution) => execution.id === shown);
  return (
    <JobsFrame title={t("executionsOf", { name })}>
      <p>
        <Link href="/jobs/replications">{t("allPolicies")}</Link>
      </p>
      <h2>{t("executionsOf", { name })}</h2>
      {policy.error !== undefined && <ErrorMessage error={policy.error} retry={policy.reload} />}
      <JobControls notice={notice} failure={failure}>
        <button type="button" class="primary" onClick={start} aria-label={t("startPolicy", { name })}>
          {t("start")}
        </button>
      </JobControls>
      <PagedTable
        list={executions}
        caption={t("executionsOf", { name })}
        pagerLabel={t("executions")}
        rowKey={(execution) => execution.id}
        columns={[
          { header: t("id"), numeric: true, cell: (execution) => execution.id },
          { header: t("status"), cell: (execution) => <StatusBadge status={execution.status} /> },
          { header: t("trigger"), cell: (execution) => execution.trigger },
          { header: t("started"), cell: (execution) => format.dateTime(execution.start_time) },
          { header: t("total"), numeric: true, cell: (execution) => format.number(execution.total ?? 0) },
          { header: t("succeeded"), numeric: true, cell: (execution) => format.number(execution.succeed ?? 0) },
          { header: t("failed"), numeric: true, cell: (execution) => format.number(execution.failed ?? 0) },
          {
            header: t("tasks"),
            cell: (execution) => (
              <button
                type="button"
                aria-expanded={shown === execution.id}
                onClick={() => setShown(shown === execution.id ? undefined : execution.id)}
              >
                {t("showTasks", { id: execution.id })}
              </button>
            ),
          },
        ]}
        fixedPageSize
      />
      {selected && <Tasks execution={selected} />}
    </JobsFrame>
  );
}
