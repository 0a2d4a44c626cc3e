// The stack configuration (`airlock:*` keys of Pulumi.<stack>.yaml), validated with zod before
// any resource is declared. A bad value fails the whole run with its key, its value (never a
// secret's) and what was expected; an unknown `airlock:` key fails too, so typos are caught.

import { isIP } from "node:net";
import { z } from "zod";
import { awsReplicaProblem } from "./aws/aws-registry-args";
import { replicaProblem } from "./kubernetes/registry-settings";
import { isCidr } from "./network/network-zones";
import { REGISTRY_ENDPOINT_TYPES } from "./registry/registry-endpoint";

export const CONFIG_NAMESPACE = "airlock";
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;

const dnsName = z
  .string()
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i,
    "expected a DNS name",
  );

const localTargetSchema = z.strictObject({
  /** Port the registry listens on. */
  port: z
    .number()
    .int("expected a whole number")
    .min(1, "expected a port from 1 to 65535")
    .max(65535, "expected a port from 1 to 65535")
    .default(5443),
  /** Address to listen on: loopback by default; 0.0.0.0 serves other machines. */
  bindAddress: z
    .string()
    .refine((value) => isIP(value) !== 0, "expected an IP address")
    .default("127.0.0.1"),
  /** DNS names clients use besides localhost; added to the server certificate. */
  hostnames: z.array(dnsName).default([]),
  /** Configuration, TLS files and logs. Default `.airlock/<stack>` in the project. */
  stateDir: z.string().min(1).optional(),
  /** Registry content. Default `<stateDir>/data`. */
  dataDir: z.string().min(1).optional(),
  logLevel: z.enum(LOG_LEVELS).default("info"),
  /** Delete content and state on `pulumi destroy`. Default false: they are kept. */
  removeDataOnDestroy: z.boolean().default(false),
});

const namespaceName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "expected a namespace name (lowercase letters, digits, -)");
const resourceName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "expected a Kubernetes object name (lowercase, digits, - and .)");
const quantity = z
  .string()
  .regex(/^\d+(\.\d+)?(m|k|Ki|Mi|Gi|Ti|Pi|M|G|T|P)?$/, "expected a quantity, e.g. 500m, 2, 512Mi, 100Gi");
const cidr = z.string().refine((value) => isCidr(value), "expected a CIDR, e.g. 10.0.0.0/16");
const pem = z.string().includes("-----BEGIN CERTIFICATE-----", { error: "expected PEM certificate(s)" });

const storageSchema = z.discriminatedUnion("type", [
  z.strictObject({
    /** Blobs and metadata on a PersistentVolumeClaim: one replica. */
    type: z.literal("filesystem"),
    size: quantity.default("100Gi"),
    storageClass: resourceName.optional(),
  }),
  z.strictObject({
    /** Blobs in an S3 bucket (AWS or an S3-compatible store). */
    type: z.literal("s3"),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "expected a bucket name"),
    region: z.string().min(1).default("us-east-1"),
    endpoint: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }).optional(),
    forcePathStyle: z.boolean().default(false),
    prefix: z.string().optional(),
    caCertificate: pem.optional(),
    accessKeyId: z.string().min(1).optional(),
    /** Set with `pulumi config set --secret --path 'airlock:kubernetes.storage.secretAccessKey' …`. */
    secretAccessKey: z.string().min(1).optional(),
    /** A Secret of the namespace with `access-key-id` and `secret-access-key`, instead. */
    existingSecret: resourceName.optional(),
    /** Where the endpoint is, for the NetworkPolicy that lets the registry reach it. */
    cidrs: z.array(cidr).default([]),
  }),
]);

const metadataSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("sqlite") }),
  z.strictObject({
    type: z.literal("postgres"),
    /** postgres:// URL without the password. */
    url: z.url({ protocol: /^postgres(ql)?$/, error: "expected a postgres:// URL" }),
    /** Set with `pulumi config set --secret --path 'airlock:kubernetes.metadata.password' …`. */
    password: z.string().min(1).optional(),
    /** A Secret of the namespace with the password under `password`, instead. */
    existingSecret: resourceName.optional(),
    /** Connections per replica at most. */
    maxConnections: z.number().int().min(2).max(1000).optional(),
    cidrs: z.array(cidr).default([]),
  }),
]);

