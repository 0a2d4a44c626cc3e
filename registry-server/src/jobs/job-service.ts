// The one job system of the registry: everything that runs in the background (the audit log
// purge now; garbage collection, retention, scans, replication and webhook deliveries later) is a
// job handler registered here, started by hand, by a schedule or by an event, and run by exactly
// one worker among every process and replica sharing the metadata database.
//
// How "exactly one" holds: executions and schedules live in the database (metadata/job-store.ts).
// A worker claims an execution with a lease and renews it while the handler runs; a worker that
// dies stops renewing, and another claims the execution again once the lease has run out (up to
// MAX_ATTEMPTS times). A schedule fires through a compare-and-set on its next run time inside the
// transaction that queues the execution, so replicas polling at once queue it once. Handlers see
// an AbortSignal that fires when someone asks the execution to stop, when the lease is lost, or
// when the process shuts down (the execution then goes back to the queue for another worker).

import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "../logger.ts";
import type { ExecutionRecord, ExecutionTrigger, ScheduleRecord, TaskRecord } from "../metadata/job-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { CronError, parseCron, SCHEDULE_TYPE_CRON } from "./cron.ts";

export interface JobContext {
  readonly execution: ExecutionRecord;
  /** Fires when the execution must stop: asked to, lease lost, or shutdown. */
  readonly signal: AbortSignal;
  /** Appends a line to the execution's log (kept in the database, shown by the API). */
  log(line: string): void;
  /** Records what the job reports so far (progress, counts); saved with the next heartbeat. */
  report(attrs: Readonly<Record<string, unknown>>): void;
  /** The execution's tasks so far: a run taken over after a restart finds those made before. */
  tasks(): Promise<TaskRecord[]>;
  /** Records tasks to run, Pending. */
  addTasks(
    tasks: ReadonlyArray<{ name: string; extraAttrs?: Readonly<Record<string, unknown>> }>,
  ): Promise<TaskRecord[]>;
  /**
   * Runs one task: Running, then Success with what `work` returns, Error with its failure (which
   * is not thrown on), or Stopped when the execution is; its lines go to the task's own log.
   */
  runTask(
    task: TaskRecord,
    work: (task: TaskContext) => Promise<Readonly<Record<string, unknown>> | void>,
  ): Promise<TaskRecord>;
}

export interface TaskContext {
  readonly task: TaskRecord;
  readonly signal: AbortSignal;
  /** Appends a line to the task's log. */
  log(line: string): void;
}

/** Tasks listed per page when a run looks for those made before. */
const MAX_TASKS = 100_000;

export interface JobHandler {
  /** The kind of execution it runs (Harbor's vendor type, e.g. "PURGE_AUDIT_LOG"). */
  readonly vendorType: string;
  /**
   * Ended executions kept per kind (per vendor id), for their history and logs; older ones are
   * deleted as new ones end. All are kept when absent.
   */
  readonly keepExecutions?: number;
  /** Runs one execution; what it returns joins the execution's attributes. */
  run(context: JobContext): Promise<Readonly<Record<string, unknown>> | void>;
}

/**
 * Thrown by a handler for a failure worth another try later (a dependency was unavailable), or
 * when the execution must wait its turn (another execution holds what it needs): then, with
 * `countsAsAttempt` false, it is queued again without using up one of its MAX_ATTEMPTS, however
 * long it waits.
 */
export class RetryableJobError extends Error {
  override name = "RetryableJobError";
  readonly countsAsAttempt: boolean;

  constructor(message: string, options: { countsAsAttempt?: boolean } = {}) {
    super(message);
    this.countsAsAttempt = options.countsAsAttempt ?? true;
  }
}

/**
 * The execution attribute counting the claims that only found the execution waiting its turn:
 * they are no attempt (kept in the attributes, which survive the claims, as the count does).
 */
export const WAITED_TURNS_ATTR = "waited_turns";

export class ScheduleError extends Error {
  override name = "ScheduleError";
}

