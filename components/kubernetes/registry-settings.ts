// The settings of the registry on Kubernetes that decide its shape (storage, metadata, replicas,
// TLS, Ingress, resources, monitoring), and their validation: exported pure functions, called by
// the component before it declares anything and by the stack configuration's schema, so a bad
// combination fails at construction with every problem named, never half-way through an `up`.

import type * as pulumi from "@pulumi/pulumi";
import { isCidr } from "../network/network-zones";
import { isProjectName } from "../project-name";

/** Blobs on a PersistentVolumeClaim under the data directory: a single replica. */
export interface FilesystemStorage {
  /** Which storage. */
  type: "filesystem";
  /** Size of the volume, a Kubernetes quantity. Default `100Gi`. */
  size?: string;
  /** StorageClass of the volume. Default: the cluster's default class. */
  storageClass?: string;
}

/** Blobs in an S3 bucket (AWS or an S3-compatible store): the server's `storage.s3` section. */
export interface S3Storage {
  /** Which storage. */
  type: "s3";
  /** Bucket name. */
  bucket: string;
  /** Region (the name an S3-compatible store expects in signatures). Default `us-east-1`. */
  region?: string;
  /** Endpoint of an S3-compatible store, e.g. `https://minio.dmz.internal:9000`. Default: AWS's. */
  endpoint?: string;
  /** Path-style requests, which most stores on premises want. Default false. */
  forcePathStyle?: boolean;
  /** Key prefix, so that a bucket can hold more than this registry. Default none. */
  prefix?: string;
  /** PEM of a private CA trusted for the endpoint. */
  caCertificate?: string;
  /** Static access key id; kept in a Secret with secretAccessKey. */
  accessKeyId?: pulumi.Input<string>;
  /** Static secret access key (a secret). */
  secretAccessKey?: pulumi.Input<string>;
  /**
   * An existing Secret of the namespace holding `access-key-id` and `secret-access-key`, instead
   * of the two fields above. Without either, the AWS credential chain applies (pod identity).
   */
  existingSecret?: string;
  /** CIDRs of the endpoint, which the NetworkPolicies let the registry reach. */
  cidrs?: string[];
}

export type StorageSettings = FilesystemStorage | S3Storage;

/** Metadata in SQLite on the data volume: a single replica. */
export interface SqliteMetadata {
  /** Which metadata database. */
  type: "sqlite";
}

/** Metadata in an existing PostgreSQL database: the server's `metadata.postgres` section. */
export interface PostgresMetadata {
  /** Which metadata database. */
  type: "postgres";
  /** Connection URL without the password, e.g. `postgres://airlock@pg.dmz.internal:5432/airlock?sslmode=verify-full`. */
  url: string;
  /** The database password (a secret); kept in a Secret mounted as a file. */
  password?: pulumi.Input<string>;
  /** An existing Secret of the namespace holding the password under `password`, instead. */
  existingSecret?: string;
  /** Connections per replica at most (the server's default is 10): mind the database's limit. */
  maxConnections?: number;
  /** CIDRs of the database, which the NetworkPolicies let the registry reach. */
  cidrs?: string[];
}

export type MetadataSettings = SqliteMetadata | PostgresMetadata;

export interface TlsSettings {
  /**
   * An existing `kubernetes.io/tls` Secret of the namespace for the server and the Ingress.
   * Default: a CA and a certificate generated for the stack (components/tls/).
   */
  existingSecret?: string;
  /** PEM of the CA behind existingSecret: published as the stack's CA and trusted by the providers. */
  caCertificate?: pulumi.Input<string>;
  /** More DNS names for the generated certificate (the Ingress host and the Service's names are in it). */
  dnsNames?: string[];
}

export interface IngressSettings {
  /** Host name clients pull from, e.g. `registry.dmz.example`. */
  host: string;
  /** IngressClass of the controller. Default `nginx` (ingress-nginx: its annotations are set). */
  className?: string;
  /** Read and send timeout for one request, in seconds: a large layer takes long. Default 900. */
  timeoutSeconds?: number;
  /** Source CIDRs admitted by the controller. Default: the pulling nodes of the zones, when declared. */
  sourceRanges?: string[];
  /** More annotations, over the computed ones. */
  annotations?: Record<string, string>;
  /**
   * CIDRs the controller's pods connect to the registry from (the cluster's pod range, or the
   * narrower range of the nodes the controller runs on): the server then takes the client's
   * address from the X-Forwarded-For they add, for login throttling and logs. Pods in these
   * ranges that reach the registry directly could name any address: keep them narrow. Default
   * none: every client is the controller's address to the server.
   */
  trustedProxies?: string[];
}

