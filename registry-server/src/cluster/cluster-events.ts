// Events among the worker processes of one server, through the primary: a worker that changed
// something other workers keep a copy of (the system settings) or count (failed logins) tells
// them, so that the server behaves as one process would. Publishing resolves once every other
// worker has handled the event, or after a short limit: a caller that waits for it before
// answering its client knows the next request sees the change, whichever worker takes it.
// Events are best effort (a worker that is restarting misses them): what they carry must also
// be bounded some other way, as the settings' copies are by their 2-second age. Other replicas of
// an installation do not hear them (they share only the database).

import type { IpcPeer } from "./ipc-peer.ts";

const PUBLISH = "event-publish";
const DELIVER = "event-deliver";
/** Each worker's handling, as the primary waits for it; and the whole publication, as the worker does. */
const DELIVERY_TIMEOUT_MS = 2_000;
const PUBLISH_TIMEOUT_MS = 5_000;

interface Event {
  readonly topic: string;
  readonly data: unknown;
}

/** The primary's side: passes each worker's events on to the others. */
export class EventRelay {
  attach(sender: IpcPeer, members: () => readonly IpcPeer[]): void {
    sender.handle(PUBLISH, async (event) => {
      const others = members().filter((peer) => peer !== sender);
      await Promise.all(others.map((peer) => peer.request(DELIVER, event, DELIVERY_TIMEOUT_MS).catch(() => undefined)));
    });
  }
}

/** A worker's side. */
export class WorkerEvents {
  private readonly peer: IpcPeer;
  private readonly subscribers = new Map<string, Array<(data: unknown) => void>>();

  constructor(peer: IpcPeer) {
    this.peer = peer;
    peer.handle(DELIVER, (payload) => {
      const event = payload as Event;
      for (const handler of this.subscribers.get(event.topic) ?? []) handler(event.data);
    });
  }

  /** Tells the other workers; resolves when they have handled it (or the limit has passed). */
  async publish(topic: string, data?: unknown): Promise<void> {
    const event: Event = { topic, data };
    await this.peer.request(PUBLISH, event, PUBLISH_TIMEOUT_MS).catch(() => undefined);
  }

  subscribe(topic: string, handler: (data: unknown) => void): void {
    this.subscribers.set(topic, [...(this.subscribers.get(topic) ?? []), handler]);
  }
}
