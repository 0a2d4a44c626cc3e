// The Kubernetes target's resource graph under Pulumi's mocks (no engine, no cluster): what the
// Deployment, its volumes and Secrets, the Ingress, the NetworkPolicies and the monitoring
// resources look like for a given declaration, and the replica check refusing before anything
// is declared.

import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { KubernetesRegistry, type KubernetesRegistryArgs } from "../../components/kubernetes/kubernetes-registry";
import { KubernetesSettingsError } from "../../components/kubernetes/registry-settings";
import { declareZones } from "../../components/network/network-zones";
import { type Registered, outputOf, plain, settled } from "./mocked-resources";

let registered: Registered[] = [];

/** The inputs of every resource of a type, as plain values typed as the object they describe. */
function all<T = Record<string, unknown>>(type: string): T[] {
  return registered.filter((r) => r.type === type).map((r) => plain(r.inputs) as T);
}

function one<T = Record<string, unknown>>(type: string): T {
  const found = all<T>(type);
  if (found.length !== 1 || found[0] === undefined) throw new Error(`expected one ${type}, got ${found.length}`);
  return found[0];
}

type Deployment = k8s.types.output.apps.v1.Deployment;
type ConfigMap = k8s.types.output.core.v1.ConfigMap;
type Secret = k8s.types.output.core.v1.Secret;
type Ingress = k8s.types.output.networking.v1.Ingress;
type NetworkPolicy = k8s.types.output.networking.v1.NetworkPolicy;

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const SECRET = "kubernetes:core/v1:Secret";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";

/** The server's configuration file in the ConfigMap. */
function serverConfigFile(): Record<string, unknown> {
  return parse(one<ConfigMap>(CONFIG_MAP).data["config.yaml"] ?? "") as Record<string, unknown>;
}

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = args.inputs as Record<string, unknown>;
        registered.push({ type: args.type, name: args.name, inputs });
        const outputs: Record<string, unknown> = { ...inputs };
        const metadata = inputs["metadata"] as Record<string, unknown> | undefined;
        // Auto-naming, as the Kubernetes provider does it.
        if (args.type.startsWith("kubernetes:") && metadata && metadata["name"] === undefined)
          outputs["metadata"] = { ...metadata, name: `${args.name}-0000` };
        if (args.type.endsWith("CertificateAuthority")) Object.assign(outputs, { certPem: "CA-PEM", keyPem: "CA-KEY" });
        if (args.type.endsWith("TlsCertificate")) Object.assign(outputs, { certPem: "CERT-PEM", keyPem: "CERT-KEY" });
        if (args.type.endsWith("GeneratedPassword")) Object.assign(outputs, { value: "generated-password" });
        if (args.type.endsWith("ServerKeys"))
          Object.assign(outputs, { tokenSigningKeyPem: "EC-KEY", secretBoxKey: "BOX\n" });
        return { id: `${args.name}-id`, state: outputs };
      },
      call: (args) => args.inputs as Record<string, unknown>,
    },
    "airlock",
    "unit",
    false,
  );
});

beforeEach(() => {
  registered = [];
});

