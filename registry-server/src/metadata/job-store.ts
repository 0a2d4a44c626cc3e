// The jobs area of the metadata store: the background work of the registry (audit log purge now;
// garbage collection, retention, scans, replication and webhook deliveries as they arrive), as
// Harbor models it. A schedule fires executions on a cron; an execution is one run, queued,
// claimed by one worker among every process and replica sharing the database, and finished with
// a status, a message, results and a log.
//
// Claiming is what makes a job run once: `claim` hands a queued execution (or one whose worker
// stopped renewing its lease: it died) to exactly one caller, and only that owner may renew or
// finish it. Firing a schedule is a compare-and-set on its next run time, so replicas polling at
// once create one execution between them. The contract suite in
// test/contracts/job-store-contract.ts pins these semantics down.

import type { Listing, Window } from "./identity-store.ts";

/** Harbor's execution statuses. */
export type ExecutionStatus = "Pending" | "Running" | "Stopped" | "Error" | "Success";
/** Harbor's triggers: started by a person, by a schedule, or by an event (a push…). */
export type ExecutionTrigger = "MANUAL" | "SCHEDULE" | "EVENT";

/** Lines kept per execution log; later lines are dropped (the job's summary says what it did). */
export const MAX_LOG_LINES = 10_000;
/** Longer log lines are cut to this many characters. */
export const MAX_LOG_LINE_LENGTH = 4096;

export const FINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(["Stopped", "Error", "Success"]);

export interface ExecutionRecord {
  readonly id: number;
  /** What kind of job: "PURGE_AUDIT_LOG", "GARBAGE_COLLECTION"… (Harbor's vendor type). */
  readonly vendorType: string;
  /** What it is for, when the kind has several (a project's retention policy id…); -1 for none. */
  readonly vendorId: number;
  readonly trigger: ExecutionTrigger;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly status: ExecutionStatus;
  /** Why it ended as it did (an error's message), or empty. */
  readonly statusMessage: string;
  /** What the job reports: counts, progress; kept when it ends. */
  readonly extraAttrs: Readonly<Record<string, unknown>>;
  /** Times it was claimed: a worker that died mid-run leaves it to be claimed again. */
  readonly attempts: number;
  /** A stop was asked for while it ran: its worker ends it as Stopped. */
  readonly stopRequested: boolean;
  /** The worker running it, while it runs. */
  readonly owner?: string;
  /** Until when the owner's claim holds unless renewed. */
  readonly leaseUntil?: Date;
  /** Not to be claimed before this time (a retry's backoff). */
  readonly notBefore?: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly startedAt?: Date;
  readonly endedAt?: Date;
}

export interface NewExecution {
  readonly vendorType: string;
  readonly vendorId?: number;
  readonly trigger: ExecutionTrigger;
  readonly parameters: Readonly<Record<string, unknown>>;
}

export interface ScheduleRecord {
  readonly id: number;
  readonly vendorType: string;
  readonly vendorId: number;
  /** Harbor's schedule type: "Hourly", "Daily", "Weekly", "Custom". */
  readonly cronType: string;
  /** Six fields, seconds first, as Harbor writes them. */
  readonly cron: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly nextRunAt: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/**
 * A part of an execution's work (a repository of a retention run, a slice of a garbage
 * collection), with its own status, attributes and log. Tasks run inside their execution, in the
 * worker that holds it; a run taken over after a restart finds the tasks the last one made.
 */
export interface TaskRecord {
  readonly id: number;
  readonly executionId: number;
  /** What the task works on, as its job names it ("library/nginx"). */
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly statusMessage: string;
  readonly extraAttrs: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly startedAt?: Date;
  readonly endedAt?: Date;
}

export interface TaskChange {
  readonly status?: ExecutionStatus;
  readonly statusMessage?: string;
  readonly extraAttrs?: Readonly<Record<string, unknown>>;
}

/**
 * A process running jobs (Harbor's worker pool), as it last reported itself: a pool that stopped
 * reporting is gone (it died, or was shut down).
 */
export interface WorkerPoolRecord {
  /** The process's worker id, as its executions' owner. */
  readonly id: string;
  readonly pid: number;
  readonly host: string;
  /** Executions it runs at once. */
  readonly concurrency: number;
  readonly startedAt: Date;
  readonly heartbeatAt: Date;
}

/** The queue of one kind of execution: those waiting, and whether it is paused. */
export interface QueueRecord {
  readonly vendorType: string;
  /** Pending executions. */
  readonly pending: number;
  /** When the oldest pending execution may run (its creation, or its retry's backoff). */
  readonly oldestPendingAt?: Date;
  /** A paused queue's executions wait: no worker claims them until it is resumed. */
  readonly paused: boolean;
}

export type NewSchedule = Omit<ScheduleRecord, "id" | "createdAt" | "updatedAt" | "vendorId"> & {
  readonly vendorId?: number;
};

/** The outcome a worker records when an execution ends. */
export interface ExecutionEnd {
  readonly status: "Stopped" | "Error" | "Success";
  readonly message: string;
  readonly extraAttrs: Readonly<Record<string, unknown>>;
}

/** Which executions of a kind a listing shows. */
export interface ExecutionFilter {
  readonly vendorType: string;
  readonly vendorId?: number;
  /** Only those in one of these statuses. */
  readonly statuses?: readonly ExecutionStatus[];
  readonly trigger?: ExecutionTrigger;
  /** The oldest first; the newest first when absent. */
  readonly oldestFirst?: boolean;
}

/** Which tasks of an execution a listing shows. */
export interface TaskFilter {
  /** Only those in one of these statuses. */
  readonly statuses?: readonly ExecutionStatus[];
  /** Only those whose `extraAttrs[key]` is this text (`key`: letters, digits, `_`). */
  readonly attribute?: { readonly key: string; readonly value: string };
}

/** How many of an execution's tasks are in each status (statuses without any left out). */
export type TaskCounts = Readonly<Partial<Record<ExecutionStatus, number>>>;

export interface JobMetadata {
  createExecution(execution: NewExecution, at: Date): Promise<ExecutionRecord>;
  getExecution(id: number): Promise<ExecutionRecord | undefined>;
  /** Newest first, unless the filter says otherwise. */
  listExecutions(filter: ExecutionFilter, window: Window): Promise<Listing<ExecutionRecord>>;
  /**
   * Claims the oldest execution of one of `vendorTypes` that may run at `now`: Pending (and past
   * its notBefore), or Running with a lease that ran out. It becomes Running, owned by `owner`
   * until `leaseUntil`, one attempt more. Undefined when there is none. Two callers never get the
   * same execution while its lease holds.
   */
  claim(
    vendorTypes: readonly string[],
    owner: string,
    now: Date,
    leaseUntil: Date,
  ): Promise<ExecutionRecord | undefined>;
  /**
   * Extends the owner's lease and records the job's attributes so far. Undefined when the caller
   * no longer owns it (the lease ran out and another worker claimed it, or it ended).
   */
  renew(
    id: number,
    owner: string,
    leaseUntil: Date,
    extraAttrs: Readonly<Record<string, unknown>>,
    at: Date,
  ): Promise<ExecutionRecord | undefined>;
  /** Ends a Running execution its owner holds; false when the caller no longer owns it. */
  finish(id: number, owner: string, end: ExecutionEnd, at: Date): Promise<boolean>;
  /** Puts a Running execution its owner holds back in the queue, to run again after `notBefore`. */
  requeue(id: number, owner: string, notBefore: Date, message: string, at: Date): Promise<boolean>;
  /**
   * Asks an execution to stop: a Pending one is Stopped at once, a Running one marked so that its
   * worker stops it. Returns the execution as it now is; undefined when there is none.
   */
  requestStop(id: number, at: Date): Promise<ExecutionRecord | undefined>;
  /**
   * Deletes the ended executions of a kind (of one vendor id when given) but the newest `keep` of
   * them, with their logs; returns how many went. Queued and running ones are never deleted.
   */
  pruneExecutions(vendorType: string, vendorId: number | undefined, keep: number): Promise<number>;
  /**
   * Appends lines to an execution's log, or to one of its tasks' (a line longer than 4 KiB is
   * cut; at most MAX_LOG_LINES are kept for each).
   */
  appendLog(id: number, lines: readonly string[], at: Date, taskId?: number): Promise<void>;
  /** The execution's own log, or a task's, lines joined with "\n"; empty when there is none. */
  log(id: number, taskId?: number): Promise<string>;

