// What one worker process shares with the others of its server, handed to the composition root
// (registry.ts) when the process is a worker: the SQLite write turns, the server-wide metrics,
// the settings copies dropped together, the login throttle counted together. A process serving
// alone gets none of it and behaves as before.

import type { Registry } from "../http/prometheus.ts";
import type { LoginLimiter, LoginThrottle } from "../auth/login-throttle.ts";
import type { MetricsSource } from "../http/metrics.ts";
import type { SqliteWriteLock } from "../metadata/sqlite/store.ts";
import type { SettingsService } from "../settings/system-settings.ts";
import { shareWorkerMetrics } from "./cluster-metrics.ts";
import { WorkerEvents } from "./cluster-events.ts";
import type { IpcPeer } from "./ipc-peer.ts";
import { SharedLoginThrottle } from "./shared-login-throttle.ts";
import { ClusterWriteLock } from "./write-turns.ts";

const SETTINGS_CHANGED = "settings-changed";

export class ClusterWorker {
  /** 1 to the number of workers; a restarted worker takes the slot of the one it replaces. */
  readonly slot: number;
  readonly writeLock: SqliteWriteLock;
  private readonly peer: IpcPeer;
  private readonly events: WorkerEvents;

  constructor(peer: IpcPeer, slot: number) {
    this.peer = peer;
    this.slot = slot;
    this.writeLock = new ClusterWriteLock(peer);
    this.events = new WorkerEvents(peer);
  }

  /** A settings change made here is dropped from every other worker's copy before it is answered. */
  shareSettings(settings: SettingsService): void {
    settings.onUpdate(() => this.events.publish(SETTINGS_CHANGED));
    this.events.subscribe(SETTINGS_CHANGED, () => settings.invalidate());
  }

  /** The throttle of the whole server, over this worker's `local` one. */
  sharedThrottle(local: LoginThrottle): LoginLimiter {
    return new SharedLoginThrottle(local, this.events);
  }

  /** What `GET /metrics` answers: every worker's metrics added up, `local` being this one's. */
  metricsSource(local: Registry): MetricsSource {
    return shareWorkerMetrics(this.peer, local);
  }
}
