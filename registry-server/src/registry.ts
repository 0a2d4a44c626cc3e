// The composition root: builds every part of the registry from its configuration and wires them
// together. Nothing else creates long-lived objects; parts receive what they need.

import { mkdir } from "node:fs/promises";
import type { Logger } from "./logger.ts";
import type { ServerConfig } from "./config.ts";
import { AdminAuthenticator } from "./auth/admin-authenticator.ts";
import { hashPassword } from "./auth/password-hash.ts";
import { addSystemRoutes, storageHealthCheck } from "./api/system-routes.ts";
import { addBaseRoutes } from "./distribution/base-routes.ts";
import { createRequestListener } from "./http/app.ts";
import { Router } from "./http/router.ts";
import { listen, type RunningServer } from "./http/server.ts";

export interface RegistryOptions {
  /** Adds routes before the standard ones (tests use it to observe the request pipeline). */
  extraRoutes?: (router: Router) => void;
}

export async function startRegistry(
  config: ServerConfig,
  log: Logger,
  options: RegistryOptions = {},
): Promise<RunningServer> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });

  // A password given in clear is hashed at once; only the hash is kept.
  const passwordHash = config.admin.passwordHash ?? (await hashPassword(config.admin.password ?? ""));
  const authenticator = new AdminAuthenticator({ username: config.admin.username, passwordHash });

  const router = new Router();
  options.extraRoutes?.(router);
  addBaseRoutes(router, authenticator);
  addSystemRoutes(router, [storageHealthCheck(config.dataDir)]);

  return listen(
    createRequestListener(router, log),
    { ...config.addr, ...(config.tls && { tls: config.tls }), shutdownTimeoutMs: config.shutdownTimeoutMs },
    log,
  );
}