export interface JobServiceOptions {
  /** How often the queue and the schedules are looked at (a queued job also wakes it). */
  readonly pollIntervalMs: number;
  /** How long a claim holds without renewal; renewed every third of it. */
  readonly leaseMs: number;
  /** Executions this process runs at once. */
  readonly concurrency: number;
  /** The pause before the first retry of a retryable failure; it doubles with each attempt. */
  readonly retryBaseMs: number;
  /** What a job reports is saved at most this often (and at each heartbeat), for progress readers. */
  readonly progressIntervalMs: number;
}

export const DEFAULT_JOB_OPTIONS: JobServiceOptions = {
  pollIntervalMs: 2_000,
  leaseMs: 30_000,
  concurrency: 4,
  retryBaseMs: 5_000,
  progressIntervalMs: 1_000,
};

/**
 * The queue that stands for the schedules, as in Harbor: paused, no schedule fires (a due one
 * fires once on resume); stopped, the runs now due are skipped.
 */
export const SCHEDULER_QUEUE = "SCHEDULER";

/** How often a process records that its pool is alive; one silent for three times this is gone. */
export const POOL_HEARTBEAT_MS = 10_000;
/** Pools silent this long are deleted from the table (a crash leaves its row behind). */
const POOL_FORGET_MS = 60 * 60_000;

/** Claims of one execution before it is given up (its workers keep dying). */
export const MAX_ATTEMPTS = 3;
const RETRY_MAX_MS = 5 * 60_000;

type StopReason = "stop" | "lease" | "shutdown";

interface Running {
  readonly controller: AbortController;
  reason: StopReason | undefined;
  /** Settles when the execution's run and its bookkeeping are over. */
  done: Promise<void>;
}

/** A schedule's next run after `now`; one that can no longer fire is parked a century ahead. */
function nextRun(cron: string, now: Date): Date {
  let next: Date | undefined;
  try {
    next = parseCron(cron).next(now);
  } catch {
    next = undefined;
  }
  // Parked rather than left due, where it would be looked at (and fired) on every poll.
  return next ?? new Date(now.getTime() + 100 * 365 * 86_400_000);
}

export class JobService {
  /** This worker's name in the executions it claims. */
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly store: MetadataStore;
  private readonly log: Logger;
  private readonly options: JobServiceOptions;
  private readonly now: () => number;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly running = new Map<number, Running>();
  private readonly startedAt = new Date();
  private poolHeartbeatAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(deps: { store: MetadataStore; log: Logger; options?: Partial<JobServiceOptions>; now?: () => number }) {
    this.store = deps.store;
    this.log = deps.log.child({ component: "jobs" });
    this.options = { ...DEFAULT_JOB_OPTIONS, ...deps.options };
    this.now = deps.now ?? Date.now;
  }

  register(handler: JobHandler): this {
    this.handlers.set(handler.vendorType, handler);
    return this;
  }

  /** The kinds of execution this process runs. */
  get vendorTypes(): string[] {
    return [...this.handlers.keys()];
  }

  /** Executions this process runs at once. */
  get concurrency(): number {
    return this.options.concurrency;
  }

  start(): void {
    this.stopped = false;
    this.poolHeartbeatAt = 0;
    this.timer = setInterval(() => this.wake(), this.options.pollIntervalMs);
    this.timer.unref();
    this.wake();
  }