/** CPU and memory as Kubernetes quantities. */
export interface ResourceSettings {
  /** What the scheduler reserves. Default 250m CPU, 256Mi. */
  requests?: {
    /** CPU, e.g. `250m`. */
    cpu?: string;
    /** Memory, e.g. `256Mi`. */
    memory?: string;
  };
  /** The ceiling. Default 2 CPUs, 1Gi. */
  limits?: {
    /**
     * CPU, e.g. `2`. It also sets the server's worker processes: one per whole CPU, at least one
     * (`2` → 2, `1500m` → 1, `500m` → 1), not one per CPU of the node; each takes its share of
     * the memory limit.
     */
    cpu?: string;
    /** Memory, e.g. `1Gi`. */
    memory?: string;
  };
}

export interface MonitoringSettings {
  /** A ServiceMonitor for the Prometheus operator. Default false. */
  serviceMonitor?: boolean;
  /** A PrometheusRule with the DMZ guide's alerts. Default false. */
  prometheusRule?: boolean;
  /** Labels the Prometheus operator selects monitors and rules by, e.g. `{ release: kube-prometheus-stack }`. */
  labels?: Record<string, string>;
  /** Scrape interval. Default `30s`. */
  interval?: string;
  /**
   * A Secret of the namespace holding `username` and `password` of a system robot allowed to list
   * projects: the scrape then gets the project metrics (quota usage, repository and artifact
   * counts) the quota alert reads, which the registry keeps from anonymous scrapes. Default none.
   */
  scrapeCredentialsSecret?: string;
  /** Alert when the data volume is fuller than this (0 to 1). Default 0.85. */
  diskUsageRatio?: number;
  /** Alert when 5xx answers exceed this many per second. Default 0.1. */
  apiErrorsPerSecond?: number;
  /** Alert when an upstream's failures exceed this many per second. Default 0.05. */
  upstreamErrorsPerSecond?: number;
  /** Alert when a project has used more than this share of its storage quota for 15 minutes (0 to 1). Default 0.9. */
  quotaUsageRatio?: number;
  /** Alert when a scanner's vulnerability database is older than this many days. Default 7. */
  databaseMaxAgeDays?: number;
  /**
   * Alert when the scan reports that ended in Error number more than this above what they did an
   * hour before (`airlock_scan_reports{status="Error"}`). Default 0: any new failure.
   */
  scanFailuresPerHour?: number;
  /**
   * Projects whose Critical vulnerabilities are alerted on (`airlock_project_vulnerabilities`,
   * which only scrapes with `scrapeCredentialsSecret` get). Default `["production"]`; empty: none.
   */
  criticalVulnerabilityProjects?: string[];
}

export class KubernetesSettingsError extends Error {
  override name = "KubernetesSettingsError";
}

const QUANTITY = /^\d+(\.\d+)?(m|k|Ki|Mi|Gi|Ti|Pi|M|G|T|P)?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Why `replicas` cannot run on these backends, or undefined when it can. Several servers share
 * nothing but their backends: a volume and a SQLite file belong to one process.
 */
export function replicaProblem(replicas: number, storage: StorageSettings["type"], metadata: MetadataSettings["type"]) {
  if (!Number.isInteger(replicas) || replicas < 1) return `replicas: expected a whole number from 1, got ${replicas}`;
  if (replicas === 1 || (storage === "s3" && metadata === "postgres")) return undefined;
  return (
    `replicas: ${replicas} replicas need shared backends, storage "s3" and metadata "postgres" ` +
    `(got storage "${storage}" and metadata "${metadata}"): a volume and a SQLite file belong to one server`
  );
}

/** The port of a postgres:// URL (5432 when it names none). */
export function postgresPort(url: string): number {
  const parsed = new URL(url);
  return parsed.port === "" ? 5432 : Number(parsed.port);
}

export interface ShapeSettings {
  namespace: string;
  replicas: number;
  port: number;
  storage: StorageSettings;
  metadata: MetadataSettings;
  tls: TlsSettings;
  ingress?: IngressSettings;
  resources: ResourceSettings;
  monitoring: MonitoringSettings;
  imagePullSecrets: string[];
}

