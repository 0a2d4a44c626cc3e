// The server's configuration: a YAML file, overridden by environment variables, overridden by
// command-line flags. Everything is validated before the server touches a port or a file, and an
// invalid value is reported with where it came from, its key and what was expected.

import * as fs from "node:fs";
import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { parseYaml } from "./yaml-parser.ts";
import { z } from "zod";
import { isPasswordHash } from "./auth/password-hash.ts";
import { parseCidr, type TrustedProxySettings } from "./http/client-address.ts";
import type { ManifestValidation } from "./content/manifest-validation.ts";
import {
  METADATA_ENVIRONMENT,
  metadataConfigSchema,
  resolveMetadata,
  withMetadataOverrides,
  type MetadataConfig,
} from "./metadata/metadata-config.ts";
import { DEFAULT_PORTAL_DIR } from "./portal/portal-dir.ts";
import { resolveTrivyConfig, trivyConfigSchema, type TrivyConfig } from "./scan/trivy/trivy-config.ts";
import { DEFAULT_MAX_DATABASE_AGE_DAYS, DEFAULT_SCAN_TIMEOUT_SECONDS } from "./scan/scan-settings.ts";
import {
  resolveStorage,
  STORAGE_ENVIRONMENT,
  storageConfigSchema,
  withStorageOverrides,
  type StorageConfig,
  type StorageOverrides,
} from "./storage/storage-config.ts";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;

const addrSchema = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]*):\d{1,5}$/, 'expected "host:port", "[ipv6]:port" or ":port"')
  .refine((addr) => Number(addr.slice(addr.lastIndexOf(":") + 1)) <= 65535, "port must be at most 65535");

/** Far beyond any machine's cores: a typo of 1000 must not fork a thousand servers. */
const MAX_WORKERS = 256;

/** Harbor's project names: lowercase, digits, and ._- inside. */
const PROJECT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** Distribution 3 spells these "All", "List"…: any case is taken. */
const lowerCase = (value: unknown): unknown => (typeof value === "string" ? value.toLowerCase() : value);

/**
 * `validation.manifests`, after CNCF Distribution 3's: which content a pushed manifest must find
 * already in its repository. Strict by default; sparse indexes and images on request.
 */
const validationSchema = z
  .strictObject({
    manifests: z
      .strictObject({
        indexes: z
          .strictObject({
            /** Children of an index that must be there: all (default), none, or those of `platformlist`. */
            platforms: z.preprocess(lowerCase, z.enum(["all", "none", "list"])).default("all"),
            platformlist: z
              .array(z.strictObject({ os: z.string().min(1), architecture: z.string().min(1) }))
              .optional(),
          })
          .prefault({})
          .superRefine((indexes, ctx) => {
            if (indexes.platforms === "list" && (indexes.platformlist?.length ?? 0) === 0) {
              ctx.addIssue({ code: "custom", path: ["platformlist"], message: "platforms: list needs a platformlist" });
            }
            if (indexes.platforms !== "list" && indexes.platformlist !== undefined) {
              ctx.addIssue({
                code: "custom",
                path: ["platformlist"],
                message: "platformlist is read only with platforms: list",
              });
            }
          }),
        /** Whether an image's config and layers must be there: all (default) or none (sparse images). */
        blobs: z.preprocess(lowerCase, z.enum(["all", "none"])).default("all"),
      })
      .prefault({}),
  })
  .prefault({});

/** A reverse proxy's address or range; trusting every address would let any client pick its own. */
const trustedProxySchema = z
  .string()
  .refine((text) => parseCidr(text) !== undefined, 'expected an IP address or a CIDR range such as "10.0.0.0/8"')
  .refine((text) => parseCidr(text)?.prefix !== 0, "a /0 range would trust every client's forwarding header");

const proxyUrlSchema = z
  .url({ protocol: /^https?$/ })
  .refine((url) => new URL(url).hostname !== "", "expected an http:// or https:// proxy URL");

