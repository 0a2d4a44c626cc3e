// A webhook receiver for the tests: an HTTP server on 127.0.0.1 that records every request (path,
// headers, body, time) and answers by path: /ok (204), /fail-once (500 the first time, 200 after),
// /fail (always 500), /hang (never answers; the connection is closed when the receiver stops),
// /redirect (302 to /ok, which must not be followed).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  readonly path: string;
  readonly method: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
  readonly at: number;
}

export class WebhookReceiver {
  readonly received: ReceivedRequest[] = [];
  private readonly server: Server;
  private readonly hanging = new Set<ServerResponse>();
  private readonly failedOnce = new Set<string>();
  private port = 0;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const path = req.url ?? "/";
        this.received.push({
          path,
          method: req.method ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          at: Date.now(),
        });
        this.answer(path, res);
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The requests to `path` (a prefix), in the order they came. */
  to(path: string): ReceivedRequest[] {
    return this.received.filter((request) => request.path.startsWith(path));
  }

  /** Waits until `count` requests to `path` came, within `ms`; the requests. */
  async waitFor(path: string, count: number, ms = 30_000): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + ms;
    while (this.to(path).length < count) {
      if (Date.now() > deadline) {
        throw new Error(`${count} requests to ${path} awaited, ${this.to(path).length} came within ${ms} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return this.to(path);
  }

  private answer(path: string, res: ServerResponse): void {
    const route = path.split("?")[0] ?? path;
    if (route.startsWith("/hang")) {
      this.hanging.add(res);
      return;
    }
    if (route.startsWith("/fail-once") && !this.failedOnce.has(route)) {
      this.failedOnce.add(route);
      res.writeHead(500, { "Content-Type": "text/plain" }).end("receiver down for a moment");
      return;
    }
    if (route.startsWith("/fail")) {
      if (route.startsWith("/fail-once")) res.writeHead(200).end("ok");
      else res.writeHead(500, { "Content-Type": "text/plain" }).end("receiver broken");
      return;
    }
    if (route.startsWith("/redirect")) {
      res.writeHead(302, { Location: "/ok" }).end();
      return;
    }
    res.writeHead(204).end();
  }
}
