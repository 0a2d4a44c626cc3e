// What must exist once before the workers start, made by the primary alone so that workers never
// race to create it: the data directory, the token signing key and the key sealing upstream
// secrets (dataDir/auth/), the metadata schema (SQLite's migrations, or PostgreSQL's under their
// advisory lock) and the administrator account. The workers then find all of it and only read
// it. An admin password given in clear is hashed here, once: the workers receive the hash, so the
// clear password never leaves this process, and they do not each store a hash of their own salt.

import { mkdir } from "node:fs/promises";
import * as path from "node:path";
import { ensureAdminAccount } from "../auth/admin-account.ts";
import { hashPassword } from "../auth/password-hash.ts";
import { loadOrCreateSecretBox } from "../auth/secret-box.ts";
import { loadOrCreateSigningKey } from "../auth/token-service.ts";
import type { ServerConfig } from "../config.ts";
import type { Logger } from "../logger.ts";
import { openMetadataStore } from "../metadata/open-metadata-store.ts";

/** Creates what the workers share; returns the configuration to give them. */
export async function prepareSharedState(config: ServerConfig, log: Logger): Promise<ServerConfig> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const auth = path.join(config.dataDir, "auth");
  await loadOrCreateSigningKey(auth);
  await loadOrCreateSecretBox(auth);
  const passwordHash = config.admin.passwordHash ?? (await hashPassword(config.admin.password ?? ""));
  const { store } = await openMetadataStore(config, log);
  try {
    await ensureAdminAccount(store, config.admin.username, passwordHash);
  } finally {
    await store.close();
  }
  return { ...config, admin: { username: config.admin.username, passwordHash } };
}
