// What an ECS task of the registry runs, as pure functions: the server's settings in a task
// (rendered by components/server-config/) and the two container definitions. Fargate mounts no
// secrets or config maps as files, and the server reads its TLS certificate, its shared keys and
// its configuration from files. So a short `prepare` container (the same image, run first)
// writes them from the task's environment and secrets into two task volumes and hands them to
// the server's user; then `registry` starts, as that user (uid 1000, the image's `node`),
// read-only root filesystem, no capabilities, probed on /api/v2.0/ping. `prepare` runs as root
// only because Fargate creates task volumes owned by root; it drops every capability but CHOWN,
// opens no port and exits before the server starts.

import { stringify } from "yaml";
import { serverConfigText } from "../server-config/render-server-config";
import type { MirrorSettings, ServerSettings, UpstreamSettings } from "../server-config/server-settings";
import { workersForTaskCpu } from "../server-config/workers";

/** Where the containers mount what the server reads. */
export const TASK_PATHS = {
  /** The prepared files: config.yaml, tls/, database-ca.pem (the image's /etc/airlock). */
  etc: "/etc/airlock",
  config: "/etc/airlock/config.yaml",
  tlsCert: "/etc/airlock/tls/tls.crt",
  tlsKey: "/etc/airlock/tls/tls.key",
  databaseCa: "/etc/airlock/database-ca.pem",
  /** The data directory (ephemeral storage): blobs when not in S3, SQLite, the shared keys in auth/. */
  data: "/var/lib/airlock",
  tokenSigningKey: "/var/lib/airlock/auth/token-signing-key.pem",
  secretBoxKey: "/var/lib/airlock/auth/secret-box.key",
  tmp: "/tmp",
} as const;

/** The image's `node` user: the server runs as it. */
export const SERVER_UID = 1000;
/** Task volumes (Fargate bind mounts on the task's ephemeral storage). */
export const TASK_VOLUMES = ["etc", "data", "tmp"] as const;

export interface TaskConfigSettings {
  port: number;
  adminUsername: string;
  logLevel: string;
  /** Blobs in S3 (the bucket of this stack), or on the data volume. */
  s3?: { bucket: string; region: string; prefix?: string };
  /**
   * Where metadata lives: `postgres` (RDS or an existing database) reaches the server as
   * AIRLOCK_DATABASE_URL, a secret, so the file names no database either way. Default `sqlite`.
   */
  metadata?: "postgres" | "sqlite";
  upstream: UpstreamSettings;
  mirror: MirrorSettings;
  /** The load balancer's subnets, when it adds X-Forwarded-For (`http.trustedProxies`). */
  trustedProxies?: string[];
  /**
   * The task's CPU units (1024 = one vCPU): the server runs one worker per whole vCPU, at least
   * one (server-config/workers.ts). Absent, the server counts the CPUs it sees.
   */
  cpu?: number;
}

/** What the server in a task is told: the prepared files' paths, the bucket, the load balancer's subnets. */
export function taskServerSettings(settings: TaskConfigSettings): ServerSettings {
  return {
    listen: { host: "0.0.0.0", port: settings.port },
    tls: { certFile: TASK_PATHS.tlsCert, keyFile: TASK_PATHS.tlsKey },
    shutdownTimeoutSeconds: 30,
    ...(settings.trustedProxies !== undefined && { trustedProxies: settings.trustedProxies }),
    ...(settings.cpu !== undefined && { workers: workersForTaskCpu(settings.cpu) }),
    dataDir: TASK_PATHS.data,
    // The password comes from AIRLOCK_ADMIN_PASSWORD.
    admin: { username: settings.adminUsername },
    logLevel: settings.logLevel,
    upstream: settings.upstream,
    mirror: settings.mirror,
    // The task role's credentials reach S3 through the AWS chain.
    storage: settings.s3
      ? {
          type: "s3",
          bucket: settings.s3.bucket,
          region: settings.s3.region,
          ...(settings.s3.prefix !== undefined && { prefix: settings.s3.prefix }),
        }
      : { type: "filesystem" },
    metadata: settings.metadata === "postgres" ? { type: "postgres-from-environment" } : { type: "sqlite" },
  };
}

