// The registry on a Kubernetes cluster: Namespace, ServiceAccount, Secrets, the server's
// ConfigMap, a Deployment of the image built from registry-server/Dockerfile, a volume for
// filesystem storage, a PodDisruptionBudget, a Service, an Ingress for ingress-nginx, the
// NetworkPolicies of the declared zones (FirewallRules) and, when asked, the Prometheus
// operator's ServiceMonitor and PrometheusRule. The shape is checked before anything is declared
// (registry-settings.ts): more than one replica needs S3 storage and PostgreSQL metadata.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { FirewallRules } from "../network/firewall-rules";
import { ingressSourceRanges } from "../network/derive-rules";
import type { RegistryConnection } from "../registry/api-client";
import { ingressAnnotations, ingressSpec } from "./ingress";
import {
  firewallInputs,
  validateKubernetesRegistryArgs,
  type KubernetesRegistryArgs,
} from "./kubernetes-registry-args";
import { declareMonitoring } from "./monitoring";
import { containerResources, registryPodTemplate } from "./pod-template";
import { declareRegistrySecrets } from "./registry-secrets";
import { CONFIG_KEY, S3_CA_KEY, serverConfigYaml } from "./server-config";

export type { KubernetesRegistryArgs } from "./kubernetes-registry-args";

export class KubernetesRegistry extends pulumi.ComponentResource {
  /** Base URL clients use: the Ingress host, or the Service's in-cluster name. */
  public readonly url: pulumi.Output<string>;
  /** The CA clients trust (PEM), when known. */
  public readonly caCertPem: pulumi.Output<string | undefined>;
  public readonly adminUsername: pulumi.Output<string>;
  public readonly adminPassword: pulumi.Output<string>;
  public readonly namespace: pulumi.Output<string>;
  /** What the registry resources need to manage this registry, once it is rolled out; a secret. */
  public readonly connection: pulumi.Output<RegistryConnection>;
  /** The NetworkPolicies' rules, when zones were given. */
  public readonly firewall?: FirewallRules;

