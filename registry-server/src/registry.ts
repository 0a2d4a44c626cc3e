// The composition root: builds every part of the registry from its configuration and wires them
// together. Nothing else creates long-lived objects; parts receive what they need.

import { mkdir } from "node:fs/promises";
import * as path from "node:path";
import type { ServerConfig } from "./config.ts";
import type { Logger } from "./logger.ts";
import { AdminAuthenticator, basicCredentials } from "./auth/admin-authenticator.ts";
import { AdminOnlyAuthorizer } from "./auth/authorizer.ts";
import { hashPassword } from "./auth/password-hash.ts";
import { TokenAccessGuard } from "./auth/token-access-guard.ts";
import { addTokenRoutes } from "./auth/token-routes.ts";
import { loadOrCreateSigningKey, TokenService } from "./auth/token-service.ts";
import { addSystemRoutes, storageHealthCheck } from "./api/system-routes.ts";
import { BlobStore } from "./content/blob-store.ts";
import { ManifestService } from "./content/manifest-service.ts";
import { scheduleUploadExpiry } from "./content/upload-expiry.ts";
import { UploadService } from "./content/upload-service.ts";
import { addBaseRoutes } from "./distribution/base-routes.ts";
import { addBlobRoutes } from "./distribution/blob-routes.ts";
import { addDiscoveryRoutes } from "./distribution/discovery-routes.ts";
import { addManifestRoutes } from "./distribution/manifest-routes.ts";
import { addUploadRoutes } from "./distribution/upload-routes.ts";
import { createRequestListener } from "./http/app.ts";
import { HttpMetrics } from "./http/metrics.ts";
import { Router } from "./http/router.ts";
import { listen, type RunningServer } from "./http/server.ts";
import { openSqliteStore } from "./metadata/sqlite-store.ts";
import { FilesystemDriver } from "./storage/filesystem-driver.ts";

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
  const storageRoot = path.join(config.dataDir, "storage");
  await mkdir(storageRoot, { recursive: true, mode: 0o700 });
  const driver = new FilesystemDriver(storageRoot);
  const metadata = await openSqliteStore(path.join(config.dataDir, "metadata", "registry.db"));

  // A password given in clear is hashed at once; only the hash is kept.
  const passwordHash = config.admin.passwordHash ?? (await hashPassword(config.admin.password ?? ""));
  const admin = new AdminAuthenticator({ username: config.admin.username, passwordHash });
  const authenticateBasic = (req: import("node:http").IncomingMessage) => admin.authenticate(basicCredentials(req));
  const authorizer = new AdminOnlyAuthorizer();
  const tokens = new TokenService({
    signingKey: await loadOrCreateSigningKey(path.join(config.dataDir, "auth")),
    issuer: config.token.service,
    service: config.token.service,
    ttlSeconds: config.token.ttlSeconds,
  });
  const guard = new TokenAccessGuard({
    tokens,
    authorizer,
    authenticateBasic,
    service: config.token.service,
    ...(config.token.realm !== undefined && { realm: config.token.realm }),
  });

  const blobs = new BlobStore(driver, metadata, log);
  const uploads = new UploadService(driver, metadata, blobs, log);
  const manifests = new ManifestService(metadata, blobs, { maxManifestBytes: config.limits.maxManifestBytes });
  const metrics = new HttpMetrics();
  const stopUploadExpiry = scheduleUploadExpiry(
    { metadata, blobs, log },
    { maxIdleMs: config.limits.uploadIdleHours * 3_600_000, intervalMs: 10 * 60_000 },
  );

  const router = new Router();
  options.extraRoutes?.(router);
  addBaseRoutes(router, (ctx) => guard.requireAuthenticated(ctx));
  addUploadRoutes(router, { blobs, uploads, guard });
  addBlobRoutes(router, { blobs, guard });
  addManifestRoutes(router, { manifests, guard });
  addDiscoveryRoutes(router, { manifests, metadata, guard });
  addTokenRoutes(router, { tokens, authorizer, authenticate: authenticateBasic, service: config.token.service });
  addSystemRoutes(router, [storageHealthCheck(config.dataDir)]);
  metrics.addMetricsRoute(router);

  const server = await listen(
    createRequestListener(router, log, metrics),
    { ...config.addr, ...(config.tls && { tls: config.tls }), shutdownTimeoutMs: config.shutdownTimeoutMs },
    log,
  );
  return {
    ...server,
    stop: async () => {
      stopUploadExpiry();
      await server.stop();
      await metadata.close();
    },
  };
}
