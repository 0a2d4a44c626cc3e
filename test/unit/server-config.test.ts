// The one renderer of the server's configuration file, per target: what each target's settings
// render to, and that the server's own parser takes it and reads back every value. The server's
// schema is strict, so a key renamed on either side fails here: this is the contract between
// components/server-config/ and registry-server/src/config.ts, which the Pulumi program cannot
// import as a type. Also the workers' derivation from a container's CPU limit.

import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import {
  serverConfigYaml,
  kubernetesServerSettings,
  type ServerConfigSettings,
} from "../../components/kubernetes/server-config";
import { LOCAL_CONFIG_HEADER, localServerSettings } from "../../components/local/server-process";
import {
  taskServerConfigYaml,
  taskServerSettings,
  type TaskConfigSettings,
} from "../../components/aws/task-definition";
import { renderServerConfig, serverConfigText } from "../../components/server-config/render-server-config";
import type { ServerConfigFile } from "../../components/server-config/server-config-file";
import { LOG_LEVELS, type ServerSettings } from "../../components/server-config/server-settings";
import { MAX_WORKERS, workersForCpuLimit, workersForTaskCpu } from "../../components/server-config/workers";

const SERVER_SRC = path.resolve(__dirname, "..", "..", "registry-server", "src");

/** What the server makes of a file (registry-server/src/config.ts ServerConfig), as far as read here. */
interface ResolvedConfig {
  workers?: number;
  addr: { host: string; port: number };
  tls?: { certFile: string; keyFile: string };
  trustedProxies?: { cidrs: string[] };
  shutdownTimeoutMs: number;
  dataDir: string;
  admin: { username: string; passwordHash?: string };
  logLevel: string;
  mirror: { defaultProject?: string; namespaces: Record<string, string>; hosts: Record<string, string> };
  upstream: { httpProxy?: string; httpsProxy?: string; noProxy?: string; timeoutMs: number };
  metadata?: { postgres: { url: string; passwordFile?: string; maxConnections: number } };
  storage?: {
    s3: { bucket: string; region: string; endpoint?: string; prefix: string; forcePathStyle: boolean; caFile?: string };
  };
}

/** The server's configuration module, loaded as the server runs it (ESM TypeScript). */
interface ServerConfigModule {
  LOG_LEVELS: readonly string[];
  parseFileConfig(raw: unknown, source: string): unknown;
  resolveConfig(file: unknown, overrides: Record<string, string>, baseDir: string): ResolvedConfig;
}

const server = async (): Promise<ServerConfigModule> =>
  (await import(path.join(SERVER_SRC, "config.ts"))) as ServerConfigModule;

/** A real `$scrypt$…` hash from the server's own module: the schema checks its form. */
const passwordHash = async (): Promise<string> =>
  (
    (await import(path.join(SERVER_SRC, "auth", "password-hash.ts"))) as { hashPassword(p: string): Promise<string> }
  ).hashPassword("Admin-pass-1");

const UPSTREAM = { httpsProxy: "http://proxy.dmz.internal:3128", noProxy: ".dmz.internal", timeoutSeconds: 30 };
const MIRROR = { defaultProject: "dockerhub-proxy", namespaces: { "docker.io": "dockerhub-proxy" } };
const TLS_FILES = { certFile: "/etc/airlock/tls/tls.crt", keyFile: "/etc/airlock/tls/tls.key" };

const KUBERNETES: ServerConfigSettings = {
  port: 5443,
  adminUsername: "admin",
  logLevel: "info",
  shutdownTimeoutSeconds: 30,
  storage: { type: "filesystem" },
  metadata: { type: "sqlite" },
  upstream: UPSTREAM,
  mirror: MIRROR,
  cpuLimit: "2",
};

const TASK: TaskConfigSettings = {
  port: 5443,
  adminUsername: "admin",
  logLevel: "info",
  s3: { bucket: "registry-blobs", region: "eu-west-1", prefix: "registry" },
  metadata: "postgres",
  upstream: UPSTREAM,
  mirror: {},
  trustedProxies: ["10.80.0.0/20", "10.80.16.0/20"],
  cpu: 1024,
};