/** The server's configuration file; no secret in it (those come as environment variables). */
export function taskServerConfigYaml(settings: TaskConfigSettings): string {
  return serverConfigText(
    taskServerSettings(settings),
    "Written by Pulumi (airlock:aws:AwsRegistry) into each task: edits are lost.",
    stringify,
  );
}

/** The files `prepare` writes: environment variable → path and mode. */
const PREPARED_FILES: Array<[string, string, number]> = [
  ["AIRLOCK_PREPARE_CONFIG", TASK_PATHS.config, 0o444],
  ["AIRLOCK_PREPARE_TLS_CERT", TASK_PATHS.tlsCert, 0o444],
  ["AIRLOCK_PREPARE_TLS_KEY", TASK_PATHS.tlsKey, 0o400],
  ["AIRLOCK_PREPARE_DATABASE_CA", TASK_PATHS.databaseCa, 0o444],
  ["AIRLOCK_PREPARE_TOKEN_SIGNING_KEY", TASK_PATHS.tokenSigningKey, 0o400],
  ["AIRLOCK_PREPARE_SECRET_BOX_KEY", TASK_PATHS.secretBoxKey, 0o400],
];

/** `prepare`'s program (node -e): each file written, then both volumes handed to the server's user. */
export const PREPARE_SCRIPT = [
  'const fs = require("node:fs"), path = require("node:path");',
  `for (const [name, file, mode] of ${JSON.stringify(PREPARED_FILES)}) {`,
  "  const value = process.env[name];",
  "  if (value === undefined) continue;",
  "  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });",
  "  fs.writeFileSync(file, value, { mode });",
  "}",
  `const own = (p) => { fs.chownSync(p, ${SERVER_UID}, ${SERVER_UID}); ` +
    "if (fs.statSync(p).isDirectory()) for (const e of fs.readdirSync(p)) own(path.join(p, e)); };",
  `for (const root of ${JSON.stringify([TASK_PATHS.etc, TASK_PATHS.data, TASK_PATHS.tmp])}) own(root);`,
].join("\n");

/** The container health check (node -e): /api/v2.0/ping over loopback TLS, the task's own certificate. */
export function healthCheckScript(port: number): string {
  return (
    `require("node:https").get({ host: "127.0.0.1", port: ${port}, path: "/api/v2.0/ping", rejectUnauthorized: false }, ` +
    '(r) => process.exit(r.statusCode === 200 ? 0 : 1)).on("error", () => process.exit(1));'
  );
}

/** Capabilities Docker grants by default; `prepare` keeps only CHOWN (Fargate cannot add any back). */
const DEFAULT_CAPABILITIES_BUT_CHOWN = [
  "AUDIT_WRITE",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "NET_RAW",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
];

export interface TaskContainerSettings {
  image: string;
  port: number;
  region: string;
  logGroupName: string;
  /** From taskServerConfigYaml. */
  configYaml: string;
  /** The task's certificate (PEM): not a secret. */
  tlsCertificatePem: string;
  /** The database's CA bundle (PEM), when the URL verifies it. */
  databaseCaPem?: string;
  /** Secrets Manager references (`arn` or `arn:json-key::`) the ECS agent resolves. */
  secrets: {
    adminPassword: string;
    tlsKey: string;
    tokenSigningKey: string;
    secretBoxKey: string;
    databaseUrl?: string;
  };
}

/** An ECS container definition, as much of it as the registry's containers use. */
export interface ContainerDefinition {
  name: string;
  image: string;
  essential: boolean;
  user: string;
  readonlyRootFilesystem: boolean;
  entryPoint?: string[];
  command: string[];
  environment: Array<{ name: string; value: string }>;
  secrets: Array<{ name: string; valueFrom: string }>;
  mountPoints: Array<{ sourceVolume: string; containerPath: string; readOnly: boolean }>;
  portMappings?: Array<{ containerPort: number; protocol: "tcp"; name: string }>;
  dependsOn?: Array<{ containerName: string; condition: "SUCCESS" }>;
  healthCheck?: { command: string[]; interval: number; timeout: number; retries: number; startPeriod: number };
  linuxParameters: { capabilities: { drop: string[] }; initProcessEnabled?: boolean };
  stopTimeout?: number;
  logConfiguration: { logDriver: "awslogs"; options: Record<string, string> };
}