const fileConfigSchema = z.strictObject({
  http: z
    .strictObject({
      /** Where to listen. HTTP without TLS is refused unless this is a loopback address. */
      addr: addrSchema.default("127.0.0.1:5443"),
      tls: z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
      /** How long SIGTERM waits for in-flight requests before closing connections. */
      shutdownTimeoutSeconds: z.number().int().min(0).max(3600).default(30),
      /**
       * Reverse proxies (addresses, CIDR ranges) whose forwarding header names the client: the
       * Ingress controller's pods, a load balancer's subnets. Requests from anywhere else are
       * taken to come from their peer address, whatever headers they carry.
       */
      trustedProxies: z.array(trustedProxySchema).default([]),
      /** The header those proxies append the client's address to. */
      forwardedHeader: z.enum(["x-forwarded-for", "forwarded"]).default("x-forwarded-for"),
    })
    .prefault({}),
  /**
   * Processes serving the port (cluster/worker-pool.ts): the machine's CPU count when absent
   * (os.availableParallelism()); 1 serves from one process, with no primary.
   */
  workers: z.number().int().min(1).max(MAX_WORKERS).optional(),
  /** Root of everything the server stores (blobs, metadata). */
  dataDir: z.string().min(1).optional(),
  /** Where metadata lives: `metadata.postgres` for a PostgreSQL database, SQLite under dataDir otherwise. */
  metadata: metadataConfigSchema,
  auth: z
    .strictObject({
      admin: z
        .strictObject({
          username: z
            .string()
            .regex(/^[a-z0-9][a-z0-9._-]{0,254}$/, "expected a lowercase user name")
            .default("admin"),
          passwordHash: z
            .string()
            .refine(isPasswordHash, 'expected a "$scrypt$…" hash from `airlock-registry hash-password`')
            .optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  log: z.strictObject({ level: z.enum(LOG_LEVELS).default("info") }).prefault({}),
  token: z
    .strictObject({
      /** Token endpoint URL to advertise; derived from each request's Host when not set. */
      realm: z.url().optional(),
      /** The service name in challenges and the tokens' audience. */
      service: z.string().min(1).default("airlock"),
      /** Token lifetime. */
      ttlSeconds: z.number().int().min(30).max(86_400).default(300),
    })
    .prefault({}),
  /** The web portal, served under / from the directory the set-up builds it into. */
  portal: z
    .strictObject({
      /** Off leaves the APIs alone on the port (an API-only replica, a registry behind a portal elsewhere). */
      enabled: z.boolean().default(true),
      /** The built portal (registry-server/portal/dist when absent). */
      assetsDir: z.string().min(1).optional(),
    })
    .prefault({}),
  /** The transparent mirror: pulls without a project prefix, routed to proxy-cache projects. */
  mirror: z
    .strictObject({
      /** Proxy-cache project for names whose first segment is no project (Docker's registry-mirrors). */
      defaultProject: z.string().regex(PROJECT_NAME, "expected a project name").optional(),
      /** containerd's `ns` parameter (the registry host the client meant) → proxy-cache project. */
      namespaces: z
        .record(z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, "expected a registry host"), z.string().regex(PROJECT_NAME))
        .default({}),
      /** Host name the request arrived on → proxy-cache project (one mirror per host name). */
      hosts: z
        .record(z.string().regex(/^[a-z0-9.:-]+$/, "expected a host name"), z.string().regex(PROJECT_NAME))
        .default({}),
    })
    .prefault({}),
  upstream: z
    .strictObject({
      /** Proxy for http:// upstream registries, e.g. "http://proxy.corp:3128" (credentials in the URL). */
      httpProxy: proxyUrlSchema.optional(),
      /** Proxy for https:// upstream registries (CONNECT tunnels). */
      httpsProxy: proxyUrlSchema.optional(),
      /** Hosts reached directly: comma-separated names, ".domain" suffixes, IPs, CIDRs, "*". */
      noProxy: z.string().optional(),
      /** Budget for connecting to an upstream and for each wait on its answer. */
      timeoutSeconds: z.number().min(1).max(600).default(30),
      /** How often every registry endpoint is pinged to update its `status`. */
      healthCheckIntervalSeconds: z.number().int().min(10).max(86_400).default(300),
    })
    .prefault({}),
  limits: z
    .strictObject({
      /** Largest manifest accepted (the specification asks for at least 4 MiB). */
      maxManifestBytes: z
        .number()
        .int()
        .min(4 * 1024 * 1024)
        .max(64 * 1024 * 1024)
        .default(4 * 1024 * 1024),
      /** Upload sessions idle this long are removed with what they wrote. */
      uploadIdleHours: z
        .number()
        .min(0.01)
        .max(24 * 30)
        .default(24),
      /**
       * The largest archive one import (POST /api/v2.0/projects/{p}/imports) takes, in bytes,
       * as sent and once decompressed: a gzip bomb stops here. 32 GiB by default.
       */
      maxImportBytes: z
        .number()
        .int()
        .min(1024 * 1024)
        .max(16 * 1024 ** 4)
        .default(32 * 1024 ** 3),
    })
    .prefault({}),
  /** Garbage collection (gc/README.md): its grace periods. */
  gc: z
    .strictObject({
      /**
       * Harbor's GC time window, in hours: blobs claimed and manifests pushed within it are left
       * alone, which keeps pushes in flight safe. Clients cannot change it per run.
       */
      timeWindowHours: z
        .number()
        .min(0)
        .max(24 * 30)
        .default(2),
      /** How long the bytes of a deleted blob stay for reads that began before it went. */
      readGraceSeconds: z.number().int().min(0).max(86_400).default(60),
    })
    .prefault({}),
  /** The job system (background work: GC, retention, scans, replication, webhooks, sweeps). */
  jobs: z
    .strictObject({
      /**
       * How long a claim on an execution holds without renewal (renewed every third of it): how
       * soon another process or replica takes over the work of one that died.
       */
      leaseSeconds: z.number().int().min(3).max(3600).default(30),
    })
    .prefault({}),
  /** Where blobs live: `storage.s3` for an S3 bucket, the filesystem under dataDir otherwise. */
  storage: storageConfigSchema,
  /** What a pushed manifest must find in its repository (sparse indexes and images). */
  validation: validationSchema,
  /** Vulnerability scanning: `scanner.trivy` for the built-in Trivy scanner (scan/trivy/trivy-config.ts). */
  scanner: z
    .strictObject({
      trivy: trivyConfigSchema.optional(),
      /**
       * Where scanner adapters read this registry (Harbor's external address); this server's own
       * address when absent, which suits the built-in scanner and adapters on the same host.
       */
      registryUrl: z.url({ protocol: /^https?$/ }).optional(),
      /** A scan of one manifest (the adapter's scan and its reports) is given up after this long. */
      scanTimeoutSeconds: z.number().int().min(1).max(86_400).default(DEFAULT_SCAN_TIMEOUT_SECONDS),
      /**
       * With `prevent_stale_scan`, scans made with a vulnerability database older than this do
       * not vouch for an image; the built-in scanner's own limit when it is set.
       */
      maxDatabaseAgeDays: z.number().min(0.001).max(3650).optional(),
    })
    .prefault({}),
});

export type FileConfig = z.infer<typeof fileConfigSchema>;

/** Settings given on the command line or in the environment, before validation. */
export interface ConfigOverrides extends StorageOverrides {
  addr?: string;
  dataDir?: string;
  tlsCert?: string;
  tlsKey?: string;
  logLevel?: string;
  /** The admin password in clear (from a file or the environment); hashed in memory at start. */
  adminPassword?: string;
  httpProxy?: string;
  httpsProxy?: string;
  noProxy?: string;
  /** `http.trustedProxies`, comma-separated. */
  trustedProxies?: string;
  /** The metadata database's URL (AIRLOCK_DATABASE_URL only: a flag would show it to `ps`). */
  databaseUrl?: string;
  /** `validation.manifests.indexes`: "all", "none", or platforms as "linux/amd64,linux/arm64". */
  indexPlatforms?: string;
  /** `validation.manifests.blobs`: "all" or "none". */
  manifestBlobs?: string;
  /** `workers`, as text (a flag or the environment). */
  workers?: string;
}

export interface ServerConfig {
  /** Processes serving the port; one (this process alone) when absent. */
  workers?: number;
  addr: { host: string; port: number };
  tls?: { certFile: string; keyFile: string };
  /** Reverse proxies whose forwarding header is believed; none when absent. */
  trustedProxies?: TrustedProxySettings;
  shutdownTimeoutMs: number;
  dataDir: string;
  admin: { username: string; passwordHash?: string; password?: string };
  logLevel: (typeof LOG_LEVELS)[number];
  token: { realm?: string; service: string; ttlSeconds: number };
  limits: {
    maxManifestBytes: number;
    uploadIdleHours: number;
    /** The largest import, as sent and decompressed; 32 GiB when absent. */
    maxImportBytes?: number;
  };
  mirror: { defaultProject?: string; namespaces: Record<string, string>; hosts: Record<string, string> };
  /** The web portal's built files, served under /; no portal when absent. */
  portal?: { assetsDir: string };
  /** Egress to upstream registries (proxy cache, pings, health checks). */
  upstream: UpstreamConfig;
  /** Metadata in PostgreSQL; SQLite under dataDir when absent. */
  metadata?: MetadataConfig;
  /** Blob storage other than the filesystem under dataDir. */
  storage?: StorageConfig;
  /** What a pushed manifest must find in its repository; everything when absent. */
  validation?: ManifestValidation;
  /** Garbage collection's grace periods; Harbor's defaults (2 hours, a minute's reads) when absent. */
  gc?: GcConfig;
  /** The job system's lease on a running execution; 30 seconds when absent. */
  jobs?: { readonly leaseSeconds: number };
  /** Scanning: the built-in Trivy scanner (none when absent) and the scan jobs' settings. */
  scanner?: ScannerConfig;
}

export interface ScannerConfig {
  readonly trivy?: TrivyConfig;
  readonly registryUrl?: string;
  readonly scanTimeoutSeconds: number;
  readonly maxDatabaseAgeDays: number;
}

export interface GcConfig {
  readonly timeWindowHours: number;
  readonly readGraceSeconds: number;
}

export interface UpstreamConfig {
  httpProxy?: string;
  httpsProxy?: string;
  noProxy?: string;
  timeoutMs: number;
  healthCheckIntervalMs: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Environment variables the server reads, and the override each one sets. */
export const ENVIRONMENT: Record<string, keyof ConfigOverrides> = {
  AIRLOCK_ADDR: "addr",
  AIRLOCK_DATA_DIR: "dataDir",
  AIRLOCK_TLS_CERT: "tlsCert",
  AIRLOCK_TLS_KEY: "tlsKey",
  AIRLOCK_LOG_LEVEL: "logLevel",
  AIRLOCK_ADMIN_PASSWORD: "adminPassword",
  AIRLOCK_HTTP_PROXY: "httpProxy",
  AIRLOCK_HTTPS_PROXY: "httpsProxy",
  AIRLOCK_NO_PROXY: "noProxy",
  AIRLOCK_TRUSTED_PROXIES: "trustedProxies",
  AIRLOCK_INDEX_PLATFORMS: "indexPlatforms",
  AIRLOCK_MANIFEST_BLOBS: "manifestBlobs",
  AIRLOCK_WORKERS: "workers",
  ...METADATA_ENVIRONMENT,
  ...STORAGE_ENVIRONMENT,
};

export function overridesFromEnvironment(env: NodeJS.ProcessEnv): ConfigOverrides {
  const overrides: ConfigOverrides = {};
  for (const [variable, key] of Object.entries(ENVIRONMENT)) {
    const value = env[variable];
    if (value !== undefined && value !== "") overrides[key] = value;
  }
  return overrides;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  // A URL's password (a database's, a proxy's) is never echoed.
  const text = JSON.stringify(value).replace(/(\/\/[^/@\s:"]*:)[^/@\s"]*@/g, "$1*****@");
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(root: unknown, keys: PropertyKey[]): unknown {
  let current = root;
  for (const key of keys) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function formatIssues(source: string, raw: unknown, error: z.ZodError): string {
  const lines = error.issues.map((issue) => {
    const key = issue.path.join(".") || "(root)";
    if (issue.code === "unrecognized_keys") return `  ${key}: unknown key(s) ${issue.keys.join(", ")}`;
    // A secret's value is never echoed, even a mistyped one.
    const got = /secret|password/i.test(String(issue.path.at(-1) ?? ""))
      ? "(hidden)"
      : describe(valueAt(raw, issue.path));
    return `  ${key}: ${issue.message} (got ${got})`;
  });
  return `invalid configuration in ${source}:\n${lines.join("\n")}`;
}

export function parseFileConfig(raw: unknown, source: string): FileConfig {
  const result = fileConfigSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(formatIssues(source, raw, result.error));
  return result.data;
}

export function readConfigFile(file: string): FileConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read configuration file ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`configuration file ${file} is not valid YAML: ${(err as Error).message}`);
  }
  return parseFileConfig(raw, file);
}

export function parseAddr(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(":");
  const host = addr.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { host: host === "" ? "0.0.0.0" : host, port: Number(addr.slice(colon + 1)) };
}

export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

/** The file's `validation` with AIRLOCK_INDEX_PLATFORMS and AIRLOCK_MANIFEST_BLOBS applied. */
function withValidationOverrides(file: FileConfig["validation"], overrides: ConfigOverrides): unknown {
  const given = overrides.indexPlatforms?.trim();
  const platforms = given?.toLowerCase();
  const indexes =
    given === undefined
      ? file.manifests.indexes
      : platforms === "all" || platforms === "none"
        ? { platforms }
        : {
            platforms: "list",
            platformlist: given.split(",").map((text) => {
              const [os, architecture, ...rest] = text.trim().split("/");
              // Refused as an unknown key: platforms are os and architecture, as in Distribution.
              return rest.length > 0 ? { os, architecture, variant: rest.join("/") } : { os, architecture };
            }),
          };
  return {
    manifests: {
      indexes,
      blobs: overrides.manifestBlobs ?? file.manifests.blobs,
    },
  };
}

function manifestValidation(validation: FileConfig["validation"]): ManifestValidation {
  const { indexes, blobs } = validation.manifests;
  return {
    indexChildren:
      indexes.platforms === "list"
        ? (indexes.platformlist ?? []).map(({ os, architecture }) => ({ os, architecture }))
        : indexes.platforms,
    blobs,
  };
}

function numberOrText(text: string): number | string {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : text;
}

/**
 * Merges the file with the overrides and checks the combination: TLS is required off loopback,
 * and an admin password must be set one way or another (there is no default password).
 */
export function resolveConfig(file: FileConfig, overrides: ConfigOverrides, baseDir: string): ServerConfig {
  const merged = parseFileConfig(
    {
      ...file,
      http: {
        ...file.http,
        ...(overrides.addr !== undefined && { addr: overrides.addr }),
        ...(overrides.trustedProxies !== undefined && {
          trustedProxies: overrides.trustedProxies
            .split(",")
            .map((entry) => entry.trim())
            .filter((entry) => entry !== ""),
        }),
        ...((overrides.tlsCert !== undefined || overrides.tlsKey !== undefined) && {
          tls: {
            certFile: overrides.tlsCert ?? file.http.tls?.certFile,
            keyFile: overrides.tlsKey ?? file.http.tls?.keyFile,
          },
        }),
      },
      ...(overrides.dataDir !== undefined && { dataDir: overrides.dataDir }),
      // A number that is not one stays text, for the schema to refuse with the value shown.
      ...(overrides.workers !== undefined && { workers: numberOrText(overrides.workers) }),
      ...(overrides.logLevel !== undefined && { log: { level: overrides.logLevel } }),
      upstream: {
        ...file.upstream,
        ...(overrides.httpProxy !== undefined && { httpProxy: overrides.httpProxy }),
        ...(overrides.httpsProxy !== undefined && { httpsProxy: overrides.httpsProxy }),
        ...(overrides.noProxy !== undefined && { noProxy: overrides.noProxy }),
      },
      metadata: withMetadataOverrides(file.metadata, overrides),
      storage: withStorageOverrides(file.storage, overrides),
      validation: withValidationOverrides(file.validation, overrides),
    },
    "the command line and environment",
  );

  const addr = parseAddr(merged.http.addr);
  if (!merged.http.tls && !isLoopback(addr.host)) {
    throw new ConfigError(
      `http.addr ${merged.http.addr} is not a loopback address and no TLS certificate is set: ` +
        "set http.tls.certFile and http.tls.keyFile (or --tls-cert and --tls-key)",
    );
  }
  if (!merged.dataDir) {
    throw new ConfigError("no data directory: set dataDir in the configuration file, --data-dir or AIRLOCK_DATA_DIR");
  }
  const admin = merged.auth.admin;
  if (overrides.adminPassword === undefined && admin.passwordHash === undefined) {
    throw new ConfigError(
      "no admin password: set auth.admin.passwordHash in the configuration file, " +
        "--admin-password-file or AIRLOCK_ADMIN_PASSWORD",
    );
  }
  const resolve = (file: string): string => path.resolve(baseDir, file);
  return {
    workers: merged.workers ?? availableParallelism(),
    addr,
    ...(merged.http.tls && {
      tls: { certFile: resolve(merged.http.tls.certFile), keyFile: resolve(merged.http.tls.keyFile) },
    }),
    shutdownTimeoutMs: merged.http.shutdownTimeoutSeconds * 1000,
    ...(merged.http.trustedProxies.length > 0 && {
      trustedProxies: { cidrs: merged.http.trustedProxies, header: merged.http.forwardedHeader },
    }),
    dataDir: resolve(merged.dataDir),
    admin: {
      username: admin.username,
      ...(admin.passwordHash !== undefined && { passwordHash: admin.passwordHash }),
      ...(overrides.adminPassword !== undefined && { password: overrides.adminPassword }),
    },
    logLevel: merged.log.level,
    token: {
      service: merged.token.service,
      ttlSeconds: merged.token.ttlSeconds,
      ...(merged.token.realm !== undefined && { realm: merged.token.realm }),
    },
    gc: { timeWindowHours: merged.gc.timeWindowHours, readGraceSeconds: merged.gc.readGraceSeconds },
    jobs: { leaseSeconds: merged.jobs.leaseSeconds },
    limits: {
      maxManifestBytes: merged.limits.maxManifestBytes,
      uploadIdleHours: merged.limits.uploadIdleHours,
      maxImportBytes: merged.limits.maxImportBytes,
    },
    mirror: {
      ...(merged.mirror.defaultProject !== undefined && { defaultProject: merged.mirror.defaultProject }),
      namespaces: merged.mirror.namespaces,
      hosts: Object.fromEntries(
        Object.entries(merged.mirror.hosts).map(([host, project]) => [host.toLowerCase(), project]),
      ),
    },
    ...(merged.portal.enabled && {
      portal: { assetsDir: merged.portal.assetsDir ? resolve(merged.portal.assetsDir) : DEFAULT_PORTAL_DIR },
    }),
    upstream: {
      ...(merged.upstream.httpProxy !== undefined && { httpProxy: merged.upstream.httpProxy }),
      ...(merged.upstream.httpsProxy !== undefined && { httpsProxy: merged.upstream.httpsProxy }),
      ...(merged.upstream.noProxy !== undefined && { noProxy: merged.upstream.noProxy }),
      timeoutMs: merged.upstream.timeoutSeconds * 1000,
      healthCheckIntervalMs: merged.upstream.healthCheckIntervalSeconds * 1000,
    },
    ...(merged.metadata.postgres && { metadata: resolveMetadata(merged.metadata.postgres, resolve) }),
    ...(merged.storage.s3 && { storage: resolveStorage(merged.storage.s3, resolve) }),
    validation: manifestValidation(merged.validation),
    scanner: {
      ...(merged.scanner.trivy && { trivy: resolveTrivyConfig(merged.scanner.trivy, resolve) }),
      ...(merged.scanner.registryUrl !== undefined && { registryUrl: merged.scanner.registryUrl }),
      scanTimeoutSeconds: merged.scanner.scanTimeoutSeconds,
      maxDatabaseAgeDays:
        merged.scanner.maxDatabaseAgeDays ?? merged.scanner.trivy?.maxDatabaseAgeDays ?? DEFAULT_MAX_DATABASE_AGE_DAYS,
    },
  };
}