interface Case {
  /** The target's settings and its file's text, as the target writes them. */
  render: (hash: string) => { settings: ServerSettings; text: string };
  header: string;
  expected: (hash: string) => ServerConfigFile;
  /** What the deployment hands the server besides the file (the password, the database URL). */
  overrides: Record<string, string>;
  /** What the server must make of it. */
  resolved: Partial<ResolvedConfig>;
}

const localInputs = {
  stateDir: "/srv/airlock",
  dataDir: "/srv/airlock/data",
  bindAddress: "127.0.0.1",
  port: 5443,
  adminUsername: "admin",
  logLevel: "info",
  upstream: {},
  mirror: {},
};

const cases: Record<string, Case> = {
  "local, the default stack": {
    render(hash) {
      const settings = localServerSettings(localInputs, hash);
      return { settings, text: serverConfigText(settings, LOCAL_CONFIG_HEADER, stringify) };
    },
    header: "# Written by Pulumi (airlock local target); edits show as drift.",
    expected: (hash) => ({
      http: {
        addr: "127.0.0.1:5443",
        tls: { certFile: "/srv/airlock/tls/server.crt", keyFile: "/srv/airlock/tls/server.key" },
      },
      dataDir: "/srv/airlock/data",
      auth: { admin: { username: "admin", passwordHash: hash } },
      log: { level: "info" },
    }),
    overrides: {},
    resolved: { addr: { host: "127.0.0.1", port: 5443 }, shutdownTimeoutMs: 30_000, dataDir: "/srv/airlock/data" },
  },
  "local, on IPv6 behind the corporate proxy": {
    render(hash) {
      const settings = localServerSettings(
        { ...localInputs, bindAddress: "::1", logLevel: "debug", upstream: UPSTREAM, mirror: MIRROR },
        hash,
      );
      return { settings, text: serverConfigText(settings, LOCAL_CONFIG_HEADER, stringify) };
    },
    header: "# Written by Pulumi (airlock local target); edits show as drift.",
    expected: (hash) => ({
      http: {
        addr: "[::1]:5443",
        tls: { certFile: "/srv/airlock/tls/server.crt", keyFile: "/srv/airlock/tls/server.key" },
      },
      dataDir: "/srv/airlock/data",
      auth: { admin: { username: "admin", passwordHash: hash } },
      log: { level: "debug" },
      upstream: UPSTREAM,
      mirror: MIRROR,
    }),
    overrides: {},
    resolved: {
      addr: { host: "::1", port: 5443 },
      logLevel: "debug",
      upstream: { httpsProxy: UPSTREAM.httpsProxy, noProxy: ".dmz.internal", timeoutMs: 30_000 },
      mirror: { defaultProject: "dockerhub-proxy", namespaces: { "docker.io": "dockerhub-proxy" }, hosts: {} },
    },
  },
  "Kubernetes, one server on a volume (the dmz stack)": {
    render: () => ({ settings: kubernetesServerSettings(KUBERNETES), text: serverConfigYaml(KUBERNETES) }),
    header: "# Written by Pulumi (airlock:kubernetes:KubernetesRegistry): edits are overwritten.",
    expected: () => ({
      http: { addr: "0.0.0.0:5443", tls: TLS_FILES, shutdownTimeoutSeconds: 30 },
      workers: 2,
      dataDir: "/var/lib/airlock",
      auth: { admin: { username: "admin" } },
      log: { level: "info" },
      upstream: UPSTREAM,
      mirror: MIRROR,
    }),
    // The pod hands the password over with --admin-password-file.
    overrides: { adminPassword: "from-the-secret" },
    resolved: { workers: 2, addr: { host: "0.0.0.0", port: 5443 }, tls: TLS_FILES },
  },
  "Kubernetes, replicas over S3 and PostgreSQL behind ingress-nginx": {
    render() {
      const settings: ServerConfigSettings = {
        ...KUBERNETES,
        mirror: {},
        cpuLimit: "1500m",
        trustedProxies: ["10.42.0.0/16"],
        storage: {
          type: "s3",
          bucket: "airlock",
          region: "eu-west-3",
          endpoint: "https://minio.dmz.internal:9000",
          prefix: "dmz",
          caCertificate: "-----BEGIN CERTIFICATE-----",
          accessKeyId: "AKIA-never-in-the-file",
          secretAccessKey: "never-in-the-file",
        },
        metadata: { type: "postgres", url: "postgres://airlock@db/airlock", password: "never", maxConnections: 20 },
      };
      return { settings: kubernetesServerSettings(settings), text: serverConfigYaml(settings) };
    },
    header: "# Written by Pulumi (airlock:kubernetes:KubernetesRegistry): edits are overwritten.",
    expected: () => ({
      http: { addr: "0.0.0.0:5443", tls: TLS_FILES, shutdownTimeoutSeconds: 30, trustedProxies: ["10.42.0.0/16"] },
      workers: 1,
      dataDir: "/var/lib/airlock",
      auth: { admin: { username: "admin" } },
      log: { level: "info" },
      upstream: UPSTREAM,
      storage: {
        s3: {
          bucket: "airlock",
          region: "eu-west-3",
          endpoint: "https://minio.dmz.internal:9000",
          prefix: "dmz",
          forcePathStyle: false,
          caFile: "/etc/airlock/s3-ca.crt",
        },
      },
      metadata: {
        postgres: {
          url: "postgres://airlock@db/airlock",
          passwordFile: "/etc/airlock/database/password",
          maxConnections: 20,
        },
      },
    }),
    overrides: { adminPassword: "from-the-secret" },
    resolved: {
      workers: 1,
      trustedProxies: { cidrs: ["10.42.0.0/16"] },
      storage: {
        s3: {
          bucket: "airlock",
          region: "eu-west-3",
          endpoint: "https://minio.dmz.internal:9000",
          prefix: "dmz",
          forcePathStyle: false,
          caFile: "/etc/airlock/s3-ca.crt",
        },
      },
      metadata: {
        postgres: {
          url: "postgres://airlock@db/airlock",
          passwordFile: "/etc/airlock/database/password",
          maxConnections: 20,
        },
      },
    },
  },
  "AWS, tasks over S3 and RDS behind an application load balancer (the aws-dmz stack)": {
    render: () => ({ settings: taskServerSettings(TASK), text: taskServerConfigYaml(TASK) }),
    header: "# Written by Pulumi (airlock:aws:AwsRegistry) into each task: edits are lost.",
    expected: () => ({
      http: {
        addr: "0.0.0.0:5443",
        tls: TLS_FILES,
        shutdownTimeoutSeconds: 30,
        trustedProxies: TASK.trustedProxies ?? [],
      },
      workers: 1,
      dataDir: "/var/lib/airlock",
      auth: { admin: { username: "admin" } },
      log: { level: "info" },
      upstream: UPSTREAM,
      storage: { s3: { bucket: "registry-blobs", region: "eu-west-1", prefix: "registry" } },
    }),
    // The task's secrets: the password and the database's whole URL, as environment variables.
    overrides: {
      adminPassword: "from-secrets-manager",
      databaseUrl: "postgres://airlock:pw@rds.internal:5432/airlock",
    },
    resolved: {
      workers: 1,
      metadata: { postgres: { url: "postgres://airlock:pw@rds.internal:5432/airlock", maxConnections: 10 } },
      storage: {
        s3: { bucket: "registry-blobs", region: "eu-west-1", prefix: "registry", forcePathStyle: false },
      },
    },
  },
  "AWS, a trial task on its own disk behind a network load balancer": {
    render() {
      const settings: TaskConfigSettings = { ...TASK, trustedProxies: [], metadata: "sqlite", cpu: 4096 };
      delete settings.s3;
      return { settings: taskServerSettings(settings), text: taskServerConfigYaml(settings) };
    },
    header: "# Written by Pulumi (airlock:aws:AwsRegistry) into each task: edits are lost.",
    expected: () => ({
      http: { addr: "0.0.0.0:5443", tls: TLS_FILES, shutdownTimeoutSeconds: 30 },
      workers: 4,
      dataDir: "/var/lib/airlock",
      auth: { admin: { username: "admin" } },
      log: { level: "info" },
      upstream: UPSTREAM,
    }),
    overrides: { adminPassword: "from-secrets-manager" },
    resolved: { workers: 4, dataDir: "/var/lib/airlock" },
  },
};

