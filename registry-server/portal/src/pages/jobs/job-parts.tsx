// Pieces the jobs pages share: a job's status as a badge, the frame with the tabs, a job's schedule
// and the buttons that start it with what starting said, a log shown on request in a <pre>, and a
// poll that refreshes a list while some of its runs are still going.

import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";
import { get, getText } from "../../api.ts";
import { ErrorMessage, Loading } from "../../components/status.tsx";
import { Tabs } from "../../components/tabs.tsx";
import { useResource } from "../../hooks/use-resource.ts";
import { useTitle } from "../../hooks/use-title.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { jobsMessages } from "./jobs-messages.ts";
import "./jobs.css";

const OK = new Set(["Success", "Succeed"]);
const BAD = new Set(["Error", "Failed"]);
export const RUNNING = new Set(["Pending", "Running", "InProgress", "Scheduled"]);

export function StatusBadge({ status }: { status: string }) {
  const kind = OK.has(status) ? " badge-ok" : BAD.has(status) ? " badge-critical" : "";
  return <span class={`badge${kind}`}>{status}</span>;
}

export function JobsFrame({ title, children }: { title: string; children: ComponentChildren }) {
  const t = useT(jobsMessages);
  useTitle(`${title} · ${t("title")}`);
  return (
    <>
      <h1>{t("title")}</h1>
      <Tabs
        label={t("tabsLabel")}
        tabs={[
          { href: "/jobs", label: t("tabGc"), exact: true },
          { href: "/jobs/replications", label: t("tabReplications") },
          { href: "/jobs/scans", label: t("tabScans") },
          { href: "/jobs/queues", label: t("tabQueues") },
        ]}
      />
      {children}
    </>
  );
}

/** A job's log (text), loaded when shown. */
interface Schedule {
  readonly schedule?: { readonly type?: string; readonly cron?: string; readonly next_scheduled_time?: string };
}

export function ScheduleLine({ path }: { path: string }) {
  const t = useT(jobsMessages);
  const format = useFormat();
  const schedule = useResource((signal) => get<Schedule | undefined>(path, {}, signal), [path]);
  if (schedule.error !== undefined) return null;
  const found = schedule.data?.schedule;
  return (
    <p>
      <strong>{t("schedule")}:</strong>{" "}
      {found?.type && found.type !== "None"
        ? `${found.type}${found.cron ? ` (${found.cron})` : ""}${found.next_scheduled_time ? `, ${t("nextRun", { time: format.dateTime(found.next_scheduled_time) })}` : ""}`
        : t("noSchedule")}
    </p>
  );
}

/**
 * The buttons that start a job (with the job's schedule above them when it has one), then what the
 * last start said: a notice read out by screen readers, or the API's refusal.
 */
export function JobControls({
  schedule,
  notice,
  failure,
  children,
}: {
  /** The job's schedule path (GET …/schedule), for the line above the buttons. */
  schedule?: string;
  notice: string;
  failure: unknown;
  children: ComponentChildren;
}) {
  return (
    <>
      {schedule !== undefined && <ScheduleLine path={schedule} />}
      <div class="job-controls">{children}</div>
      <p role="status" class="status">
        {notice}
      </p>
      {failure !== undefined && <ErrorMessage error={failure} />}
    </>
  );
}

export function JobLog({ path, label }: { path: string; label: string }) {
  const t = useT(jobsMessages);
  const log = useResource((signal) => getText(path, signal), [path]);
  if (log.error !== undefined) return <ErrorMessage error={log.error} retry={log.reload} />;
  if (log.data === undefined) return <Loading />;
  if (log.data === "") return <p class="empty">{t("logEmpty")}</p>;
  return (
    <pre class="job-log" aria-label={label} tabIndex={0}>
      {log.data}
    </pre>
  );
}

/** Reloads every 2 s while `active`, for at most 10 minutes. */
export function usePoll(active: boolean, reload: () => void): void {
  useEffect(() => {
    if (!active) return;
    const started = Date.now();
    const timer = setInterval(() => {
      if (Date.now() - started > 600_000) clearInterval(timer);
      else reload();
    }, 2_000);
    return () => clearInterval(timer);
  }, [active, reload]);
}
