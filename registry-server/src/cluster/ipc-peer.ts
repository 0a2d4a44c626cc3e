// Requests and notes between the cluster's primary and one worker, over the IPC channel node:cluster
// opens between them. Both sides are alike: either may ask the other (a request, answered once by
// the handler registered for its kind) or tell it (a note, answered by nobody). Our messages carry
// an `airlock` marker, so that anything else on the channel (prom-client's, Node's own) is left
// alone. Every request has a time limit, and a channel that closes fails what is still waiting.

/** The two ends of a channel: `process` in a worker, a `cluster.Worker` in the primary. */
export interface IpcEndpoint {
  send(message: unknown): unknown;
  on(event: "message", listener: (message: unknown) => void): unknown;
  off(event: "message", listener: (message: unknown) => void): unknown;
}

type Message =
  | { airlock: 1; type: "request"; id: number; kind: string; payload: unknown }
  | { airlock: 1; type: "reply"; id: number; ok: true; value: unknown }
  | { airlock: 1; type: "reply"; id: number; ok: false; error: string }
  | { airlock: 1; type: "note"; kind: string; payload: unknown };

/** The other side did not answer in time, or the channel closed first. */
export class IpcError extends Error {
  override name = "IpcError";
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

function isMessage(value: unknown): value is Message {
  return typeof value === "object" && value !== null && (value as { airlock?: unknown }).airlock === 1;
}

export class IpcPeer {
  private readonly endpoint: IpcEndpoint;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, (payload: unknown) => unknown>();
  private readonly noteHandlers = new Map<string, (payload: unknown) => void>();
  private readonly listener = (message: unknown): void => this.receive(message);
  private nextId = 1;
  private closed: string | undefined;

  constructor(endpoint: IpcEndpoint) {
    this.endpoint = endpoint;
    endpoint.on("message", this.listener);
  }

  /** Asks the other side; rejects with IpcError after `timeoutMs` or when the channel closes. */
  request<T>(kind: string, payload: unknown, timeoutMs: number): Promise<T> {
    if (this.closed !== undefined) return Promise.reject(new IpcError(`${kind}: ${this.closed}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new IpcError(`${kind}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.post({ airlock: 1, type: "request", id, kind, payload });
    });
  }

  /** Tells the other side, expecting no answer. */
  note(kind: string, payload?: unknown): void {
    if (this.closed === undefined) this.post({ airlock: 1, type: "note", kind, payload });
  }

  /** Answers the other side's requests of `kind` with what `handler` returns (or throws). */
  handle(kind: string, handler: (payload: unknown) => unknown): this {
    this.handlers.set(kind, handler);
    return this;
  }

  onNote(kind: string, handler: (payload: unknown) => void): this {
    this.noteHandlers.set(kind, handler);
    return this;
  }

  /** Fails what is still waiting; later requests fail at once. */
  close(reason: string): void {
    if (this.closed !== undefined) return;
    this.closed = reason;
    this.endpoint.off("message", this.listener);
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      this.pending.delete(id);
      waiting.reject(new IpcError(reason));
    }
  }

  private post(message: Message): void {
    try {
      this.endpoint.send(message);
    } catch {
      // The channel closed under us: the exit or disconnect handler closes this peer.
    }
  }

  private receive(message: unknown): void {
    if (!isMessage(message)) return;
    switch (message.type) {
      case "request":
        void this.answer(message.id, message.kind, message.payload);
        return;
      case "reply": {
        const waiting = this.pending.get(message.id);
        // Too late: the requester gave up on it (whoever asked handles that case).
        if (!waiting) return;
        this.pending.delete(message.id);
        clearTimeout(waiting.timer);
        if (message.ok) waiting.resolve(message.value);
        else waiting.reject(new IpcError(message.error));
        return;
      }
      case "note":
        this.noteHandlers.get(message.kind)?.(message.payload);
        return;
    }
  }

  private async answer(id: number, kind: string, payload: unknown): Promise<void> {
    const handler = this.handlers.get(kind);
    try {
      if (!handler) throw new Error(`no handler for ${kind}`);
      const value = await handler(payload);
      if (this.closed === undefined) this.post({ airlock: 1, type: "reply", id, ok: true, value });
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (this.closed === undefined) this.post({ airlock: 1, type: "reply", id, ok: false, error: text });
    }
  }
}