describe("the server's configuration, per target", () => {
  it.each(Object.entries(cases))("%s", async (_name, { render, header, expected, overrides, resolved }) => {
    const hash = await passwordHash();
    const { settings, text } = render(hash);
    expect(renderServerConfig(settings)).toEqual(expected(hash));
    const [first, ...rest] = text.split("\n");
    expect(first).toBe(header);
    expect(parse(rest.join("\n"))).toEqual(expected(hash));
    expect(text).not.toContain("never");

    const config = await server();
    const file = config.parseFileConfig(parse(text), "the rendered file");
    const result = config.resolveConfig(file, overrides, "/");
    expect(result).toMatchObject(resolved);
    expect(result.tls).toEqual(renderServerConfig(settings).http.tls);
    expect(result.admin).toMatchObject({ username: "admin" });
  });

  it("writes the default stack's file byte for byte as before, so its recorded hash holds", async () => {
    const hash = await passwordHash();
    const settings = localServerSettings(localInputs, hash);
    expect(serverConfigText(settings, LOCAL_CONFIG_HEADER, stringify)).toBe(
      [
        "# Written by Pulumi (airlock local target); edits show as drift.",
        "http:",
        "  addr: 127.0.0.1:5443",
        "  tls:",
        "    certFile: /srv/airlock/tls/server.crt",
        "    keyFile: /srv/airlock/tls/server.key",
        "dataDir: /srv/airlock/data",
        "auth:",
        "  admin:",
        "    username: admin",
        `    passwordHash: ${hash}`,
        "log:",
        "  level: info",
        "",
      ].join("\n"),
    );
  });

  it("leaves out what sets nothing: empty sections, no trusted proxy, no worker count", () => {
    const settings = localServerSettings(localInputs, "$scrypt$x");
    const file = renderServerConfig({ ...settings, trustedProxies: [] }) as unknown as Record<string, unknown>;
    expect(Object.keys(file)).toEqual(["http", "dataDir", "auth", "log"]);
    expect(Object.keys(file["http"] as object)).toEqual(["addr", "tls"]);
  });

  it("knows the server's log levels", async () => {
    expect([...LOG_LEVELS]).toEqual([...(await server()).LOG_LEVELS]);
  });
});

describe("the server's workers in a container", () => {
  it.each([
    ["2", 2],
    ["1500m", 1],
    ["500m", 1],
    ["2.5", 2],
    ["4000m", 4],
    ["0", 1],
    ["1k", MAX_WORKERS],
  ] as const)("a CPU limit of %s runs %d", (limit, workers) => {
    expect(workersForCpuLimit(limit)).toBe(workers);
  });

  it("refuses a limit that is no quantity", () => {
    expect(() => workersForCpuLimit("two")).toThrow('not a CPU quantity: "two"');
    expect(() => workersForCpuLimit("2Gb")).toThrow("not a CPU quantity");
  });

  it.each([
    [256, 1],
    [512, 1],
    [1024, 1],
    [2048, 2],
    [4096, 4],
    [16384, 16],
  ] as const)("an ECS task of %d CPU units runs %d", (units, workers) => {
    expect(workersForTaskCpu(units)).toBe(workers);
  });

  it("stays within what the server takes", async () => {
    const config = await server();
    expect(() => config.parseFileConfig({ workers: MAX_WORKERS }, "the ceiling")).not.toThrow();
    expect(() => config.parseFileConfig({ workers: MAX_WORKERS + 1 }, "beyond it")).toThrow(/workers/);
  });
});