/** Checks everything known when the program runs; throws a KubernetesSettingsError listing every problem. */
export function validateKubernetesSettings(settings: ShapeSettings): void {
  const problems: string[] = [];
  const check = (ok: boolean, problem: string): void => void (ok || problems.push(problem));
  check(DNS_LABEL.test(settings.namespace), `namespace: ${JSON.stringify(settings.namespace)} is not a namespace name`);
  const replicas = replicaProblem(settings.replicas, settings.storage.type, settings.metadata.type);
  if (replicas) problems.push(replicas);
  check(
    Number.isInteger(settings.port) && settings.port >= 1024 && settings.port <= 65535,
    `port: expected a port from 1024 to 65535 (the server runs without privileges), got ${settings.port}`,
  );
  const storage = settings.storage;
  if (storage.type === "filesystem") {
    check(QUANTITY.test(storage.size ?? "100Gi"), `storage.size: ${JSON.stringify(storage.size)} is not a quantity`);
  } else {
    check(storage.bucket.length >= 3, "storage.bucket: expected a bucket name");
    if (storage.endpoint !== undefined) check(URL.canParse(storage.endpoint), "storage.endpoint: expected a URL");
    check(
      storage.existingSecret === undefined ||
        (storage.accessKeyId === undefined && storage.secretAccessKey === undefined),
      "storage: give existingSecret or accessKeyId and secretAccessKey, not both",
    );
    check(
      (storage.accessKeyId === undefined) === (storage.secretAccessKey === undefined),
      "storage: static credentials need both accessKeyId and secretAccessKey",
    );
  }
  const metadata = settings.metadata;
  if (metadata.type === "postgres") {
    const url = URL.canParse(metadata.url) ? new URL(metadata.url) : undefined;
    check(
      url !== undefined && ["postgres:", "postgresql:"].includes(url.protocol),
      "metadata.url: expected a postgres:// URL",
    );
    check(url?.password === "" || url === undefined, "metadata.url: put the password in metadata.password (a secret)");
    check(
      (metadata.password === undefined) !== (metadata.existingSecret === undefined),
      "metadata: give the database password as password or existingSecret (one of them)",
    );
  }
  if (settings.tls.existingSecret !== undefined) {
    check(DNS_SUBDOMAIN.test(settings.tls.existingSecret), "tls.existingSecret: expected a Secret name");
  }
  if (settings.ingress) {
    check(
      DNS_SUBDOMAIN.test(settings.ingress.host),
      `ingress.host: ${JSON.stringify(settings.ingress.host)} is not a DNS name`,
    );
    const timeout = settings.ingress.timeoutSeconds ?? 900;
    check(
      Number.isInteger(timeout) && timeout >= 30 && timeout <= 86_400,
      "ingress.timeoutSeconds: expected 30 to 86400",
    );
    for (const range of settings.ingress.trustedProxies ?? []) {
      check(
        isCidr(range) && !range.endsWith("/0"),
        `ingress.trustedProxies: ${JSON.stringify(range)} is not a CIDR narrower than everything`,
      );
    }
  }
  for (const [kind, values] of Object.entries({
    requests: settings.resources.requests,
    limits: settings.resources.limits,
  })) {
    for (const [resource, value] of Object.entries(values ?? {})) {
      check(
        value === undefined || QUANTITY.test(value),
        `resources.${kind}.${resource}: ${JSON.stringify(value)} is not a quantity`,
      );
    }
  }
  const ratio = settings.monitoring.diskUsageRatio ?? 0.85;
  check(ratio > 0 && ratio < 1, "monitoring.diskUsageRatio: expected a number between 0 and 1");
  const quotaRatio = settings.monitoring.quotaUsageRatio ?? 0.9;
  check(quotaRatio > 0 && quotaRatio <= 1, "monitoring.quotaUsageRatio: expected a number above 0, at most 1");
  const databaseAge = settings.monitoring.databaseMaxAgeDays ?? 7;
  check(databaseAge > 0, "monitoring.databaseMaxAgeDays: expected a number above 0");
  check((settings.monitoring.scanFailuresPerHour ?? 0) >= 0, "monitoring.scanFailuresPerHour: expected 0 or more");
  for (const project of settings.monitoring.criticalVulnerabilityProjects ?? []) {
    check(
      isProjectName(project),
      `monitoring.criticalVulnerabilityProjects: ${JSON.stringify(project)} is not a project name`,
    );
  }
  for (const name of settings.imagePullSecrets)
    check(DNS_SUBDOMAIN.test(name), `imagePullSecrets: ${JSON.stringify(name)} is not a Secret name`);
  if (problems.length > 0)
    throw new KubernetesSettingsError(`invalid Kubernetes registry settings:\n  ${problems.join("\n  ")}`);
}
