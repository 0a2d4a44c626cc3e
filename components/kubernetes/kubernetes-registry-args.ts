// The arguments of KubernetesRegistry and their check as a whole: the shape (replicas against
// storage and metadata, names, quantities) and the firewall rules the zones and endpoints give.
// An exported pure function, run before the component declares anything, so that a refused
// combination creates nothing at all.

import type * as pulumi from "@pulumi/pulumi";
import type { MirrorSettings, UpstreamSettings } from "../server-config/server-settings";
import {
  deriveFirewallRules,
  type BackendService,
  type FirewallInputs,
  type FirewallRule,
} from "../network/derive-rules";
import type { UpstreamEndpoint } from "../network/derive-rules";
import type { DeclaredZones } from "../network/network-zones";
import {
  postgresPort,
  validateKubernetesSettings,
  type IngressSettings,
  type MetadataSettings,
  type MonitoringSettings,
  type ResourceSettings,
  type StorageSettings,
  type TlsSettings,
} from "./registry-settings";

export interface KubernetesRegistryArgs {
  /** The server image built from registry-server/Dockerfile, best pinned by digest. */
  image: pulumi.Input<string>;
  /** Namespace of every resource. Default `airlock`. */
  namespace?: string;
  /** Create the namespace (Pod Security level `restricted`), rather than use an existing one. Default true. */
  createNamespace?: boolean;
  /** Default `IfNotPresent`. */
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  /** Secrets of the namespace to pull the image with. */
  imagePullSecrets?: string[];
  /** Number of servers. Default 1; more needs S3 storage and PostgreSQL metadata. */
  replicas?: number;
  /** The server's port. Default 5443. */
  port?: number;
  /** Where blobs live. Default a 100Gi volume. */
  storage?: StorageSettings;
  /** Where metadata lives. Default SQLite on the volume. */
  metadata?: MetadataSettings;
  /** TLS of the server and the Ingress. Default a generated CA and certificate. */
  tls?: TlsSettings;
  /** Publish through ingress-nginx under this host. Default: not published (Service only). */
  ingress?: IngressSettings;
  /**
   * CPU and memory. Default requests 250m and 256Mi, limits 2 CPUs and 1Gi. The CPU limit sets
   * the server's worker processes: one per whole CPU of it, at least one.
   */
  resources?: ResourceSettings;
  /** Admin user name. Default `admin`. */
  adminUsername?: string;
  /** Admin password; generated (kept secret in the state) when not given. */
  adminPassword?: pulumi.Input<string>;
  /** Server log level. Default `info`. */
  logLevel?: string;
  /** Egress towards upstream registries: the corporate proxy, timeouts. */
  upstream?: UpstreamSettings;
  /** Transparent mirror routing of pulls without a project prefix. */
  mirror?: MirrorSettings;
  /** ServiceMonitor and PrometheusRule. Default none. */
  monitoring?: MonitoringSettings;
  /** The zones and upstream endpoints the NetworkPolicies derive from. Default: no NetworkPolicies. */
  network?: { zones: DeclaredZones; upstreams: UpstreamEndpoint[] };
  /** The URL Pulumi reaches the API with (registry resources). Default the Ingress's, else the Service's. */
  apiUrl?: string;
}

/** The port of an http(s) URL. */
function endpointPort(url: string): number {
  const parsed = new URL(url);
  return parsed.port !== "" ? Number(parsed.port) : parsed.protocol === "http:" ? 80 : 443;
}

/** The services outside the cluster the registry reaches: the S3 endpoint, PostgreSQL. */
export function backendServices(storage: StorageSettings, metadata: MetadataSettings): BackendService[] {
  return [
    ...(storage.type === "s3"
      ? [{ name: "s3", cidrs: storage.cidrs ?? [], port: endpointPort(storage.endpoint ?? "https://s3") }]
      : []),
    ...(metadata.type === "postgres"
      ? [{ name: "postgres", cidrs: metadata.cidrs ?? [], port: postgresPort(metadata.url) }]
      : []),
  ];
}

/** The firewall's inputs, when zones are given. */
export function firewallInputs(args: KubernetesRegistryArgs): FirewallInputs | undefined {
  if (!args.network) return undefined;
  return {
    zones: args.network.zones,
    upstreams: args.network.upstreams,
    egress: args.upstream ?? {},
    port: args.port ?? 5443,
    ingress: args.ingress !== undefined,
    monitoring: Boolean(args.monitoring?.serviceMonitor),
    backends: backendServices(args.storage ?? { type: "filesystem" }, args.metadata ?? { type: "sqlite" }),
  };
}

/**
 * Checks the whole declaration; throws a KubernetesSettingsError or FirewallRulesError naming
 * every problem. Returns the firewall rules (none without zones).
 */
export function validateKubernetesRegistryArgs(args: KubernetesRegistryArgs): FirewallRule[] {
  validateKubernetesSettings({
    namespace: args.namespace ?? "airlock",
    replicas: args.replicas ?? 1,
    port: args.port ?? 5443,
    storage: args.storage ?? { type: "filesystem" },
    metadata: args.metadata ?? { type: "sqlite" },
    tls: args.tls ?? {},
    ...(args.ingress && { ingress: args.ingress }),
    resources: args.resources ?? {},
    monitoring: args.monitoring ?? {},
    imagePullSecrets: args.imagePullSecrets ?? [],
  });
  const inputs = firewallInputs(args);
  return inputs ? deriveFirewallRules(inputs) : [];
}
