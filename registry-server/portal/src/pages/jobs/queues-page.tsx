// The job service's queues and worker pools (Harbor's /jobservice/queues and /jobservice/pools):
// what waits, for how long, and who works. Read-only here.

import { get } from "../../api.ts";
import { DataTable } from "../../components/data-table.tsx";
import { ErrorMessage, Loading } from "../../components/status.tsx";
import { useResource } from "../../hooks/use-resource.ts";
import { common } from "../../i18n/common.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { JobsFrame } from "./job-parts.tsx";
import { jobsMessages } from "./jobs-messages.ts";

interface Queue {
  readonly job_type: string;
  readonly count: number;
  readonly latency: number;
  readonly paused: boolean;
}

interface Pool {
  readonly worker_pool_id: string;
  readonly host: string;
  readonly concurrency: number;
  readonly heartbeat_at?: string;
}

export function QueuesPage() {
  const t = useT(jobsMessages);
  const tc = useT(common);
  const format = useFormat();
  const queues = useResource((signal) => get<Queue[]>("/jobservice/queues", {}, signal), []);
  const pools = useResource((signal) => get<Pool[]>("/jobservice/pools", {}, signal), []);
  return (
    <JobsFrame title={t("tabQueues")}>
      <h2>{t("queues")}</h2>
      {queues.error !== undefined && <ErrorMessage error={queues.error} retry={queues.reload} />}
      {queues.loading && !queues.data && <Loading />}
      {queues.data && (
        <DataTable
          caption={t("queues")}
          rows={queues.data}
          rowKey={(queue) => queue.job_type}
          columns={[
            { header: t("jobType"), cell: (queue) => queue.job_type },
            { header: t("pending"), numeric: true, cell: (queue) => format.number(queue.count) },
            { header: t("latency"), numeric: true, cell: (queue) => format.number(queue.latency) },
            { header: t("paused"), cell: (queue) => (queue.paused ? tc("yes") : tc("no")) },
          ]}
        />
      )}
      <h2>{t("pools")}</h2>
      {pools.error !== undefined && <ErrorMessage error={pools.error} retry={pools.reload} />}
      {pools.data && (
        <DataTable
          caption={t("pools")}
          rows={pools.data}
          rowKey={(pool) => pool.worker_pool_id}
          columns={[
            { header: t("id"), cell: (pool) => <code>{pool.worker_pool_id}</code> },
            { header: t("host"), cell: (pool) => pool.host },
            { header: t("concurrency"), numeric: true, cell: (pool) => format.number(pool.concurrency) },
            { header: t("heartbeat"), cell: (pool) => format.dateTime(pool.heartbeat_at) },
          ]}
        />
      )}
      <p class="hint">{t("retentionNote")}</p>
    </JobsFrame>
  );
}