const zonesSchema = z.strictObject({
  internet: z.strictObject({ endpoints: z.record(z.string(), z.array(cidr).min(1)).default({}) }).prefault({}),
  proxy: z
    .strictObject({
      egressProxyCidrs: z.array(cidr).default([]),
      ingressControllerNamespace: namespaceName.default("ingress-nginx"),
    })
    .prefault({}),
  production: z
    .strictObject({ namespaces: z.array(namespaceName).default([]), cidrs: z.array(cidr).default([]) })
    .prefault({}),
  cluster: z
    .strictObject({
      nodeCidrs: z.array(cidr).default([]),
      dnsNamespace: namespaceName.default("kube-system"),
      dnsPodLabels: z.record(z.string(), z.string()).default({ "k8s-app": "kube-dns" }),
      monitoringNamespace: namespaceName.default("monitoring"),
    })
    .prefault({}),
});

const kubernetesTargetSchema = z.strictObject({
  /** The server image built from registry-server/Dockerfile, best pinned by digest. Required for this target. */
  image: z.string().min(1).optional(),
  imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).default("IfNotPresent"),
  imagePullSecrets: z.array(resourceName).default([]),
  namespace: namespaceName.default("airlock"),
  createNamespace: z.boolean().default(true),
  replicas: z.number().int("expected a whole number").min(1).max(50).default(1),
  port: z.number().int().min(1024, "expected a port from 1024 to 65535").max(65535).default(5443),
  logLevel: z.enum(LOG_LEVELS).default("info"),
  storage: storageSchema.prefault({ type: "filesystem" }),
  metadata: metadataSchema.prefault({ type: "sqlite" }),
  tls: z
    .strictObject({
      /** A kubernetes.io/tls Secret of the namespace; a CA and certificate are generated otherwise. */
      existingSecret: resourceName.optional(),
      caCertificate: pem.optional(),
      dnsNames: z.array(dnsName).default([]),
    })
    .prefault({}),
  /** Publish through ingress-nginx; left out, the registry is reached through its Service only. */
  ingress: z
    .strictObject({
      host: dnsName,
      className: resourceName.default("nginx"),
      timeoutSeconds: z.number().int().min(30).max(86_400).default(900),
      sourceRanges: z.array(cidr).optional(),
      annotations: z.record(z.string(), z.string()).default({}),
    })
    .optional(),
  resources: z
    .strictObject({
      requests: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() }).default({}),
      limits: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() }).default({}),
    })
    .prefault({}),
  /** The DMZ guide's zones: NetworkPolicies are derived from them; left out, none is made. */
  zones: zonesSchema.optional(),
  monitoring: z
    .strictObject({
      serviceMonitor: z.boolean().default(false),
      prometheusRule: z.boolean().default(false),
      labels: z.record(z.string(), z.string()).default({}),
      interval: z
        .string()
        .regex(/^\d+[smh]$/, "expected a duration such as 30s")
        .default("30s"),
      diskUsageRatio: z.number().gt(0).lt(1).default(0.85),
      apiErrorsPerSecond: z.number().positive().default(0.1),
      upstreamErrorsPerSecond: z.number().positive().default(0.05),
    })
    .prefault({}),
  /** The kubeconfig context to deploy with. Default: the current one. */
  context: z.string().min(1).optional(),
  /**
   * Write the manifests to this directory instead of applying them (no cluster needed): the
   * registry's content (projects, robots, upstream endpoints…) is then not declared, as there is
   * no server to create it in.
   */
  renderYamlToDirectory: z.string().min(1).optional(),
  /** The URL Pulumi reaches the registry's API with. Default https://<ingress host>. */
  apiUrl: z.url({ protocol: /^https$/, error: "expected an https URL" }).optional(),
});