/** `prepare`, then `registry`: the task's containers. */
export function registryContainerDefinitions(settings: TaskContainerSettings): ContainerDefinition[] {
  const logs = (prefix: string) => ({
    logDriver: "awslogs" as const,
    options: {
      "awslogs-group": settings.logGroupName,
      "awslogs-region": settings.region,
      "awslogs-stream-prefix": prefix,
    },
  });
  const prepare: ContainerDefinition = {
    name: "prepare",
    image: settings.image,
    essential: false,
    user: "0",
    readonlyRootFilesystem: true,
    entryPoint: ["node", "-e"],
    command: [PREPARE_SCRIPT],
    environment: [
      { name: "AIRLOCK_PREPARE_CONFIG", value: settings.configYaml },
      { name: "AIRLOCK_PREPARE_TLS_CERT", value: settings.tlsCertificatePem },
      ...(settings.databaseCaPem !== undefined
        ? [{ name: "AIRLOCK_PREPARE_DATABASE_CA", value: settings.databaseCaPem }]
        : []),
    ],
    secrets: [
      { name: "AIRLOCK_PREPARE_TLS_KEY", valueFrom: settings.secrets.tlsKey },
      { name: "AIRLOCK_PREPARE_TOKEN_SIGNING_KEY", valueFrom: settings.secrets.tokenSigningKey },
      { name: "AIRLOCK_PREPARE_SECRET_BOX_KEY", valueFrom: settings.secrets.secretBoxKey },
    ],
    mountPoints: [
      { sourceVolume: "etc", containerPath: TASK_PATHS.etc, readOnly: false },
      { sourceVolume: "data", containerPath: TASK_PATHS.data, readOnly: false },
      { sourceVolume: "tmp", containerPath: TASK_PATHS.tmp, readOnly: false },
    ],
    linuxParameters: { capabilities: { drop: DEFAULT_CAPABILITIES_BUT_CHOWN } },
    logConfiguration: logs("prepare"),
  };
  const registry: ContainerDefinition = {
    name: "registry",
    image: settings.image,
    essential: true,
    user: `${SERVER_UID}:${SERVER_UID}`,
    readonlyRootFilesystem: true,
    // The image's entry point is `node dist/main.js`.
    command: ["serve", "--config", TASK_PATHS.config],
    environment: [],
    secrets: [
      { name: "AIRLOCK_ADMIN_PASSWORD", valueFrom: settings.secrets.adminPassword },
      ...(settings.secrets.databaseUrl !== undefined
        ? [{ name: "AIRLOCK_DATABASE_URL", valueFrom: settings.secrets.databaseUrl }]
        : []),
    ],
    mountPoints: [
      { sourceVolume: "etc", containerPath: TASK_PATHS.etc, readOnly: true },
      { sourceVolume: "data", containerPath: TASK_PATHS.data, readOnly: false },
      { sourceVolume: "tmp", containerPath: TASK_PATHS.tmp, readOnly: false },
    ],
    portMappings: [{ containerPort: settings.port, protocol: "tcp", name: "https" }],
    dependsOn: [{ containerName: "prepare", condition: "SUCCESS" }],
    // Start-up may migrate the metadata schema: two minutes before failures count.
    healthCheck: {
      command: ["CMD", "node", "-e", healthCheckScript(settings.port)],
      interval: 15,
      timeout: 5,
      retries: 3,
      startPeriod: 120,
    },
    linuxParameters: { capabilities: { drop: ["ALL"] }, initProcessEnabled: true },
    // SIGTERM lets in-flight pushes finish (the server waits 30 s); ECS waits a little longer.
    stopTimeout: 45,
    logConfiguration: logs("registry"),
  };
  return [prepare, registry];
}
