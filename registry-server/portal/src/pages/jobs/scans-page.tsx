// Scan all (Harbor's /system/scanAll and /scans/all/metrics): the latest run's progress, its
// schedule, the runs, and Run now. Without a default scanner the API refuses (412): shown as is.

import { useState } from "preact/hooks";
import { get, post } from "../../api.ts";
import { PagedTable } from "../../components/paged-table.tsx";
import { ErrorMessage } from "../../components/status.tsx";
import { usePagedList } from "../../hooks/use-paged-list.ts";
import { useResource } from "../../hooks/use-resource.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import type { SystemJobRun } from "./gc-page.tsx";
import { JobControls, JobsFrame, StatusBadge } from "./job-parts.tsx";
import { jobsMessages } from "./jobs-messages.ts";

interface ScanMetrics {
  readonly total?: number;
  readonly completed?: number;
  readonly ongoing?: boolean;
  readonly trigger?: string;
}

export function ScansPage() {
  const t = useT(jobsMessages);
  const format = useFormat();
  const metrics = useResource((signal) => get<ScanMetrics>("/scans/all/metrics", {}, signal), []);
  const runs = usePagedList<SystemJobRun>("/system/scanAll");
  const [failure, setFailure] = useState<unknown>();
  const [notice, setNotice] = useState("");
  const runNow = () => {
    setFailure(undefined);
    post("/system/scanAll/schedule", { schedule: { type: "Manual" } }).then(() => {
      setNotice(t("scanOngoing"));
      metrics.reload();
      runs.reload();
    }, setFailure);
  };
  return (
    <JobsFrame title={t("tabScans")}>
      <h2>{t("scanAll")}</h2>
      <p>{t("scanIntro")}</p>
      {metrics.error !== undefined && <ErrorMessage error={metrics.error} retry={metrics.reload} />}
      {metrics.data && (
        <dl class="facts" aria-label={t("scanProgress")}>
          <dt>{t("scanTotal")}</dt>
          <dd>{format.number(metrics.data.total ?? 0)}</dd>
          <dt>{t("scanCompleted")}</dt>
          <dd>{format.number(metrics.data.completed ?? 0)}</dd>
          <dt>{t("scanOngoing")}</dt>
          <dd>{metrics.data.ongoing ? "✓" : "—"}</dd>
        </dl>
      )}
      <JobControls schedule="/system/scanAll/schedule" notice={notice} failure={failure}>
        <button type="button" class="primary" onClick={runNow}>
          {t("runNow")}
        </button>
      </JobControls>
      <h2>{t("scanHistory")}</h2>
      <PagedTable
        list={runs}
        caption={t("scanHistory")}
        rowKey={(row) => row.id}
        columns={[
          { header: t("id"), numeric: true, cell: (row) => row.id },
          { header: t("status"), cell: (row) => <StatusBadge status={row.job_status} /> },
          { header: t("trigger"), cell: (row) => row.job_kind ?? "" },
          { header: t("started"), cell: (row) => format.dateTime(row.creation_time) },
          { header: t("updated"), cell: (row) => format.dateTime(row.update_time) },
        ]}
        fixedPageSize
      />
    </JobsFrame>
  );
}
