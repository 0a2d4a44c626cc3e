// A worker process's life (worker-pool.ts forks it): ask the primary for its slot and
// configuration, run the registry with what it shares with the other workers, say it is ready,
// and stop gracefully on SIGTERM (or SIGINT). A worker never outlives its primary, which alone
// hands it connections: when the primary dies, node:cluster ends the worker as soon as the IPC
// channel closes (what the worker wrote is committed or not, as after any crash).

import type { ServerConfig } from "../config.ts";
import { IdleCollector } from "../idle-collector.ts";
import { createLogger, type Logger } from "../logger.ts";
import type { RunningServer } from "../http/server.ts";
import type { RegistryOptions } from "../registry.ts";
import { ClusterWorker } from "./cluster-worker.ts";
import { IpcPeer, type IpcEndpoint } from "./ipc-peer.ts";
import { READY, START, type WorkerStart } from "./worker-pool.ts";

const START_TIMEOUT_MS = 30_000;

export type StartRegistry = (config: ServerConfig, log: Logger, options: RegistryOptions) => Promise<RunningServer>;

/** Runs this process as a worker until it is told to stop; never returns normally. */
export async function serveAsWorker(startRegistry: StartRegistry): Promise<void> {
  const channel: IpcEndpoint = {
    send: (message) => process.send?.(message),
    on: (event, listener) => process.on(event, listener),
    off: (event, listener) => process.off(event, listener),
  };
  const peer = new IpcPeer(channel);
  const { slot, config } = await peer.request<WorkerStart>(START, undefined, START_TIMEOUT_MS);
  const log = createLogger(config.logLevel).child({ worker: slot });
  let server: RunningServer;
  try {
    server = await startRegistry(config, log, { cluster: new ClusterWorker(peer, slot) });
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    log.fatal({ err: { code: err.code, message: err.message } }, "could not start");
    log.flush();
    process.exit(1);
  }
  peer.note(READY, { url: server.url });
  const idleCollector = new IdleCollector({ log });

  let stopping = false;
  const stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    idleCollector.close();
    log.info({ reason }, "worker stopping: finishing in-flight requests");
    void server.stop().then(() => {
      log.info("worker stopped");
      log.flush();
      peer.close("stopped");
      process.exit(0);
    });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
