// What Harbor calls the job service monitor: the processes running jobs (worker pools) and what
// each of their workers is busy with, the queue of each kind of job with its backlog and latency,
// and the administrator's levers on them: pause and resume a queue, stop what waits in it, stop a
// running job. Everything is read from and written to the metadata database, so the view and the
// levers cover every process and replica sharing it, whichever one answers the request.

import type { ExecutionRecord, WorkerPoolRecord } from "../metadata/job-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { POOL_HEARTBEAT_MS, SCHEDULER_QUEUE, type JobService } from "./job-service.ts";

/** Harbor's word for every pool, every queue or every running job. */
export const ALL = "all";

/** One of a pool's workers (an execution slot), idle or running an execution. */
export interface WorkerView {
  readonly id: string;
  readonly poolId: string;
  readonly execution?: ExecutionRecord;
}

export interface QueueView {
  readonly jobType: string;
  /** Executions waiting (for the scheduler's queue: schedules due and not fired). */
  readonly count: number;
  /** How long the oldest waiting one has waited, in seconds. */
  readonly latencySeconds: number;
  readonly paused: boolean;
}

export type QueueAction = "pause" | "resume" | "stop";

export class JobMonitor {
  private readonly store: MetadataStore;
  private readonly jobs: JobService;
  private readonly now: () => number;

  constructor(deps: { store: MetadataStore; jobs: JobService; now?: () => number }) {
    this.store = deps.store;
    this.jobs = deps.jobs;
    this.now = deps.now ?? Date.now;
  }

  /** The pools alive now: those that reported within three heartbeats. */
  pools(): Promise<WorkerPoolRecord[]> {
    return this.store.jobs.listPools(new Date(this.now() - 3 * POOL_HEARTBEAT_MS));
  }

  /** The workers of a pool, or of every pool; undefined when there is no such pool. */
  async workers(poolId: string): Promise<WorkerView[] | undefined> {
    const pools = (await this.pools()).filter((pool) => poolId.toLowerCase() === ALL || pool.id === poolId);
    if (pools.length === 0 && poolId.toLowerCase() !== ALL) return undefined;
    const running = await this.store.jobs.listRunning();
    return pools.flatMap((pool) => {
      const mine = running.filter((execution) => execution.owner === pool.id);
      // A pool holds `concurrency` slots; after a change of setting it may briefly run more.
      const slots = Math.max(pool.concurrency, mine.length);
      return Array.from({ length: slots }, (_, n) => ({
        id: `${pool.id}/${n}`,
        poolId: pool.id,
        ...(mine[n] && { execution: mine[n] }),
      }));
    });
  }

  /** Every queue: the kinds this process runs, those with waiting executions or a pause, and the scheduler's. */
  async queues(): Promise<QueueView[]> {
    const now = this.now();
    const stored = new Map((await this.store.jobs.listQueues()).map((queue) => [queue.vendorType, queue]));
    const due = await this.store.jobs.dueSchedules(new Date(now));
    const types = new Set([...this.jobs.vendorTypes, ...stored.keys(), SCHEDULER_QUEUE]);
    return [...types].sort().map((jobType) => {
      const queue = stored.get(jobType);
      const oldest = jobType === SCHEDULER_QUEUE ? due[0]?.nextRunAt : queue?.oldestPendingAt;
      return {
        jobType,
        count: jobType === SCHEDULER_QUEUE ? due.length : (queue?.pending ?? 0),
        latencySeconds: oldest ? Math.max(0, Math.floor((now - oldest.getTime()) / 1000)) : 0,
        paused: queue?.paused ?? false,
      };
    });
  }

  /**
   * Pauses, resumes or stops (empties) the queue of a kind, or every queue for "all". False when
   * there is no such queue.
   */
  async act(jobType: string, action: QueueAction): Promise<boolean> {
    const known = (await this.queues()).map((queue) => queue.jobType);
    const wanted = jobType.toLowerCase() === ALL ? known : known.filter((type) => type === jobType.toUpperCase());
    if (wanted.length === 0) return false;
    const at = new Date(this.now());
    for (const type of wanted) {
      if (action === "stop") {
        if (type === SCHEDULER_QUEUE) await this.jobs.skipDueSchedules();
        else await this.store.jobs.stopPending(type, at);
      } else {
        await this.store.jobs.setQueuePaused(type, action === "pause", at);
      }
    }
    if (action === "resume") this.jobs.wake();
    return true;
  }

  /** Whether the schedules are paused (the scheduler's queue is). */
  async schedulerPaused(): Promise<boolean> {
    return (await this.store.jobs.pausedQueues()).includes(SCHEDULER_QUEUE);
  }

  /**
   * Asks a running execution to stop, or every running one for "all". As in Harbor, an id that
   * names no execution is not an error: the job may have just ended.
   */
  async stopRunning(jobId: string): Promise<void> {
    if (jobId.toLowerCase() === ALL) {
      for (const execution of await this.store.jobs.listRunning()) await this.jobs.requestStop(execution.id);
      return;
    }
    if (/^\d{1,15}$/.test(jobId)) await this.jobs.requestStop(Number(jobId));
  }
}
