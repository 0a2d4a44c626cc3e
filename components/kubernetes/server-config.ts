// The server's configuration file (registry-server/src/config.ts, README "The registry server")
// as the pod reads it from the ConfigMap, and where the pod finds the files it names. No secret
// goes in here: the admin password, the S3 credentials and the database password reach the
// server from Secrets, as files or as the environment variables the server reads.

import { stringify } from "yaml";
import type { MirrorSettings, UpstreamSettings } from "../local/server-process";
import type { MetadataSettings, StorageSettings } from "./registry-settings";

/** Where the pod mounts what the server reads. */
export const MOUNTS = {
  /** The configuration file: the image's default `serve --config` path. */
  config: "/etc/airlock/config.yaml",
  /** The TLS Secret: tls.crt and tls.key (and ca.crt when generated). */
  tls: "/etc/airlock/tls",
  /** The admin password Secret, one file. */
  adminPassword: "/etc/airlock/admin/password",
  /** The database password Secret, one file. */
  databasePassword: "/etc/airlock/database/password",
  /** The CA of a private S3 endpoint, from the ConfigMap. */
  s3Ca: "/etc/airlock/s3-ca.crt",
  /** The data directory: the volume (filesystem storage) or an emptyDir (S3). */
  data: "/var/lib/airlock",
  /** The token signing and secret-sealing keys, shared by every replica (S3 storage). */
  serverKeys: "/var/lib/airlock/auth",
  /** The writable temporary directory of a read-only root filesystem. */
  tmp: "/tmp",
} as const;

/** ConfigMap keys. */
export const CONFIG_KEY = "config.yaml";
export const S3_CA_KEY = "s3-ca.crt";

/** Environment variables the server reads its S3 credentials from (storage-config.ts). */
export const S3_CREDENTIAL_ENV = {
  accessKeyId: "AIRLOCK_S3_ACCESS_KEY_ID",
  secretAccessKey: "AIRLOCK_S3_SECRET_ACCESS_KEY",
} as const;

export interface ServerConfigSettings {
  port: number;
  adminUsername: string;
  logLevel: string;
  /** Seconds SIGTERM waits for in-flight requests; the pod's grace period is longer. */
  shutdownTimeoutSeconds: number;
  storage: StorageSettings;
  metadata: MetadataSettings;
  upstream: UpstreamSettings;
  mirror: MirrorSettings;
  /** The Ingress controller's pod ranges, whose X-Forwarded-For names the client (`http.trustedProxies`). */
  trustedProxies?: string[];
}

/** The `storage` section (registry-server/src/storage/storage-config.ts): none for the filesystem under dataDir, `s3` for a bucket. */
function storageSection(storage: StorageSettings): Record<string, unknown> {
  if (storage.type === "filesystem") return {};
  // Credentials come from the environment (S3_CREDENTIAL_ENV) or the AWS chain, never the file.
  return {
    storage: {
      s3: {
        bucket: storage.bucket,
        region: storage.region ?? "us-east-1",
        ...(storage.endpoint !== undefined && { endpoint: storage.endpoint }),
        ...(storage.prefix !== undefined && { prefix: storage.prefix }),
        forcePathStyle: storage.forcePathStyle ?? false,
        ...(storage.caCertificate !== undefined && { caFile: MOUNTS.s3Ca }),
      },
    },
  };
}

/**
 * The `metadata` section (registry-server/src/metadata/metadata-config.ts): none for SQLite under
 * dataDir; for PostgreSQL the URL and the file the password is read from.
 */
function metadataSection(metadata: MetadataSettings): Record<string, unknown> {
  if (metadata.type === "sqlite") return {};
  const postgres = {
    url: metadata.url,
    passwordFile: MOUNTS.databasePassword,
    ...(metadata.maxConnections !== undefined && { maxConnections: metadata.maxConnections }),
  };
  return { metadata: { postgres } };
}

/** The configuration as an object: exactly the sections that apply, in the server's order. */
export function serverConfig(settings: ServerConfigSettings): Record<string, unknown> {
  return {
    http: {
      addr: `0.0.0.0:${settings.port}`,
      tls: { certFile: `${MOUNTS.tls}/tls.crt`, keyFile: `${MOUNTS.tls}/tls.key` },
      shutdownTimeoutSeconds: settings.shutdownTimeoutSeconds,
      ...(settings.trustedProxies !== undefined &&
        settings.trustedProxies.length > 0 && { trustedProxies: settings.trustedProxies }),
    },
    dataDir: MOUNTS.data,
    // The password comes from --admin-password-file, so the file holds no hash.
    auth: { admin: { username: settings.adminUsername } },
    log: { level: settings.logLevel },
    ...(Object.keys(settings.upstream).length > 0 && { upstream: settings.upstream }),
    ...(Object.keys(settings.mirror).length > 0 && { mirror: settings.mirror }),
    ...storageSection(settings.storage),
    ...metadataSection(settings.metadata),
  };
}

/** The configuration file's text, with a header saying where it comes from. */
export function serverConfigYaml(settings: ServerConfigSettings): string {
  return `# Written by Pulumi (airlock:kubernetes:KubernetesRegistry): edits are overwritten.\n${stringify(serverConfig(settings))}`;
}