/** The AWS target (components/aws/, README "AWS target"); checked as a whole by AwsRegistry. */
const awsTargetSchema = z.strictObject({
  /** The server image (registry-server/Dockerfile), best pinned by digest. Required for this target. */
  image: z.string().min(1).optional(),
  imageRepositoryArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:ecr:/, "expected an ECR repository ARN")
    .optional(),
  /** Required for this target. */
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "expected a region, e.g. eu-west-1")
    .optional(),
  /** Two or more. Required for this target. */
  availabilityZones: z.array(z.string().min(1)).default([]),
  vpcCidr: cidr.default("10.80.0.0/16"),
  replicas: z.number().int("expected a whole number").min(1).max(50).default(1),
  cpu: z.number().int().default(1024),
  memory: z.number().int().default(2048),
  architecture: z.enum(["X86_64", "ARM64"]).default("X86_64"),
  port: z.number().int().min(1024, "expected a port from 1024 to 65535").max(65535).default(5443),
  logLevel: z.enum(LOG_LEVELS).default("info"),
  storage: z
    .discriminatedUnion("type", [
      z.strictObject({
        type: z.literal("s3"),
        prefix: z.string().optional(),
        noncurrentVersionDays: z.number().int().min(1).default(30),
        abortIncompleteUploadDays: z.number().int().min(1).default(7),
        forceDestroy: z.boolean().default(false),
      }),
      z.strictObject({ type: z.literal("ephemeral"), sizeGiB: z.number().int().min(21).max(200).default(100) }),
    ])
    .prefault({ type: "s3" }),
  metadata: z
    .discriminatedUnion("type", [
      z.strictObject({
        type: z.literal("rds"),
        instanceClass: z
          .string()
          .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, "expected e.g. db.t4g.small")
          .optional(),
        allocatedStorageGiB: z.number().int().min(20).max(65536).optional(),
        engineVersion: z.string().min(1).optional(),
        multiAz: z.boolean().default(false),
        backupRetentionDays: z.number().int().min(1).max(35).default(7),
        deletionProtection: z.boolean().default(true),
        /** The region's RDS CA bundle: the server then verifies the database's certificate. */
        caCertificate: pem.optional(),
      }),
      z.strictObject({
        type: z.literal("postgres"),
        /** Set with `pulumi config set --secret --path 'airlock:aws.metadata.url' …` (it holds the password). */
        url: z.url({ protocol: /^postgres(ql)?$/, error: "expected a postgres:// URL" }),
        cidrs: z.array(cidr).min(1, "the registry needs the database's CIDRs to reach it"),
        port: z.number().int().min(1).max(65535).default(5432),
      }),
      z.strictObject({ type: z.literal("sqlite") }),
    ])
    .prefault({ type: "rds" }),
  tls: z
    .strictObject({
      /** An ACM certificate: TLS ends at the load balancer. */
      certificateArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:acm:/, "expected an ACM certificate ARN")
        .optional(),
      certificatePem: pem.optional(),
      /** Set with `pulumi config set --secret --path 'airlock:aws.tls.privateKeyPem' …`. */
      privateKeyPem: z.string().includes("PRIVATE KEY-----", { error: "expected a PEM private key" }).optional(),
      caCertificate: pem.optional(),
    })
    .prefault({}),
  /** Required for this target. */
  loadBalancer: z
    .strictObject({
      hostName: dnsName,
      type: z.enum(["application", "network"]).optional(),
      internal: z.boolean().default(true),
      zone: z.enum(["ingress", "production"]).default("ingress"),
      idleTimeoutSeconds: z.number().int().min(60).max(4000).default(900),
      route53ZoneId: z.string().min(1).optional(),
    })
    .optional(),
  zones: z
    .strictObject({
      internet: z.strictObject({ endpoints: z.record(z.string(), z.array(cidr).min(1)).default({}) }).prefault({}),
      proxy: z.strictObject({ egressProxyCidrs: z.array(cidr).default([]) }).prefault({}),
      production: z.strictObject({ cidrs: z.array(cidr).default([]) }).prefault({}),
    })
    .prefault({}),
  kmsKeyArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:kms:/, "expected a KMS key ARN")
    .optional(),
  interfaceEndpoints: z.boolean().default(true),
  natGateway: z.boolean().optional(),
  logRetentionDays: z.number().int().default(90),
  tags: z.record(z.string(), z.string()).default({}),
  apiUrl: z.url({ protocol: /^https$/, error: "expected an https URL" }).optional(),
});

/** What the AWS target needs beyond each field's own rules; AwsRegistry checks the rest. */
function refineAwsTarget(aws: z.infer<typeof awsTargetSchema>, ctx: z.RefinementCtx): void {
  const issue = (path: PropertyKey[], message: string) =>
    ctx.addIssue({ code: "custom", path: ["aws", ...path], message });
  if (aws.image === undefined) issue(["image"], "the AWS target needs the server image (registry-server/Dockerfile)");
  if (aws.region === undefined) issue(["region"], "the AWS target needs its region");
  if (new Set(aws.availabilityZones).size < 2) issue(["availabilityZones"], "expected two or more availability zones");
  if (aws.loadBalancer === undefined) issue(["loadBalancer"], "the AWS target needs loadBalancer.hostName");
  const replicas = awsReplicaProblem(aws.replicas, aws.storage.type, aws.metadata.type);
  if (replicas) issue(["replicas"], replicas.replace(/^replicas: /, ""));
  if (aws.loadBalancer?.zone === "production" && !aws.loadBalancer.internal)
    issue(["loadBalancer", "internal"], "a load balancer in the production zone must be internal");
}