  constructor(name: string, args: KubernetesRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    // Everything is checked before anything is declared: a refused shape creates nothing.
    validateKubernetesRegistryArgs(args);
    super("airlock:kubernetes:KubernetesRegistry", name, {}, opts);
    const namespaceName = args.namespace ?? "airlock";
    const replicas = args.replicas ?? 1;
    const port = args.port ?? 5443;
    const storage = args.storage ?? { type: "filesystem" };
    const metadataSettings = args.metadata ?? { type: "sqlite" };
    const monitoring = args.monitoring ?? {};
    const imagePullSecrets = args.imagePullSecrets ?? [];
    const labels = { "app.kubernetes.io/name": "airlock-registry", "app.kubernetes.io/instance": name };
    const metaLabels = { ...labels, "app.kubernetes.io/managed-by": "airlock" };
    const child = { parent: this };

    const namespace =
      args.createNamespace === false
        ? pulumi.output(namespaceName)
        : new k8s.core.v1.Namespace(
            `${name}-namespace`,
            {
              metadata: {
                name: namespaceName,
                labels: { ...metaLabels, "pod-security.kubernetes.io/enforce": "restricted" },
              },
            },
            child,
          ).metadata.name;
    const serviceName = "airlock-registry";
    const serviceHost = `${serviceName}.${namespaceName}.svc`;
    const dnsNames = [
      ...(args.ingress ? [args.ingress.host] : []),
      serviceHost,
      `${serviceHost}.cluster.local`,
      `${serviceName}.${namespaceName}`,
      serviceName,
    ];
    const adminUsername = args.adminUsername ?? "admin";
    const secrets = declareRegistrySecrets(
      name,
      {
        namespace,
        labels: metaLabels,
        tls: args.tls ?? {},
        dnsNames,
        ...(args.adminPassword !== undefined && { adminPassword: args.adminPassword }),
        storage,
        metadata: metadataSettings,
      },
      this,
    );

    const shutdownTimeoutSeconds = 30;
    // The server's workers follow the container's CPU limit, not the node's CPU count.
    const cpuLimit = containerResources(args.resources ?? {}).limits.cpu;
    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { namespace, labels: metaLabels },
        data: {
          [CONFIG_KEY]: serverConfigYaml({
            port,
            adminUsername,
            logLevel: args.logLevel ?? "info",
            shutdownTimeoutSeconds,
            storage,
            metadata: metadataSettings,
            upstream: args.upstream ?? {},
            mirror: args.mirror ?? {},
            ...(args.ingress?.trustedProxies && { trustedProxies: args.ingress.trustedProxies }),
            ...(cpuLimit !== undefined && { cpuLimit }),
          }),
          ...(storage.type === "s3" && storage.caCertificate !== undefined && { [S3_CA_KEY]: storage.caCertificate }),
        },
      },
      child,
    );
    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-service-account`,
      { metadata: { name: serviceName, namespace, labels: metaLabels }, automountServiceAccountToken: false },
      child,
    );
    const dataClaimName = "airlock-data";
    const claim =
      storage.type === "filesystem"
        ? new k8s.core.v1.PersistentVolumeClaim(
            `${name}-data`,
            {
              metadata: { name: dataClaimName, namespace, labels: metaLabels },
              spec: {
                accessModes: ["ReadWriteOnce"],
                resources: { requests: { storage: storage.size ?? "100Gi" } },
                ...(storage.storageClass !== undefined && { storageClassName: storage.storageClass }),
              },
            },
            // The registry's content stays when the stack is destroyed, as the local target's does.
            { ...child, retainOnDelete: true },
          )
        : undefined;

    const deployment = new k8s.apps.v1.Deployment(
      `${name}-server`,
      {
        metadata: { name: serviceName, namespace, labels: metaLabels },
        spec: {
          replicas,
          selector: { matchLabels: labels },
          // Shared backends roll one new pod in before an old one goes. A volume and a SQLite
          // file belong to one server: the old pod stops before the new one starts.
          strategy:
            storage.type === "filesystem"
              ? { type: "Recreate" }
              : { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          template: registryPodTemplate({
            labels,
            image: args.image,
            imagePullPolicy: args.imagePullPolicy ?? "IfNotPresent",
            imagePullSecrets,
            serviceAccountName: serviceAccount.metadata.name,
            port,
            resources: args.resources ?? {},
            shutdownTimeoutSeconds,
            configMapName: config.metadata.name,
            tlsSecretName: secrets.tlsSecretName,
            adminSecretName: secrets.adminSecretName,
            ...(claim && { dataClaimName: claim.metadata.name }),
            ...(secrets.serverKeysSecretName && { serverKeysSecretName: secrets.serverKeysSecretName }),
            ...(secrets.s3CredentialsSecretName && { s3CredentialsSecretName: secrets.s3CredentialsSecretName }),
            s3Ca: storage.type === "s3" && storage.caCertificate !== undefined,
            ...(secrets.databaseSecretName && { databaseSecretName: secrets.databaseSecretName }),
          }),
        },
      },
      child,
    );
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-disruption-budget`,
      {
        metadata: { name: serviceName, namespace, labels: metaLabels },
        // One at a time: a drain proceeds (a single replica is not held hostage), several keep n-1.
        spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
      },
      child,
    );
    const service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { name: serviceName, namespace, labels: metaLabels },
        spec: {
          type: "ClusterIP",
          selector: labels,
          ports: [{ name: "https", port, targetPort: "https", protocol: "TCP" }],
        },
      },
      child,
    );

    const zones = args.network?.zones;
    let ingress: k8s.networking.v1.Ingress | undefined;
    if (args.ingress) {
      const settings = args.ingress;
      const annotations = pulumi.all([namespace, secrets.tlsSecretName]).apply(([ns, tlsSecret]) =>
        ingressAnnotations({
          timeoutSeconds: settings.timeoutSeconds ?? 900,
          sourceRanges: settings.sourceRanges ?? (zones ? ingressSourceRanges(zones) : []),
          ...(secrets.tlsSecretHasCa && { verifyBackend: { caSecret: `${ns}/${tlsSecret}`, serverName: serviceHost } }),
          extra: settings.annotations ?? {},
        }),
      );
      ingress = new k8s.networking.v1.Ingress(
        `${name}-ingress`,
        {
          metadata: { name: serviceName, namespace, labels: metaLabels, annotations },
          spec: ingressSpec({
            host: settings.host,
            className: settings.className ?? "nginx",
            tlsSecretName: secrets.tlsSecretName,
            serviceName: service.metadata.name,
            servicePort: port,
          }),
        },
        child,
      );
    }

    const monitored = Boolean(monitoring.serviceMonitor);
    const firewall = firewallInputs(args);
    if (firewall) {
      this.firewall = new FirewallRules(
        `${name}-firewall`,
        { ...firewall, kubernetes: { namespace, podLabels: labels } },
        child,
      );
    }
    declareMonitoring(
      name,
      {
        namespace,
        labels: monitoring.labels ?? {},
        serviceLabels: metaLabels,
        serviceMonitor: monitored,
        prometheusRule: Boolean(monitoring.prometheusRule),
        interval: monitoring.interval ?? "30s",
        tls: { ...(secrets.tlsSecretHasCa && { caSecretName: secrets.tlsSecretName }), serverName: serviceHost },
        ...(monitoring.scrapeCredentialsSecret !== undefined && {
          credentialsSecret: monitoring.scrapeCredentialsSecret,
        }),
        alerts: {
          namespace: namespaceName,
          service: serviceName,
          ...(claim && { dataClaim: dataClaimName }),
          diskUsageRatio: monitoring.diskUsageRatio ?? 0.85,
          apiErrorsPerSecond: monitoring.apiErrorsPerSecond ?? 0.1,
          upstreamErrorsPerSecond: monitoring.upstreamErrorsPerSecond ?? 0.05,
          quotaUsageRatio: monitoring.quotaUsageRatio ?? 0.9,
          databaseMaxAgeDays: monitoring.databaseMaxAgeDays ?? 7,
          scanFailuresPerHour: monitoring.scanFailuresPerHour ?? 0,
          criticalVulnerabilityProjects: monitoring.criticalVulnerabilityProjects ?? ["production"],
        },
      },
      this,
    );

    this.namespace = namespace;
    this.url = pulumi.output(args.ingress ? `https://${args.ingress.host}` : `https://${serviceHost}:${port}`);
    this.caCertPem = secrets.caCertPem ?? pulumi.output(undefined);
    this.adminUsername = pulumi.output(adminUsername);
    this.adminPassword = pulumi.secret(secrets.adminPassword);
    // Waits for the rollout (and the Ingress) that pulumi-kubernetes awaits before anything calls the API.
    const apiUrl = args.apiUrl ?? (args.ingress ? `https://${args.ingress.host}` : `https://${serviceHost}:${port}`);
    this.connection = pulumi.secret(
      pulumi
        .all([this.adminPassword, this.caCertPem, deployment.metadata.name, ingress?.metadata.name])
        .apply(([password, caPem]) => ({
          url: apiUrl,
          username: adminUsername,
          password,
          ...(caPem !== undefined && { caPem }),
        })),
    );
    this.registerOutputs({
      url: this.url,
      caCertPem: this.caCertPem,
      adminUsername: this.adminUsername,
      adminPassword: this.adminPassword,
      namespace: this.namespace,
      connection: this.connection,
    });
  }
}
