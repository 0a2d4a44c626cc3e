// A site of the replication tests: our registry in process on a fixed loopback port with a data
// directory that outlives it, so that it can be stopped in the middle of an execution and started
// again where it was (the same URL for the other site's endpoint, the same content). It counts
// the blobs whose upload completed (by digest, over every start), which is how the tests prove
// that nothing arrived twice.

import { PassThrough } from "node:stream";
import type { ServerConfig } from "../../src/config.ts";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { createLogger } from "../../src/logger.ts";
import { startRegistry } from "../../src/registry.ts";
import type { RunningServer } from "../../src/http/server.ts";
import { ADMIN, tempDir } from "../helpers.ts";
import { freePort } from "../upstream/distribution-server.ts";

/** Routes that complete an upload: the last PUT of a session, or a monolithic POST with a digest. */
const COMPLETING_ROUTES = new Set(["upload_complete", "upload_start"]);

export interface Site {
  readonly name: string;
  readonly url: string;
  /** Completed blob uploads per digest, over every start of the site. */
  readonly blobsReceived: Map<string, number>;
  /** The last lines of the server's log, for failure messages. */
  readonly logs: string[];
  running(): boolean;
  /** Stops the server, keeping its data and port. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  remove(): Promise<void>;
}

export async function startSite(name: string, overrides: Partial<ServerConfig> = {}): Promise<Site> {
  const data = tempDir(`site-${name}`);
  const port = await freePort();
  const passwordHash = await hashPassword(ADMIN.password);
  const blobsReceived = new Map<string, number>();
  const logs: string[] = [];
  let server: RunningServer | undefined;

  const start = async (): Promise<void> => {
    const sink = new PassThrough();
    sink.on("data", (chunk: Buffer) => {
      logs.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      if (logs.length > 2_000) logs.splice(0, logs.length - 1_000);
    });
    const config: ServerConfig = {
      addr: { host: "127.0.0.1", port },
      shutdownTimeoutMs: 2_000,
      dataDir: data.dir,
      admin: { username: ADMIN.username, passwordHash },
      logLevel: "info",
      token: { service: `airlock-${name}`, ttlSeconds: 300 },
      limits: { maxManifestBytes: 4 * 1024 * 1024, uploadIdleHours: 24 },
      mirror: { namespaces: {}, hosts: {} },
      upstream: { timeoutMs: 10_000, healthCheckIntervalMs: 300_000 },
      ...overrides,
    };
    server = await startRegistry(config, createLogger("info", sink), {
      extraRoutes: (router) =>
        router.guard((ctx, route): void => {
          if (!COMPLETING_ROUTES.has(route)) return;
          const digest = ctx.url.searchParams.get("digest");
          if (digest === null) return;
          ctx.res.once("finish", () => {
            if (ctx.res.statusCode === 201) blobsReceived.set(digest, (blobsReceived.get(digest) ?? 0) + 1);
          });
          return;
        }),
    });
  };
  await start();

  return {
    name,
    url: `http://127.0.0.1:${port}`,
    blobsReceived,
    logs,
    running: () => server !== undefined,
    stop: async () => {
      const stopping = server;
      server = undefined;
      await stopping?.stop();
    },
    start,
    remove: async () => {
      const stopping = server;
      server = undefined;
      await stopping?.stop();
      data.remove();
    },
  };
}