const PROJECT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const harborPassword = z
  .string()
  .refine(
    (p) => p.length >= 8 && p.length <= 128 && /[A-Z]/.test(p) && /[a-z]/.test(p) && /\d/.test(p),
    "expected 8 to 128 characters with an upper case letter, a lower case letter and a digit",
  );

const userSchema = z.strictObject({
  username: z.string().regex(/^[^,"~#$%:\s]{1,255}$/, 'expected a user name without spaces or , " ~ # $ % :'),
  /** Set with `pulumi config set --secret --path 'airlock:users[0].password' …`. */
  password: harborPassword,
  /** Bump to set the password again after someone changed it by hand. */
  passwordVersion: z.number().int().min(1).default(1),
  email: z.union([z.literal(""), z.email()]).default(""),
  realname: z.string().max(255).default(""),
});

const memberSchema = z.strictObject({
  username: z.string().min(1),
  role: z.enum(["projectAdmin", "maintainer", "developer", "guest", "limitedGuest"]),
});

const robotSchema = z.strictObject({
  /** Short name: the robot logs in as robot$<project>+<name>. */
  name: z.string().regex(PROJECT_NAME, "expected lowercase letters and digits with . _ - between them"),
  actions: z.array(z.enum(["pull", "push", "delete"])).min(1),
  description: z.string().max(1024).default(""),
  /** Lifetime in days; -1 never expires. */
  duration: z.number().int().min(-1).default(-1),
  /** Bump to rotate the robot's secret. */
  secretVersion: z.number().int().min(1).default(1),
});

const projectSchema = z.strictObject({
  name: z.string().max(255).regex(PROJECT_NAME, "expected lowercase letters and digits with . _ - between them"),
  public: z.boolean().default(false),
  /** Storage quota in bytes; -1 for none. */
  storageLimit: z.number().int().min(-1).default(-1),
  /** Other Harbor project metadata, values as strings ("true"). */
  metadata: z.record(z.string(), z.string()).default({}),
  members: z.array(memberSchema).default([]),
  robots: z.array(robotSchema).default([]),
});

const projectName = z
  .string()
  .max(255)
  .regex(PROJECT_NAME, "expected lowercase letters and digits with . _ - between them");

const upstreamSchema = z.strictObject({
  /** The corporate proxy for http:// upstreams. */
  httpProxy: z.url().optional(),
  /** The corporate proxy for https:// upstreams (CONNECT tunnels). */
  httpsProxy: z.url().optional(),
  /** Hosts reached directly: comma-separated names, .domains, IPs or CIDRs. */
  noProxy: z.string().optional(),
  timeoutSeconds: z.number().int().min(1).max(600).optional(),
  healthCheckIntervalSeconds: z.number().int().min(10).max(86_400).optional(),
});

const mirrorSchema = z.strictObject({
  /** Proxy-cache project for pulls without a project prefix (Docker's registry-mirrors). */
  defaultProject: projectName.optional(),
  /** containerd's `ns` (a registry host) → proxy-cache project. */
  namespaces: z.record(z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, "expected a registry host"), projectName).default({}),
  /** Host name the request arrives on → proxy-cache project. */
  hosts: z.record(z.string().regex(/^[a-z0-9.:-]+$/, "expected a host name"), projectName).default({}),
});

const registrySchema = z.strictObject({
  name: projectName,
  type: z.enum(REGISTRY_ENDPOINT_TYPES),
  url: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }),
  description: z.string().max(1024).default(""),
  /** Set the secret with `pulumi config set --secret --path 'airlock:registries[0].credential.accessSecret' …`. */
  credential: z.strictObject({ accessKey: z.string().min(1), accessSecret: z.string().min(1) }).optional(),
  /** Bump to send the credential again after it was changed outside Pulumi. */
  credentialVersion: z.number().int().min(0).default(0),
  insecure: z.boolean().default(false),
  /** PEM CA certificate(s) of a private upstream. */
  caCertificate: z
    .string()
    .includes("-----BEGIN CERTIFICATE-----", { error: "expected PEM certificate(s)" })
    .optional(),
});