  /** Records tasks of an execution, Pending, in the order given. */
  createTasks(
    executionId: number,
    tasks: ReadonlyArray<{ readonly name: string; readonly extraAttrs?: Readonly<Record<string, unknown>> }>,
    at: Date,
  ): Promise<TaskRecord[]>;
  getTask(id: number): Promise<TaskRecord | undefined>;
  /** An execution's tasks (those the filter keeps) in the order they were made. */
  listTasks(executionId: number, window: Window, filter?: TaskFilter): Promise<Listing<TaskRecord>>;
  /** The executions' tasks counted by status; an execution without tasks is left out. */
  taskCounts(executionIds: readonly number[]): Promise<Map<number, TaskCounts>>;
  /**
   * Changes a task; the first time it runs sets its start, a final status its end. Undefined when
   * there is no such task.
   */
  updateTask(id: number, change: TaskChange, at: Date): Promise<TaskRecord | undefined>;

  /** Records that a pool is alive (creating it the first time); forgets pools silent since `forgetBefore`. */
  heartbeatPool(pool: Omit<WorkerPoolRecord, "heartbeatAt">, at: Date, forgetBefore: Date): Promise<void>;
  /** Pools that reported at or after `since`, oldest first. */
  listPools(since: Date): Promise<WorkerPoolRecord[]>;
  /** Forgets a pool (it shut down). */
  removePool(id: string): Promise<void>;
  /** Running executions, oldest claim first: what the pools' workers are busy with. */
  listRunning(): Promise<ExecutionRecord[]>;
  /** Every kind with pending executions or a pause, by kind. */
  listQueues(): Promise<QueueRecord[]>;
  /** The kinds whose queues are paused. */
  pausedQueues(): Promise<string[]>;
  /** Pauses or resumes the queue of a kind (recorded even when no execution of it exists yet). */
  setQueuePaused(vendorType: string, paused: boolean, at: Date): Promise<void>;
  /** Stops the pending executions of a kind, of every kind when undefined; returns how many. */
  stopPending(vendorType: string | undefined, at: Date): Promise<number>;

  /** Creates or replaces the schedule of (vendorType, vendorId). */
  putSchedule(schedule: NewSchedule, at: Date): Promise<ScheduleRecord>;
  getSchedule(vendorType: string, vendorId?: number): Promise<ScheduleRecord | undefined>;
  /** Every schedule, in the order they were made. */
  listSchedules(window: Window): Promise<Listing<ScheduleRecord>>;
  deleteSchedule(vendorType: string, vendorId?: number): Promise<boolean>;
  /** Schedules whose next run is due at `now`, oldest first. */
  dueSchedules(now: Date): Promise<ScheduleRecord[]>;
  /**
   * Moves a schedule's next run from `expected` to `next`; false when it was not at `expected`
   * (another worker fired it first, or it was changed or deleted).
   */
  advanceSchedule(id: number, expected: Date, next: Date): Promise<boolean>;
}
