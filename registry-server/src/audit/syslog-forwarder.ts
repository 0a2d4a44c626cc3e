// Forwards audit entries to a syslog server over TCP (Harbor's `audit_log_forward_endpoint`), so
// that a security team's log pipeline receives them as they happen. One line per entry, in the
// format Go's log/syslog writes (what Harbor sends): `<PRI>TIMESTAMP HOST TAG[PID]: MESSAGE\n`,
// the message a JSON object. rsyslog, syslog-ng and Fluent Bit read it with newline framing.
//
// The endpoint may be down: entries then wait in a bounded queue (the oldest dropped first, and
// counted) while the connection is retried with a growing pause. Nothing here ever blocks or
// fails the request that produced the entry.

import { hostname } from "node:os";
import * as net from "node:net";
import type { Logger } from "../logger.ts";

/** Entries kept while the endpoint is unreachable. */
const MAX_QUEUED = 10_000;
const CONNECT_TIMEOUT_MS = 5_000;
const MAX_RETRY_DELAY_MS = 30_000;
/** Facility user (1), severity informational (6). */
const PRIORITY = 1 * 8 + 6;

export interface Endpoint {
  host: string;
  port: number;
}

/** "host:port" or "[v6]:port"; undefined when it is not one. */
export function parseEndpoint(text: string): Endpoint | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (!host || !Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  return { host, port };
}

/** Whether a TCP connection to the endpoint opens in time; the reason when it does not. */
export async function probeEndpoint(text: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<string | undefined> {
  const endpoint = parseEndpoint(text);
  if (!endpoint) return "not host:port";
  return new Promise((resolve) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    const done = (reason: string | undefined): void => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done("timed out"));
    socket.once("connect", () => done(undefined));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

export class SyslogForwarder {
  readonly endpoint: string;
  private readonly target: Endpoint;
  private readonly log: Logger;
  private readonly prefixHost = hostname().replace(/\s/g, "") || "-";
  private queue: string[] = [];
  private socket: net.Socket | undefined;
  private connecting = false;
  private retryDelayMs = 500;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Entries dropped because the queue was full. */
  dropped = 0;

  constructor(endpoint: string, log: Logger) {
    const target = parseEndpoint(endpoint);
    if (!target) throw new Error(`invalid syslog endpoint ${JSON.stringify(endpoint)}`);
    this.endpoint = endpoint;
    this.target = target;
    this.log = log.child({ component: "audit-forwarder", endpoint });
  }

  send(message: Record<string, unknown>, at: Date): void {
    if (this.closed) return;
    const line = `<${PRIORITY}>${at.toISOString()} ${this.prefixHost} audit[${process.pid}]: ${JSON.stringify(message)}\n`;
    if (this.queue.length >= MAX_QUEUED) {
      this.queue.shift();
      if (this.dropped++ % 1_000 === 0) this.log.warn({ dropped: this.dropped }, "audit forward queue full: dropping");
    }
    this.queue.push(line);
    this.pump();
  }

  /** Stops; what is queued and not yet written is given up. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.socket?.end();
    this.socket = undefined;
    this.queue = [];
  }

  /** Writes what is queued over the open connection, connecting first when there is none. */
  private pump(): void {
    if (this.closed || this.queue.length === 0) return;
    if (!this.socket) {
      this.connect();
      return;
    }
    const lines = this.queue;
    this.queue = [];
    this.socket.write(lines.join(""));
  }

  private connect(): void {
    if (this.connecting || this.retryTimer) return;
    this.connecting = true;
    const socket = net.connect({ host: this.target.host, port: this.target.port });
    socket.setTimeout(CONNECT_TIMEOUT_MS);
    socket.once("connect", () => {
      socket.setTimeout(0);
      socket.setKeepAlive(true);
      this.connecting = false;
      this.retryDelayMs = 500;
      this.socket = socket;
      this.pump();
    });
    socket.once("timeout", () => socket.destroy(new Error("connection timed out")));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      this.log.warn({ reason: error.code ?? error.message }, "audit forward endpoint unreachable");
    });
    socket.once("close", () => {
      // Lines written but not yet delivered when a connection breaks are lost, as with Go's
      // syslog writer; those still queued go over the next connection.
      if (this.socket === socket) this.socket = undefined;
      this.connecting = false;
      if (this.closed) return;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, this.retryDelayMs);
      this.retryTimer.unref();
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, MAX_RETRY_DELAY_MS);
    });
    socket.unref();
  }
}