  /** Looks at the schedules and the queue now rather than at the next poll. */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = this.tick()
      .catch((err: unknown) => this.log.warn({ err }, "job poll failed"))
      .finally(() => {
        this.ticking = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Stops polling; running executions go back to the queue for another worker. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
    for (const run of this.running.values()) {
      run.reason ??= "shutdown";
      run.controller.abort(new Error("the registry is shutting down"));
    }
    await Promise.all([...this.running.values()].map((run) => run.done));
    await this.store.jobs
      .removePool(this.workerId)
      .catch((err: unknown) => this.log.warn({ err }, "could not remove this worker pool"));
  }

  /** Queues an execution and wakes the workers. */
  async enqueue(
    vendorType: string,
    parameters: Readonly<Record<string, unknown>>,
    trigger: ExecutionTrigger = "MANUAL",
    vendorId?: number,
  ): Promise<ExecutionRecord> {
    const execution = await this.store.jobs.createExecution(
      { vendorType, trigger, parameters, ...(vendorId !== undefined && { vendorId }) },
      new Date(this.now()),
    );
    this.wake();
    return execution;
  }

  /** Throws ScheduleError with the reason when `cron` makes no schedule; else when it fires next. */
  checkCron(cron: string): Date {
    let next: Date | undefined;
    try {
      next = parseCron(cron).next(new Date(this.now()));
    } catch (error) {
      if (error instanceof CronError) throw new ScheduleError(`invalid cron: ${error.message}`);
      throw error;
    }
    if (!next) throw new ScheduleError(`the cron ${JSON.stringify(cron)} never fires`);
    return next;
  }

  /**
   * Creates or replaces a schedule. `cronType` is Harbor's schedule type; `cron` may be left out
   * for Hourly, Daily and Weekly. Throws ScheduleError with the reason when they make no schedule.
   */
  async setSchedule(schedule: {
    vendorType: string;
    vendorId?: number;
    cronType: string;
    cron?: string;
    parameters: Readonly<Record<string, unknown>>;
  }): Promise<ScheduleRecord> {
    const text = schedule.cron?.trim() || SCHEDULE_TYPE_CRON[schedule.cronType];
    if (!text) throw new ScheduleError(`a ${schedule.cronType} schedule needs a cron expression`);
    const nextRunAt = this.checkCron(text);
    const now = new Date(this.now());
    const saved = await this.store.jobs.putSchedule(
      {
        vendorType: schedule.vendorType,
        ...(schedule.vendorId !== undefined && { vendorId: schedule.vendorId }),
        cronType: schedule.cronType,
        cron: text,
        parameters: schedule.parameters,
        nextRunAt,
      },
      now,
    );
    this.wake();
    return saved;
  }

  /**
   * Makes sure a schedule the server itself needs exists with this cron and these parameters,
   * leaving its next run alone when it already does (replicas and restarts call this at start).
   */
  async ensureSchedule(schedule: {
    vendorType: string;
    cron: string;
    parameters: Readonly<Record<string, unknown>>;
  }): Promise<ScheduleRecord> {
    const existing = await this.store.jobs.getSchedule(schedule.vendorType);
    if (
      existing &&
      existing.cron === schedule.cron &&
      JSON.stringify(existing.parameters) === JSON.stringify(schedule.parameters)
    ) {
      return existing;
    }
    return this.setSchedule({ ...schedule, cronType: "Custom" });
  }

  /**
   * Moves every due schedule to its next run without firing it (the runs a paused scheduler held
   * back are dropped); returns how many were skipped.
   */
  async skipDueSchedules(): Promise<number> {
    const now = new Date(this.now());
    let skipped = 0;
    for (const schedule of await this.store.jobs.dueSchedules(now)) {
      if (await this.store.jobs.advanceSchedule(schedule.id, schedule.nextRunAt, nextRun(schedule.cron, now))) {
        skipped++;
      }
    }
    return skipped;
  }

  /** Asks an execution to stop; undefined when there is none. */
  async requestStop(id: number): Promise<ExecutionRecord | undefined> {
    const execution = await this.store.jobs.requestStop(id, new Date(this.now()));
    const running = this.running.get(id);
    if (running) {
      running.reason ??= "stop";
      running.controller.abort(new Error("stopped"));
    }
    return execution;
  }

  private async tick(): Promise<void> {
    await this.heartbeatPool();
    const paused = new Set(await this.store.jobs.pausedQueues());
    if (!paused.has(SCHEDULER_QUEUE)) await this.fireSchedules();
    const types = [...this.handlers.keys()].filter((type) => !paused.has(type));
    while (!this.stopped && this.running.size < this.options.concurrency) {
      const now = this.now();
      const execution = await this.store.jobs.claim(
        types,
        this.workerId,
        new Date(now),
        new Date(now + this.options.leaseMs),
      );
      if (!execution) break;
      this.startRun(execution);
    }
  }

  /** Records that this process is alive, for the job service monitor (at most every POOL_HEARTBEAT_MS). */
  private async heartbeatPool(): Promise<void> {
    const now = this.now();
    if (now - this.poolHeartbeatAt < POOL_HEARTBEAT_MS) return;
    this.poolHeartbeatAt = now;
    await this.store.jobs.heartbeatPool(
      {
        id: this.workerId,
        pid: process.pid,
        host: hostname(),
        concurrency: this.options.concurrency,
        startedAt: this.startedAt,
      },
      new Date(now),
      new Date(now - POOL_FORGET_MS),
    );
  }

  /** Queues one execution per due schedule, once across replicas (the compare-and-set). */
  private async fireSchedules(): Promise<void> {
    const now = new Date(this.now());
    for (const schedule of await this.store.jobs.dueSchedules(now)) {
      if (!this.handlers.has(schedule.vendorType)) continue;
      const advanced = nextRun(schedule.cron, now);
      await this.store.transaction(async (tx) => {
        if (!(await tx.jobs.advanceSchedule(schedule.id, schedule.nextRunAt, advanced))) return;
        await tx.jobs.createExecution(
          {
            vendorType: schedule.vendorType,
            vendorId: schedule.vendorId,
            trigger: "SCHEDULE",
            parameters: schedule.parameters,
          },
          now,
        );
      });
    }
  }

  private startRun(execution: ExecutionRecord): void {
    const run: Running = { controller: new AbortController(), reason: undefined, done: Promise.resolve() };
    this.running.set(execution.id, run);
    run.done = this.execute(execution, run)
      .catch((err: unknown) => this.log.error({ err, execution: execution.id }, "job bookkeeping failed"))
      .finally(() => {
        this.running.delete(execution.id);
        this.wake();
      });
  }

  private async runTask(
    task: TaskRecord,
    work: (task: TaskContext) => Promise<Readonly<Record<string, unknown>> | void>,
    signal: AbortSignal,
  ): Promise<TaskRecord> {
    const jobs = this.store.jobs;
    const at = (): Date => new Date(this.now());
    const lines: string[] = [];
    const running = (await jobs.updateTask(task.id, { status: "Running", statusMessage: "" }, at())) ?? task;
    let change: {
      status: "Success" | "Error" | "Stopped";
      statusMessage: string;
      extraAttrs?: Record<string, unknown>;
    };
    try {
      const result = await work({
        task: running,
        signal,
        log: (line) => lines.push(`${at().toISOString()} ${line}`),
      });
      change = signal.aborted
        ? { status: "Stopped", statusMessage: "stopped" }
        : { status: "Success", statusMessage: "", ...(result && { extraAttrs: { ...task.extraAttrs, ...result } }) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      change = signal.aborted
        ? { status: "Stopped", statusMessage: "stopped" }
        : { status: "Error", statusMessage: message };
      if (!signal.aborted) lines.push(`${at().toISOString()} [ERROR] ${message}`);
    }
    if (lines.length > 0) await jobs.appendLog(task.executionId, lines, at(), task.id);
    return (await jobs.updateTask(task.id, change, at())) ?? running;
  }

  private async execute(execution: ExecutionRecord, run: Running): Promise<void> {
    const { id } = execution;
    const jobs = this.store.jobs;
    const at = (): Date => new Date(this.now());
    const handler = this.handlers.get(execution.vendorType);
    const waits = Number(execution.extraAttrs[WAITED_TURNS_ATTR] ?? 0) || 0;
    const attempt = execution.attempts - waits;
    if (!handler || attempt > MAX_ATTEMPTS) {
      const message = handler
        ? `gave up after ${MAX_ATTEMPTS} attempts: the workers running it stopped answering`
        : `no handler for ${execution.vendorType}`;
      await jobs.finish(id, this.workerId, { status: "Error", message, extraAttrs: execution.extraAttrs }, at());
      return;
    }
    const pendingLines: string[] = [];
    let attrs: Record<string, unknown> = { ...execution.extraAttrs };
    const flushLog = async (): Promise<void> => {
      if (pendingLines.length === 0) return;
      await jobs.appendLog(id, pendingLines.splice(0), at());
    };
    /** Saves the log and the attributes, renewing the lease; stops the run when it was lost or stopped. */
    let saving: Promise<void> | undefined;
    let savedAt = this.now();
    const save = (): Promise<void> => {
      saving ??= (async () => {
        await flushLog();
        const now = this.now();
        savedAt = now;
        const renewed = await jobs.renew(id, this.workerId, new Date(now + this.options.leaseMs), attrs, new Date(now));
        if (!renewed) {
          run.reason ??= "lease";
          run.controller.abort(new Error("the execution's lease was lost"));
        } else if (renewed.stopRequested) {
          run.reason ??= "stop";
          run.controller.abort(new Error("stopped"));
        }
      })()
        .catch((err: unknown) => this.log.warn({ err, execution: id }, "job heartbeat failed"))
        .finally(() => (saving = undefined));
      return saving;
    };
    const context: JobContext = {
      execution,
      signal: run.controller.signal,
      log: (line) => pendingLines.push(`${new Date(this.now()).toISOString()} ${line}`),
      report: (more) => {
        attrs = { ...attrs, ...more };
        if (this.now() - savedAt >= this.options.progressIntervalMs) void save();
      },
      tasks: async () => (await jobs.listTasks(id, { offset: 0, limit: MAX_TASKS })).items,
      addTasks: (tasks) => jobs.createTasks(id, tasks, at()),
      runTask: (task, work) => this.runTask(task, work, run.controller.signal),
    };
    const heartbeat = setInterval(() => void save(), Math.max(10, Math.floor(this.options.leaseMs / 3)));
    heartbeat.unref();

    context.log(`[INFO] ${execution.vendorType} execution ${id} started (attempt ${execution.attempts})`);
    try {
      const result = await handler.run(context);
      if (result) attrs = { ...attrs, ...result };
      if (run.reason === "stop") {
        context.log("[INFO] stopped");
        await flushLog();
        await jobs.finish(id, this.workerId, { status: "Stopped", message: "stopped", extraAttrs: attrs }, at());
      } else {
        context.log("[INFO] done");
        await flushLog();
        await jobs.finish(id, this.workerId, { status: "Success", message: "", extraAttrs: attrs }, at());
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (run.reason === "lease") {
        this.log.warn({ execution: id }, "job lease lost: another worker runs it");
        return;
      }
      if (run.reason === "shutdown") {
        context.log("[INFO] interrupted by a shutdown: back in the queue");
        await flushLog();
        await jobs.requeue(id, this.workerId, at(), "interrupted by a shutdown", at());
        return;
      }
      if (run.reason === "stop") {
        context.log("[INFO] stopped");
        await flushLog();
        await jobs.finish(id, this.workerId, { status: "Stopped", message: "stopped", extraAttrs: attrs }, at());
        return;
      }
      if (error instanceof RetryableJobError && (!error.countsAsAttempt || attempt < MAX_ATTEMPTS)) {
        const waiting = !error.countsAsAttempt;
        // A wait is looked at again sooner than a failure is retried: at most 2 base pauses apart
        // (10 s by default), so that a burst of executions queued behind a long one follows it
        // closely; each waiting execution costs one claim per look.
        const delay = Math.min(
          this.options.retryBaseMs * 2 ** (waiting ? Math.min(waits, 1) : attempt - 1),
          RETRY_MAX_MS,
        );
        const seconds = (delay / 1000).toFixed(1);
        context.log(
          waiting ? `[INFO] ${message}: waiting ${seconds} s` : `[WARNING] ${message}: retrying in ${seconds} s`,
        );
        await flushLog();
        if (waiting) {
          attrs = { ...attrs, [WAITED_TURNS_ATTR]: waits + 1 };
          await saving;
          await jobs.renew(id, this.workerId, new Date(this.now() + this.options.leaseMs), attrs, at());
        }
        await jobs.requeue(id, this.workerId, new Date(this.now() + delay), message, at());
        return;
      }
      this.log.warn({ err: error, execution: id, vendorType: execution.vendorType }, "job failed");
      context.log(`[ERROR] ${message}`);
      await flushLog();
      await jobs.finish(id, this.workerId, { status: "Error", message, extraAttrs: attrs }, at());
    } finally {
      clearInterval(heartbeat);
      await saving;
    }
    if (handler.keepExecutions !== undefined) {
      const vendorId = execution.vendorId === -1 ? undefined : execution.vendorId;
      await jobs
        .pruneExecutions(execution.vendorType, vendorId, handler.keepExecutions)
        .catch((err: unknown) => this.log.warn({ err, vendorType: execution.vendorType }, "pruning executions failed"));
    }
  }
}
