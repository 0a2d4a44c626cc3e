// The server's process model when `workers` is above 1: a primary process that serves no request
// and N worker processes (node:cluster) that each run the whole registry behind one listening port.
//
// Why processes, and why node:cluster's round-robin:
// - One Node.js process runs JavaScript on one core; a registry's hot paths (routing, JSON,
//   hashing, TLS, SQLite queries through node:sqlite, which is synchronous) are JavaScript or
//   run on the calling thread, so using every core means several event loops.
// - Worker threads would share one process's memory but not its port (each would need
//   SO_REUSEPORT), nor anything of ours without message passing anyway: they share nothing we
//   need, and a crash in one takes all of them down. Processes isolate faults, and the operating
//   system accounts each one.
// - With node:cluster the primary holds the listening socket and hands each accepted connection
//   to the next worker in turn (SCHED_RR, set explicitly). SO_REUSEPORT instead lets the kernel
//   hash connections to sockets: a few long-lived connections (Docker keeps a handful per pull)
//   can all land on one worker while another idles. Round-robin on accept spreads them evenly,
//   at the cost of one hand-off per connection (not per request: keep-alive connections stay
//   with their worker).
// - The primary is also the one place where workers meet: it holds the SQLite write turns
//   (write-turns.ts), gathers /metrics (cluster-metrics.ts) and relays events (cluster-events.ts).
//
// What the pool does: it creates what must exist once (shared-state.ts, before it is started),
// forks the workers and gives each its configuration and slot over IPC (so they do not parse the
// configuration again, nor see a clear admin password), and reports the server started once every
// worker listens. A worker that dies is forked again into its slot after a back-off: 1 s, doubling
// with each death in a row up to 30 s, the count starting over once a worker has lived a minute;
// the others keep serving meanwhile. A worker that dies before the first start completes fails the
// start (a port taken, a database refused): the primary stops the others and exits 1. stop() sends
// SIGTERM to every worker, each finishing its in-flight requests within shutdownTimeout, and
// kills what is left shortly after that.

import cluster, { type Worker } from "node:cluster";
import type { ServerConfig } from "../config.ts";
import type { Logger } from "../logger.ts";
import { ServerMetrics } from "./cluster-metrics.ts";
import { EventRelay } from "./cluster-events.ts";
import { IpcPeer } from "./ipc-peer.ts";
import { WriteTurns } from "./write-turns.ts";

/** Requests and notes of the worker's start-up (worker-process.ts is the other side). */
export const START = "start";
export const READY = "ready";

export interface WorkerStart {
  readonly slot: number;
  readonly config: ServerConfig;
}

export interface RestartBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A worker that lived this long was healthy: the next death waits initialMs again. */
  readonly stableMs: number;
}

export const DEFAULT_BACKOFF: RestartBackoff = { initialMs: 1_000, maxMs: 30_000, stableMs: 60_000 };

/** Beyond shutdownTimeout, what the workers get to close their stores before they are killed. */
const STOP_GRACE_MS = 10_000;
const KILL_WAIT_MS = 5_000;

interface Member {
  readonly worker: Worker;
  readonly slot: number;
  readonly peer: IpcPeer;
  readonly startedAt: number;
  ready: boolean;
  readonly exited: Promise<void>;
}

interface Slot {
  /** Deaths in a row (reset by a worker that lived stableMs). */
  deaths: number;
  restartTimer?: NodeJS.Timeout;
}

/**
 * V8 flags of the worker processes. Semi-spaces of 2 MiB, not V8's 16: under a stream of small
 * requests the young generation grows to its largest and stays there after the load, which made a
 * worker peak at ~238 MiB where it peaks at ~140-160 MiB with this, for ~3% more CPU per request
 * (bench/profiles/README.md).
 */
export const WORKER_V8_FLAGS = ["--max-semi-space-size=2"];

export class WorkerPool {
  private readonly count: number;
  private readonly config: ServerConfig;
  private readonly log: Logger;
  private readonly backoff: RestartBackoff;
  private readonly members = new Map<number, Member>();
  private readonly slots = new Map<number, Slot>();
  private readonly turns = new WriteTurns();
  private readonly metrics = new ServerMetrics();
  private readonly events = new EventRelay();
  private stopping = false;
  private started = false;
  private onStartFailure: ((error: Error) => void) | undefined;
  private onReady: ((url: string) => void) | undefined;
  private url: string | undefined;