const proxyProjectSchema = z.strictObject({
  name: projectName,
  /** The `name` of the entry of airlock:registries this project pulls through. */
  registry: projectName,
  public: z.boolean().default(false),
  /** Bandwidth towards the upstream, kilobits per second; -1 for no limit. */
  speedKbps: z.number().int().min(-1).default(-1),
  /** Concurrent upstream requests; -1 for no limit. */
  maxUpstreamConnections: z.number().int().min(-1).default(-1),
  storageLimit: z.number().int().min(-1).default(-1),
  /** Images kept present in the cache, fetched at `pulumi up`. */
  preheat: z
    .strictObject({
      images: z.array(z.string().min(1)).min(1),
      platforms: z
        .array(z.string().regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, "expected os/architecture"))
        .default([]),
    })
    .optional(),
  members: z.array(memberSchema).default([]),
  robots: z.array(robotSchema).default([]),
});

export const stackConfigSchema = z
  .strictObject({
    /** Where the registry runs: this machine, a Kubernetes cluster, or AWS. */
    target: z.enum(["local", "kubernetes", "aws"]).default("local"),
    local: localTargetSchema.prefault({}),
    /** The Kubernetes target: image, replicas, storage, metadata, TLS, Ingress, zones, monitoring. */
    kubernetes: kubernetesTargetSchema.prefault({}),
    /** The AWS target: image, region, zones, replicas, storage, metadata, TLS, load balancer. */
    aws: awsTargetSchema.prefault({}),
    adminUsername: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,254}$/, "expected a lowercase user name")
      .default("admin"),
    /** Set with `pulumi config set --secret airlock:adminPassword …`; generated when absent. */
    adminPassword: z.string().min(12, "expected at least 12 characters").optional(),
    /** Local users of the registry. */
    users: z.array(userSchema).default([]),
    /** Projects, with their members and robot accounts. */
    projects: z.array(projectSchema).default([]),
    /** Egress towards upstream registries (the corporate proxy of a DMZ). */
    upstream: upstreamSchema.default({}),
    /** Transparent mirror routing to proxy-cache projects. */
    mirror: mirrorSchema.prefault({}),
    /** Upstream registry endpoints. */
    registries: z.array(registrySchema).default([]),
    /** Proxy-cache projects, each pulling through one of `registries`. */
    proxyProjects: z.array(proxyProjectSchema).default([]),
  })
  .superRefine((config, ctx) => {
    if (config.target === "kubernetes") refineKubernetesTarget(config.kubernetes, ctx);
    if (config.target === "aws") refineAwsTarget(config.aws, ctx);
    const registries = new Set(config.registries.map((r) => r.name));
    const proxies = new Set(config.proxyProjects.map((p) => p.name));
    config.proxyProjects.forEach((project, index) => {
      if (!registries.has(project.registry)) {
        ctx.addIssue({
          code: "custom",
          path: ["proxyProjects", index, "registry"],
          message: `no entry of airlock:registries is named ${JSON.stringify(project.registry)}`,
        });
      }
    });
    config.projects.forEach((project, index) => {
      if (proxies.has(project.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["projects", index, "name"],
          message: "also declared as a proxy project",
        });
      }
    });
    const mirrored = [
      ["defaultProject", config.mirror.defaultProject] as const,
      ...Object.entries(config.mirror.namespaces).map(([ns, p]) => [`namespaces.${ns}`, p] as const),
      ...Object.entries(config.mirror.hosts).map(([host, p]) => [`hosts.${host}`, p] as const),
    ];
    for (const [key, project] of mirrored) {
      if (project !== undefined && !proxies.has(project)) {
        ctx.addIssue({
          code: "custom",
          path: ["mirror", ...key.split(/\.(.*)/s).filter(Boolean)],
          message: `${JSON.stringify(project)} is not one of airlock:proxyProjects`,
        });
      }
    }
  });