const IMAGE = "registry.dmz.internal/platform/airlock-registry:0.1.0";
const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("KubernetesRegistry", () => {
  it("runs one hardened, probed server on a volume, rolled by recreation", async () => {
    const registry = new KubernetesRegistry("r", { image: IMAGE });
    const connection = await outputOf(registry.connection);
    await settled(registered);

    expect(registered.map((r) => r.type).sort()).toEqual([
      "airlock:kubernetes:KubernetesRegistry",
      "kubernetes:apps/v1:Deployment",
      "kubernetes:core/v1:ConfigMap",
      "kubernetes:core/v1:Namespace",
      "kubernetes:core/v1:PersistentVolumeClaim",
      "kubernetes:core/v1:Secret",
      "kubernetes:core/v1:Secret",
      "kubernetes:core/v1:Service",
      "kubernetes:core/v1:ServiceAccount",
      "kubernetes:policy/v1:PodDisruptionBudget",
      "pulumi-nodejs:dynamic/secrets:GeneratedPassword",
      "pulumi-nodejs:dynamic/tls:CertificateAuthority",
      "pulumi-nodejs:dynamic/tls:TlsCertificate",
    ]);
    expect(one("kubernetes:core/v1:Namespace")["metadata"]).toMatchObject({
      name: "airlock",
      labels: { "pod-security.kubernetes.io/enforce": "restricted" },
    });

    const deployment = one<Deployment>(DEPLOYMENT);
    expect(deployment.spec).toMatchObject({ replicas: 1, strategy: { type: "Recreate" } });
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      fsGroupChangePolicy: "OnRootMismatch",
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    const [container] = pod.containers;
    expect(container?.image).toBe(IMAGE);
    expect(container?.args).toEqual([
      "serve",
      "--config",
      "/etc/airlock/config.yaml",
      "--admin-password-file",
      "/etc/airlock/admin/password",
    ]);
    expect(container?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(container?.readinessProbe).toMatchObject({ httpGet: { path: "/api/v2.0/health", scheme: "HTTPS" } });
    expect(container?.livenessProbe).toMatchObject({ httpGet: { path: "/api/v2.0/ping", scheme: "HTTPS" } });
    expect(container?.startupProbe).toMatchObject({ httpGet: { path: "/api/v2.0/ping", port: "https" } });
    expect(container?.resources).toEqual({
      requests: { cpu: "250m", memory: "256Mi" },
      limits: { cpu: "2", memory: "1Gi" },
    });
    expect(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]?.podAffinityTerm).toEqual({
      labelSelector: {
        matchLabels: { "app.kubernetes.io/name": "airlock-registry", "app.kubernetes.io/instance": "r" },
      },
      topologyKey: "kubernetes.io/hostname",
    });
    const volumes = Object.fromEntries(pod.volumes.map((v) => [v.name, v]));
    expect(volumes["data"]).toEqual({ name: "data", persistentVolumeClaim: { claimName: "airlock-data" } });
    expect(volumes["tmp"]).toMatchObject({ emptyDir: { medium: "Memory" } });
    expect(volumes["config"]).toEqual({ name: "config", configMap: { name: "r-config-0000" } });

    expect(one("kubernetes:core/v1:PersistentVolumeClaim")["spec"]).toMatchObject({
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "100Gi" } },
    });
    expect(one("kubernetes:policy/v1:PodDisruptionBudget")["spec"]).toMatchObject({ maxUnavailable: 1 });
    expect(one("kubernetes:core/v1:Service")["spec"]).toMatchObject({
      type: "ClusterIP",
      ports: [{ name: "https", port: 5443, targetPort: "https", protocol: "TCP" }],
    });
    expect(serverConfigFile()).toEqual({
      http: {
        addr: "0.0.0.0:5443",
        tls: { certFile: "/etc/airlock/tls/tls.crt", keyFile: "/etc/airlock/tls/tls.key" },
        shutdownTimeoutSeconds: 30,
      },
      // One worker per CPU of the default limit (2), whatever the node has.
      workers: 2,
      dataDir: "/var/lib/airlock",
      auth: { admin: { username: "admin" } },
      log: { level: "info" },
    });
    const secrets = all<Secret>(SECRET);
    expect(secrets.find((s) => s.type === "kubernetes.io/tls")?.data).toEqual({
      "tls.crt": b64("CERT-PEM"),
      "tls.key": b64("CERT-KEY"),
      "ca.crt": b64("CA-PEM"),
    });
    expect(secrets.find((s) => s.type === "Opaque")?.data).toEqual({ password: b64("generated-password") });
    expect(one("pulumi-nodejs:dynamic/tls:TlsCertificate")).toMatchObject({
      dnsNames: [
        "airlock-registry.airlock.svc",
        "airlock-registry.airlock.svc.cluster.local",
        "airlock-registry.airlock",
        "airlock-registry",
      ],
    });
    expect(connection).toEqual({
      url: "https://airlock-registry.airlock.svc:5443",
      username: "admin",
      password: "generated-password",
      caPem: "CA-PEM",
    });
    expect(await pulumi.isSecret(registry.connection)).toBe(true);
  });

  it("refuses several replicas unless storage is S3 and metadata PostgreSQL, before declaring anything", () => {
    expect(() => new KubernetesRegistry("r", { image: IMAGE, replicas: 2 })).toThrow(KubernetesSettingsError);
    expect(() => new KubernetesRegistry("r", { image: IMAGE, replicas: 2 })).toThrow(
      /replicas: 2 replicas need shared backends, storage "s3" and metadata "postgres" \(got storage "filesystem" and metadata "sqlite"\)/,
    );
    expect(
      () => new KubernetesRegistry("r", { image: IMAGE, replicas: 3, storage: { type: "s3", bucket: "airlock" } }),
    ).toThrow(/got storage "s3" and metadata "sqlite"/);
    expect(registered).toEqual([]);
  });

  it("rolls several replicas over S3 and PostgreSQL, sharing the server's keys", async () => {
    const registry = new KubernetesRegistry("r", {
      image: IMAGE,
      replicas: 3,
      storage: {
        type: "s3",
        bucket: "airlock",
        endpoint: "https://minio.dmz.internal:9000",
        forcePathStyle: true,
        accessKeyId: "AKIA",
        secretAccessKey: pulumi.secret("s3-secret"),
      },
      metadata: {
        type: "postgres",
        url: "postgres://airlock@pg.dmz.internal:5432/airlock?sslmode=verify-full",
        password: pulumi.secret("db-secret"),
      },
      resources: { limits: { cpu: "1500m" } },
    });
    await outputOf(registry.connection);
    await settled(registered);
    expect(all("kubernetes:core/v1:PersistentVolumeClaim")).toEqual([]);
    expect(one("pulumi-nodejs:dynamic/secrets:ServerKeys")).toBeDefined();
    const deployment = one<Deployment>(DEPLOYMENT);
    expect(deployment.spec).toMatchObject({
      replicas: 3,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    });
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(container?.env).toEqual([
      {
        name: "AIRLOCK_S3_ACCESS_KEY_ID",
        valueFrom: { secretKeyRef: { name: "r-s3-0000", key: "access-key-id" } },
      },
      {
        name: "AIRLOCK_S3_SECRET_ACCESS_KEY",
        valueFrom: { secretKeyRef: { name: "r-s3-0000", key: "secret-access-key" } },
      },
    ]);
    expect(container?.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: "server-keys", mountPath: "/var/lib/airlock/auth", readOnly: true },
        { name: "database", mountPath: "/etc/airlock/database/password", subPath: "password", readOnly: true },
      ]),
    );
    expect(pod.volumes).toEqual(expect.arrayContaining([{ name: "data", emptyDir: {} }]));
    const secrets = Object.fromEntries(
      registered.filter((r) => r.type === SECRET).map((r) => [r.name, (plain(r.inputs) as Secret).data]),
    );
    expect(secrets["r-s3"]).toEqual({ "access-key-id": b64("AKIA"), "secret-access-key": b64("s3-secret") });
    expect(secrets["r-database"]).toEqual({ password: b64("db-secret") });
    expect(secrets["r-server-keys"]).toEqual({
      "token-signing-key.pem": b64("EC-KEY"),
      "secret-box.key": b64("BOX\n"),
    });
    const config = serverConfigFile();
    // A CPU and a half: one worker, and the half for the primary and the garbage collector.
    expect(container?.resources?.limits).toEqual({ cpu: "1500m", memory: "1Gi" });
    expect(config["workers"]).toBe(1);
    expect(config["storage"]).toEqual({
      s3: { bucket: "airlock", region: "us-east-1", endpoint: "https://minio.dmz.internal:9000", forcePathStyle: true },
    });
    expect(config["metadata"]).toEqual({
      postgres: {
        url: "postgres://airlock@pg.dmz.internal:5432/airlock?sslmode=verify-full",
        passwordFile: "/etc/airlock/database/password",
      },
    });
  });

  it("publishes through ingress-nginx, enforces the zones and asks the Prometheus operator to watch", async () => {
    const args: KubernetesRegistryArgs = {
      image: IMAGE,
      namespace: "registry",
      ingress: { host: "registry.dmz.example", timeoutSeconds: 1200 },
      upstream: { httpsProxy: "http://proxy.dmz.example:3128" },
      network: {
        zones: declareZones({
          proxy: { egressProxyCidrs: ["10.20.0.10/32"] },
          cluster: { nodeCidrs: ["10.30.0.0/24"] },
          production: { cidrs: ["10.40.0.0/16"] },
        }),
        upstreams: [{ name: "dockerhub", url: "https://hub.docker.com" }],
      },
      monitoring: {
        serviceMonitor: true,
        prometheusRule: true,
        labels: { release: "kube-prometheus-stack" },
        scrapeCredentialsSecret: "prometheus-robot",
      },
    };
    const registry = new KubernetesRegistry("r", args);
    expect((await outputOf(registry.connection)).url).toBe("https://registry.dmz.example");
    await settled(registered);

    const ingress = one<Ingress>(INGRESS);
    expect(ingress.metadata.annotations).toEqual({
      "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS",
      "nginx.ingress.kubernetes.io/ssl-redirect": "true",
      "nginx.ingress.kubernetes.io/proxy-body-size": "0",
      "nginx.ingress.kubernetes.io/proxy-read-timeout": "1200",
      "nginx.ingress.kubernetes.io/proxy-send-timeout": "1200",
      "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
      "nginx.ingress.kubernetes.io/proxy-buffering": "off",
      "nginx.ingress.kubernetes.io/whitelist-source-range": "10.30.0.0/24,10.40.0.0/16",
      "nginx.ingress.kubernetes.io/proxy-ssl-verify": "on",
      "nginx.ingress.kubernetes.io/proxy-ssl-secret": "registry/r-tls-0000",
      "nginx.ingress.kubernetes.io/proxy-ssl-name": "airlock-registry.registry.svc",
      "nginx.ingress.kubernetes.io/proxy-ssl-server-name": "on",
    });
    expect(ingress.spec).toMatchObject({
      ingressClassName: "nginx",
      tls: [{ hosts: ["registry.dmz.example"], secretName: "r-tls-0000" }],
      rules: [{ host: "registry.dmz.example" }],
    });

    const policies = all<NetworkPolicy>("kubernetes:networking.k8s.io/v1:NetworkPolicy");
    expect(policies.map((p) => p.metadata.name).sort()).toEqual([
      "default-deny",
      "egress-dns",
      "egress-proxy-proxy-dmz-example-3128",
      "ingress-cluster-nodes",
      "ingress-controller",
      "ingress-monitoring",
      "ingress-production-nodes",
    ]);
    for (const policy of policies) expect(policy.metadata).toMatchObject({ namespace: "registry" });

    const [monitor] = all("kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
    expect(monitor).toMatchObject({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { namespace: "registry", labels: { release: "kube-prometheus-stack" } },
      spec: {
        namespaceSelector: { matchNames: ["registry"] },
        endpoints: [
          {
            port: "https",
            scheme: "https",
            path: "/metrics",
            tlsConfig: {
              serverName: "airlock-registry.registry.svc",
              ca: { secret: { name: "r-tls-0000", key: "ca.crt" } },
            },
            // The project metrics the quota alert reads are for a robot that lists projects.
            basicAuth: {
              username: { name: "prometheus-robot", key: "username" },
              password: { name: "prometheus-robot", key: "password" },
            },
          },
        ],
      },
    });
    const [rule] = all("kubernetes:monitoring.coreos.com/v1:PrometheusRule");
    const alerts = (rule as { spec: { groups: Array<{ rules: Array<{ alert: string }> }> } }).spec.groups[0]?.rules;
    expect(alerts?.map((a) => a.alert)).toEqual([
      "AirlockDiskSpaceHigh",
      "AirlockRegistryDown",
      "AirlockApiErrors",
      "AirlockUpstreamFailures",
      "AirlockProjectQuotaHigh",
      "AirlockServingStaleCopies",
      "AirlockVulnerabilityDatabaseOutdated",
      "AirlockScanFailuresRising",
      // The DMZ guide's production project, by default.
      "AirlockCriticalVulnerabilities",
    ]);
    const critical = alerts?.find((a) => a.alert === "AirlockCriticalVulnerabilities") as { expr?: string } | undefined;
    expect(critical?.expr).toContain('project_name=~"production"');
  });

  it("uses an existing TLS Secret as it is: no CA generated, the backend not verified without a CA", async () => {
    const registry = new KubernetesRegistry("r", {
      image: IMAGE,
      tls: { existingSecret: "corporate-tls" },
      ingress: { host: "registry.dmz.example" },
    });
    expect((await outputOf(registry.connection)).caPem).toBeUndefined();
    await settled(registered);
    expect(registered.some((r) => r.type.includes("tls:"))).toBe(false);
    const ingress = one<Ingress>(INGRESS);
    expect(ingress.spec.tls).toEqual([{ hosts: ["registry.dmz.example"], secretName: "corporate-tls" }]);
    expect(Object.keys(ingress.metadata.annotations)).not.toContain("nginx.ingress.kubernetes.io/proxy-ssl-verify");
  });
});
