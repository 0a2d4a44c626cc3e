// Garbage collection (Harbor's /system/gc): its schedule, its runs with what each freed, a run's
// log, and Run now / Dry run for the administrator (POST /system/gc/schedule, type Manual).

import { useState } from "preact/hooks";
import { createdId, post } from "../../api.ts";
import { PagedTable } from "../../components/paged-table.tsx";
import { usePagedList } from "../../hooks/use-paged-list.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { JobControls, JobLog, JobsFrame, RUNNING, StatusBadge, usePoll } from "./job-parts.tsx";
import { jobsMessages } from "./jobs-messages.ts";

export interface SystemJobRun {
  readonly id: number;
  readonly job_kind?: string;
  readonly job_status: string;
  readonly job_parameters?: string;
  readonly creation_time?: string;
  readonly update_time?: string;
}

function parameters(run: SystemJobRun): Record<string, unknown> {
  try {
    return JSON.parse(run.job_parameters ?? "{}") as Record<string, unknown>;
  } catch {
    return {};
  }
}

export function GcPage() {
  const t = useT(jobsMessages);
  const format = useFormat();
  const runs = usePagedList<SystemJobRun>("/system/gc");
  const [deleteUntagged, setDeleteUntagged] = useState(false);
  const [notice, setNotice] = useState("");
  const [failure, setFailure] = useState<unknown>();
  const [shown, setShown] = useState<number>();
  usePoll(runs.data?.items.some((run) => RUNNING.has(run.job_status)) ?? false, runs.reload);
  const run = (dryRun: boolean) => {
    setFailure(undefined);
    post("/system/gc/schedule", {
      schedule: { type: "Manual" },
      parameters: { dry_run: dryRun, delete_untagged: deleteUntagged },
    }).then((reply) => {
      const id = createdId(reply);
      setNotice(t("started_", { id: id ?? "" }));
      if (id !== undefined) setShown(id);
      runs.reload();
    }, setFailure);
  };
  return (
    <JobsFrame title={t("tabGc")}>
      <h2>{t("tabGc")}</h2>
      <p>{t("gcIntro")}</p>
      <JobControls schedule="/system/gc/schedule" notice={notice} failure={failure}>
        <label>
          <input
            type="checkbox"
            checked={deleteUntagged}
            onChange={(e) => setDeleteUntagged(e.currentTarget.checked)}
          />{" "}
          {t("deleteUntagged")}
        </label>
        <button type="button" class="primary" onClick={() => run(false)}>
          {t("runNow")}
        </button>
        <button type="button" onClick={() => run(true)}>
          {t("dryRun")}
        </button>
      </JobControls>
      <h2>{t("gcHistory")}</h2>
      <PagedTable
        list={runs}
        caption={t("gcHistory")}
        rowKey={(row) => row.id}
        columns={[
          { header: t("id"), numeric: true, cell: (row) => row.id },
          {
            header: t("kind"),
            cell: (row) => (parameters(row)["dry_run"] === true ? t("kindDry") : t("kindReal")),
          },
          { header: t("status"), cell: (row) => <StatusBadge status={row.job_status} /> },
          { header: t("trigger"), cell: (row) => row.job_kind ?? "" },
          {
            header: t("freed"),
            numeric: true,
            cell: (row) => format.bytes(Number(parameters(row)["freed_space"] ?? 0)),
          },
          {
            header: t("blobs"),
            numeric: true,
            cell: (row) => format.number(Number(parameters(row)["purged_blobs"] ?? 0)),
          },
          {
            header: t("manifests"),
            numeric: true,
            cell: (row) => format.number(Number(parameters(row)["purged_manifests"] ?? 0)),
          },
          { header: t("started"), cell: (row) => format.dateTime(row.creation_time) },
          {
            header: t("log"),
            cell: (row) => (
              <button
                type="button"
                aria-expanded={shown === row.id}
                onClick={() => setShown(shown === row.id ? undefined : row.id)}
              >
                {shown === row.id ? t("hideLog") : t("showLog", { id: row.id })}
              </button>
            ),
          },
        ]}
      />
      {shown !== undefined && (
        <section aria-labelledby="gc-log-title">
          <h3 id="gc-log-title">{t("logOf", { id: shown })}</h3>
          <JobLog
            key={`${shown}-${runs.data?.items.find((row) => row.id === shown)?.job_status ?? ""}`}
            path={`/system/gc/${shown}/log`}
            label={t("logOf", { id: shown })}
          />
        </section>
      )}
    </JobsFrame>
  );
}
