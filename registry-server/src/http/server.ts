// The listening socket: HTTPS when a certificate is configured, plain HTTP otherwise (config
// allows that only on loopback), and a graceful stop that lets in-flight requests finish.

import { readFileSync } from "node:fs";
import type * as Http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../logger.ts";

// Not `import * as http from "node:http"`: an ES module namespace of a built-in reads each of
// its exports, and node:http's `WebSocket`, `CloseEvent` and `MessageEvent` are getters that
// load Node's bundled undici, ~2 MiB of resident memory in every worker for classes the server
// never uses (bench/profiles/README.md, "Memory"). node:https, and TLS with it, is loaded only
// when a certificate is configured. worker-footprint.test.ts keeps both out.
const http = process.getBuiltinModule("node:http");

export interface ListenOptions {
  host: string;
  port: number;
  tls?: { certFile: string; keyFile: string };
  /** After this long, connections still open are closed and in-flight requests are cut. */
  shutdownTimeoutMs: number;
  /**
   * What the log says once the port is open: "listening" by default, which scripts wait for. A
   * worker process says something else, its primary saying "listening" once every worker is up.
   */
  announce?: string;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Stops accepting, waits for in-flight requests (up to the timeout), then resolves. */
  stop(): Promise<void>;
}

const HEADERS_TIMEOUT_MS = 60_000;
const KEEP_ALIVE_TIMEOUT_MS = 75_000;

export async function listen(
  listener: Http.RequestListener,
  options: ListenOptions,
  log: Logger,
): Promise<RunningServer> {
  const serverOptions: Http.ServerOptions = {
    headersTimeout: HEADERS_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // Large layers upload for a long time; per-request time limits belong to the handlers.
    requestTimeout: 0,
  };
  const server = options.tls
    ? process
        .getBuiltinModule("node:https")
        .createServer(
          { ...serverOptions, cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) },
          listener,
        )
    : http.createServer(serverOptions, listener);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });

  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `${options.tls ? "https" : "http"}://${host}:${address.port}`;
  log.info({ url, tls: Boolean(options.tls) }, options.announce ?? "listening");

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      const forceTimer = setTimeout(() => {
        log.warn({ timeoutMs: options.shutdownTimeoutMs }, "shutdown timeout: closing open connections");
        server.closeAllConnections();
      }, options.shutdownTimeoutMs);
      forceTimer.unref();
      // close() stops accepting and, since Node 19, closes idle keep-alive connections; busy
      // ones are closed as soon as their response is done.
      server.close(() => {
        clearTimeout(forceTimer);
        resolve();
      });
      server.closeIdleConnections();
    });
    return stopping;
  };

  return { url, port: address.port, stop };
}