  constructor(options: { count: number; config: ServerConfig; log: Logger; backoff?: RestartBackoff }) {
    this.count = options.count;
    this.config = options.config;
    this.log = options.log;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  /** Forks every worker; resolves with the server's URL once all of them listen. */
  start(): Promise<string> {
    // Before the first fork: Node reads it then (NODE_CLUSTER_SCHED_POLICY could say otherwise).
    cluster.schedulingPolicy = cluster.SCHED_RR;
    // Structured clone: the configuration reaches the workers as the primary resolved it. The
    // primary's own flags come after ours, so that an operator's choice wins.
    cluster.setupPrimary({ serialization: "advanced", execArgv: [...WORKER_V8_FLAGS, ...process.execArgv] });
    return new Promise<string>((resolve, reject) => {
      this.onStartFailure = reject;
      this.onReady = resolve;
      for (let slot = 1; slot <= this.count; slot++) {
        this.slots.set(slot, { deaths: 0 });
        this.fork(slot);
      }
    });
  }

  /** SIGTERM to every worker; resolves once all have exited (killed if they overrun). */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots.values()) clearTimeout(slot.restartTimer);
    const members = [...this.members.values()];
    for (const member of members) member.worker.process.kill("SIGTERM");
    const all = Promise.all(members.map((member) => member.exited));
    if (await settlesWithin(all, this.config.shutdownTimeoutMs + STOP_GRACE_MS)) return;
    for (const member of this.members.values()) {
      this.log.warn({ slot: member.slot, pid: member.worker.process.pid }, "worker did not stop in time: killed");
      member.worker.process.kill("SIGKILL");
    }
    await settlesWithin(all, KILL_WAIT_MS);
  }

  private fork(slot: number): void {
    const worker = cluster.fork();
    const peer = new IpcPeer(worker);
    const exited = new Promise<void>((resolve) =>
      worker.once("exit", (code: number | null, signal: string | null) => {
        this.exited(member, code, signal);
        resolve();
      }),
    );
    const member: Member = { worker, slot, peer, startedAt: Date.now(), ready: false, exited };
    this.members.set(worker.id, member);
    const peers = (): IpcPeer[] => [...this.members.values()].map((each) => each.peer);
    peer.handle(START, (): WorkerStart => ({ slot, config: this.config }));
    peer.onNote(READY, (payload) => this.ready(member, (payload as { url?: string } | undefined)?.url));
    this.turns.attach(worker.id, peer);
    this.metrics.attach(peer, peers);
    this.events.attach(peer, peers);
  }

  private ready(member: Member, url: string | undefined): void {
    member.ready = true;
    this.url ??= url;
    this.updateGauge();
    if (this.started) {
      this.log.info({ slot: member.slot, pid: member.worker.process.pid }, "worker restarted");
      return;
    }
    if ([...this.members.values()].filter((each) => each.ready).length === this.count) {
      this.started = true;
      this.onReady?.(this.url ?? "");
    }
  }

  private exited(member: Member, code: number | null, signal: string | null): void {
    member.peer.close("the worker exited");
    this.turns.forget(member.worker.id);
    this.members.delete(member.worker.id);
    this.updateGauge();
    if (this.stopping) return;
    const how = { slot: member.slot, pid: member.worker.process.pid, code, signal };
    if (!this.started) {
      // Something every worker would meet (the port, the database): starting more would not help.
      this.log.error(how, "a worker ended during start-up");
      this.onStartFailure?.(new Error(`worker ${member.slot} ended during start-up (${signal ?? `code ${code}`})`));
      return;
    }
    const slot = this.slots.get(member.slot) ?? { deaths: 0 };
    if (Date.now() - member.startedAt >= this.backoff.stableMs) slot.deaths = 0;
    slot.deaths += 1;
    const delayMs = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (slot.deaths - 1));
    this.log.error({ ...how, restartInMs: delayMs, deathsInARow: slot.deaths }, "worker died: restarting it");
    slot.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.metrics.countRestart();
      this.fork(member.slot);
    }, delayMs);
  }

  private updateGauge(): void {
    this.metrics.setWorkers([...this.members.values()].filter((member) => member.ready).length);
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
