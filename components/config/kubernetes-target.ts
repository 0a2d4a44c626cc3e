// `airlock:kubernetes`: the Kubernetes target (image, replicas, storage, metadata, TLS, Ingress,
// zones, monitoring), and what it needs beyond each field's own rules.

import { z } from "zod";
import { replicaProblem } from "../kubernetes/registry-settings";
import { LOG_LEVELS, cidr, dnsName, namespaceName, pem, projectName, quantity, resourceName } from "./schema-parts";

export const storageSchema = z.discriminatedUnion("type", [
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

export const metadataSchema = z.discriminatedUnion("type", [
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

export const zonesSchema = z.strictObject({
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

export const kubernetesTargetSchema = z.strictObject({
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
      /** The controller pods' CIDRs, whose X-Forwarded-For the server believes (login throttling, logs). */
      trustedProxies: z
        .array(cidr.refine((value) => !value.endsWith("/0"), "a /0 range trusts every client"))
        .optional(),
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
      /** A Secret (`username`, `password`) of a system robot that lists projects: the scrape gets project metrics. */
      scrapeCredentialsSecret: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "expected a Secret's name")
        .optional(),
      diskUsageRatio: z.number().gt(0).lt(1).default(0.85),
      apiErrorsPerSecond: z.number().positive().default(0.1),
      upstreamErrorsPerSecond: z.number().positive().default(0.05),
      quotaUsageRatio: z.number().gt(0).lte(1).default(0.9),
      /** Alert when a scanner's vulnerability database is older than this many days. */
      databaseMaxAgeDays: z.number().positive().default(7),
      /** Alert when more scan reports ended in Error than an hour before, by more than this. */
      scanFailuresPerHour: z.number().min(0).default(0),
      /** Projects whose Critical vulnerabilities are alerted on (they need scrapeCredentialsSecret). */
      criticalVulnerabilityProjects: z.array(projectName).default(["production"]),
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

/** What the Kubernetes target needs beyond each field's own rules. */
export function refineKubernetesTarget(k8s: z.infer<typeof kubernetesTargetSchema>, ctx: z.RefinementCtx): void {
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
