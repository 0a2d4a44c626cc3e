// The registry server on Kubernetes: its configuration file as the pod reads it from the
// ConfigMap (the ServerSettings of this target, rendered by components/server-config/), and
// where the pod finds the files it names. No secret goes in here: the admin password, the S3
// credentials and the database password reach the server from Secrets, as files or as the
// environment variables the server reads.

import { stringify } from "yaml";
import { renderServerConfig, serverConfigText } from "../server-config/render-server-config";
import type { ServerConfigFile } from "../server-config/server-config-file";
import type { MirrorSettings, ServerSettings, UpstreamSettings } from "../server-config/server-settings";
import { workersForCpuLimit } from "../server-config/workers";
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
  /**
   * The container's CPU limit (a quantity, e.g. `2` or `1500m`): the server runs one worker per
   * whole CPU of it, at least one (server-config/workers.ts), rather than one per CPU of the node.
   * Absent, the server counts the CPUs it sees.
   */
  cpuLimit?: string;
}

/** What the server on Kubernetes is told: the pod's mount points, S3 and PostgreSQL as configured. */
export function kubernetesServerSettings(settings: ServerConfigSettings): ServerSettings {
  const storage = settings.storage;
  const metadata = settings.metadata;
  return {
    listen: { host: "0.0.0.0", port: settings.port },
    tls: { certFile: `${MOUNTS.tls}/tls.crt`, keyFile: `${MOUNTS.tls}/tls.key` },
    shutdownTimeoutSeconds: settings.shutdownTimeoutSeconds,
    ...(settings.trustedProxies !== undefined && { trustedProxies: settings.trustedProxies }),
    ...(settings.cpuLimit !== undefined && { workers: workersForCpuLimit(settings.cpuLimit) }),
    dataDir: MOUNTS.data,
    // The password comes from --admin-password-file, so the file holds no hash.
    admin: { username: settings.adminUsername },
    logLevel: settings.logLevel,
    upstream: settings.upstream,
    mirror: settings.mirror,
    // Credentials come from the environment (S3_CREDENTIAL_ENV) or the AWS chain, never the file.
    storage:
      storage.type === "filesystem"
        ? { type: "filesystem" }
        : {
            type: "s3",
            bucket: storage.bucket,
            region: storage.region ?? "us-east-1",
            ...(storage.endpoint !== undefined && { endpoint: storage.endpoint }),
            ...(storage.prefix !== undefined && { prefix: storage.prefix }),
            forcePathStyle: storage.forcePathStyle ?? false,
            ...(storage.caCertificate !== undefined && { caFile: MOUNTS.s3Ca }),
          },
    metadata:
      metadata.type === "sqlite"
        ? { type: "sqlite" }
        : {
            type: "postgres",
            url: metadata.url,
            passwordFile: MOUNTS.databasePassword,
            ...(metadata.maxConnections !== undefined && { maxConnections: metadata.maxConnections }),
          },
  };
}

/** The configuration as an object: exactly the sections that apply. */
export function serverConfig(settings: ServerConfigSettings): ServerConfigFile {
  return renderServerConfig(kubernetesServerSettings(settings));
}

/** The configuration file's text, with a header saying where it comes from. */
export function serverConfigYaml(settings: ServerConfigSettings): string {
  return serverConfigText(
    kubernetesServerSettings(settings),
    "Written by Pulumi (airlock:kubernetes:KubernetesRegistry): edits are overwritten.",
    stringify,
  );
}
