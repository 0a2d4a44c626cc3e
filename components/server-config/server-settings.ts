// What a deployment decides about the registry server: where it listens, its TLS files, where
// blobs and metadata live, how many worker processes serve, how it reaches upstreams. Each
// target (local, Kubernetes, AWS) fills one ServerSettings from its own arguments, with its own
// paths and defaults, and renderServerConfig (render-server-config.ts) writes the server's
// configuration file from it. So a key of the server's file is spelt in one place on the Pulumi
// side, and a target only says what differs: its mount points, where its secrets come from.
//
// No secret appears here but the local target's admin password hash (its file is mode 0600):
// the admin password, the S3 keys and the database password reach the server as files or
// environment variables that the target provides.
//
// Types only, plus the log levels: the module is imported by the local target's dynamic provider,
// so it must stay free of imports (see components/README.md, "Rules for the dynamic providers").

/** The server's log levels (registry-server/src/config.ts LOG_LEVELS), quietest first. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;

/** Egress towards upstream registries (the server's `upstream` configuration section). */
export interface UpstreamSettings {
  /** Proxy for http:// upstreams, e.g. http://proxy.corp:3128. */
  httpProxy?: string;
  /** Proxy for https:// upstreams (CONNECT tunnels). */
  httpsProxy?: string;
  /** Hosts reached directly: comma-separated names, .domains, IPs or CIDRs. */
  noProxy?: string;
  /** Budget for connecting and receiving the first byte from an upstream. */
  timeoutSeconds?: number;
  /** How often registry endpoints are pinged for their health status. */
  healthCheckIntervalSeconds?: number;
}

/** Transparent mirror routing (the server's `mirror` configuration section). */
export interface MirrorSettings {
  /** Proxy-cache project for names without a project prefix (Docker's registry-mirrors). */
  defaultProject?: string;
  /** containerd's `ns` (registry host) → proxy-cache project. */
  namespaces?: Record<string, string>;
  /** Host name of the request → proxy-cache project. */
  hosts?: Record<string, string>;
}

/** Where blobs live: the filesystem under dataDir, or an S3 bucket (`storage.s3`). */
export type ServerStorageSettings =
  | { type: "filesystem" }
  | {
      type: "s3";
      bucket: string;
      /** Written as given: each target decides its default. */
      region: string;
      /** An S3-compatible store's URL; AWS's endpoints when absent. */
      endpoint?: string;
      /** Key prefix inside the bucket. */
      prefix?: string;
      /** Path-style requests; the server's default (false) when absent. */
      forcePathStyle?: boolean;
      /** PEM file of a private CA trusted for the endpoint, as the server sees it. */
      caFile?: string;
    };

/**
 * Where metadata lives: SQLite under dataDir; PostgreSQL named in the file (`metadata.postgres`,
 * the password in a file beside it); or PostgreSQL whose whole URL, password included, reaches
 * the server as AIRLOCK_DATABASE_URL (a secret), so the file says nothing of it.
 */
export type ServerMetadataSettings =
  | { type: "sqlite" }
  | {
      type: "postgres";
      /** Connection URL without the password. */
      url: string;
      /** The file the server reads the password from, as the server sees it. */
      passwordFile?: string;
      /** Connections per server at most; the server's default (10) when absent. */
      maxConnections?: number;
    }
  | { type: "postgres-from-environment" };

export interface ServerSettings {
  /** Address and port to listen on; an IPv6 address is written in brackets. */
  listen: { host: string; port: number };
  /** The certificate (chain) and key files, as the server sees them: every target serves TLS. */
  tls: { certFile: string; keyFile: string };
  /** Seconds SIGTERM waits for in-flight requests; the server's default (30) when absent. */
  shutdownTimeoutSeconds?: number;
  /** Reverse proxies (addresses, CIDRs) whose X-Forwarded-For names the client; none when absent or empty. */
  trustedProxies?: string[];
  /**
   * Worker processes serving the port. Absent, the server runs one per CPU it sees; a container
   * target derives it from its CPU limit (workers.ts), since the node's CPU count is not what
   * the container may use.
   */
  workers?: number;
  /** Root of what the server stores (blobs on the filesystem, SQLite, its keys), as the server sees it. */
  dataDir: string;
  /** The admin account; the password's hash when the file carries it, else the target passes the password. */
  admin: { username: string; passwordHash?: string };
  /** One of LOG_LEVELS. */
  logLevel: string;
  /** Written only when it sets something. */
  upstream: UpstreamSettings;
  /** Written only when it sets something. */
  mirror: MirrorSettings;
  storage: ServerStorageSettings;
  metadata: ServerMetadataSettings;
}