/** What the Kubernetes target needs beyond each field's own rules. */
function refineKubernetesTarget(k8s: z.infer<typeof kubernetesTargetSchema>, ctx: z.RefinementCtx): void {
  const issue = (path: PropertyKey[], message: string) =>
    ctx.addIssue({ code: "custom", path: ["kubernetes", ...path], message });
  if (k8s.image === undefined)
    issue(["image"], "the Kubernetes target needs the server image (registry-server/Dockerfile)");
  const replicas = replicaProblem(k8s.replicas, k8s.storage.type, k8s.metadata.type);
  if (replicas) issue(["replicas"], replicas.replace(/^replicas: /, ""));
  if (k8s.storage.type === "s3") {
    const { accessKeyId, secretAccessKey, existingSecret } = k8s.storage;
    if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
      issue(["storage", "accessKeyId"], "static credentials need both accessKeyId and secretAccessKey");
    if (existingSecret !== undefined && accessKeyId !== undefined)
      issue(["storage", "existingSecret"], "give existingSecret or the static credentials, not both");
  }
  if (k8s.metadata.type === "postgres") {
    if (new URL(k8s.metadata.url).password !== "")
      issue(["metadata", "url"], "put the password in metadata.password (a secret), not in the URL");
    if ((k8s.metadata.password === undefined) === (k8s.metadata.existingSecret === undefined))
      issue(["metadata", "password"], "give the database password as password (a secret) or existingSecret");
  }
}

export type StackConfig = z.infer<typeof stackConfigSchema>;

export class StackConfigError extends Error {
  override name = "StackConfigError";
}

export interface ParsedStackConfig {
  config: StackConfig;
  /** Advice that does not stop the run (a secret set in clear, say). */
  warnings: string[];
}

/** Keys whose values may hold secrets: never echoed in errors. */
const SECRET_KEYS = new Set(["adminPassword", "users", "registries", "kubernetes"]);

/**
 * Whether an issue's value may be a secret. In the Kubernetes section only the secret fields are,
 * and the database URL (a refused one may carry a password).
 */
function isSecretPath(path: PropertyKey[]): boolean {
  const head = String(path[0]);
  if (head === "aws") return path.includes("url") || path.includes("privateKeyPem");
  if (head !== "kubernetes") return SECRET_KEYS.has(head);
  return (
    path.some((part) => part === "secretAccessKey" || part === "password") ||
    (path[1] === "metadata" && path[2] === "url")
  );
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function keyName(path: PropertyKey[]): string {
  const [head, ...rest] = path;
  const tail = rest.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("");
  return `${CONFIG_NAMESPACE}:${String(head ?? "")}${tail}`;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let current = root;
  for (const part of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

/** Pulumi hands structured values over as JSON text and scalars as plain text. */
function decodeValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * Validates the stack's configuration.
 * @param entries every config entry of the stack, keyed `namespace:name` (Pulumi's allConfig())
 * @param secretKeys the keys among them that were set as secrets, when known: secret values are
 *   never echoed in errors, and secret settings found in clear text are warned about
 */
export function parseStackConfig(entries: Record<string, string>, secretKeys?: ReadonlySet<string>): ParsedStackConfig {
  const raw: Record<string, unknown> = {};
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [key, value] of Object.entries(entries)) {
    if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = decodeValue(value);
  }

  const result = stackConfigSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      if (issue.code === "unrecognized_keys") {
        return issue.keys.map((key) => `  ${keyName([...issue.path, key])}: unknown key`).join("\n");
      }
      const isSecret = isSecretPath(issue.path) || Boolean(secretKeys?.has(keyName(issue.path.slice(0, 1))));
      const got = isSecret ? "[secret]" : describe(valueAt(raw, issue.path));
      return `  ${keyName(issue.path)}: ${issue.message} (got ${got})`;
    });
    throw new StackConfigError(`invalid stack configuration:\n${lines.join("\n")}`);
  }

  const warnings: string[] = [];
  // Registry endpoints without a credential (anonymous pulls) hold no secret, nor does a
  // Kubernetes section without S3 or database password.
  const holdsSecret = (key: string): boolean => {
    if (key === "registries") return result.data.registries.some((r) => r.credential !== undefined);
    if (key === "kubernetes") {
      const { storage, metadata } = result.data.kubernetes;
      return (
        (storage.type === "s3" && storage.secretAccessKey !== undefined) ||
        (metadata.type === "postgres" && metadata.password !== undefined)
      );
    }
    return true;
  };
  for (const key of secretKeys ? SECRET_KEYS : []) {
    const fullKey = `${prefix}${key}`;
    if (entries[fullKey] !== undefined && !secretKeys?.has(fullKey) && holdsSecret(key)) {
      warnings.push(`${fullKey} is stored in clear text: set it with \`pulumi config set --secret ${fullKey}\``);
    }
  }
  return { config: result.data, warnings };
}
