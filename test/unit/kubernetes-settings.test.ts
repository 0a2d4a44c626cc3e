// The Kubernetes target's pure functions: the replica and shape checks, the server's configuration
// file, the Ingress annotations and the alert rules.

import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ingressAnnotations } from "../../components/kubernetes/ingress";
import { alertRules } from "../../components/kubernetes/monitoring";
import {
  KubernetesSettingsError,
  replicaProblem,
  validateKubernetesSettings,
  type ShapeSettings,
} from "../../components/kubernetes/registry-settings";
import { serverConfig } from "../../components/kubernetes/server-config";

const ROOT = path.resolve(__dirname, "..", "..");

const SHAPE: ShapeSettings = {
  namespace: "airlock",
  replicas: 1,
  port: 5443,
  storage: { type: "filesystem" },
  metadata: { type: "sqlite" },
  tls: {},
  resources: {},
  monitoring: {},
  imagePullSecrets: [],
};

function problemsOf(settings: Partial<ShapeSettings>): string {
  try {
    validateKubernetesSettings({ ...SHAPE, ...settings });
  } catch (err) {
    expect(err).toBeInstanceOf(KubernetesSettingsError);
    return (err as Error).message;
  }
  throw new Error("expected the settings to be refused");
}

describe("the replica check", () => {
  it("allows one replica on anything and several only on S3 with PostgreSQL", () => {
    for (const storage of ["filesystem", "s3"] as const) {
      for (const metadata of ["sqlite", "postgres"] as const) {
        expect(replicaProblem(1, storage, metadata)).toBeUndefined();
        const several = replicaProblem(3, storage, metadata);
        if (storage === "s3" && metadata === "postgres") expect(several).toBeUndefined();
        else
          expect(several).toMatch(/^replicas: 3 replicas need shared backends, storage "s3" and metadata "postgres"/);
      }
    }
    expect(replicaProblem(0, "s3", "postgres")).toMatch(/expected a whole number from 1/);
  });
});

describe("the shape check", () => {
  it("names every problem at once", () => {
    const message = problemsOf({
      namespace: "Airlock",
      replicas: 2,
      port: 443,
      storage: { type: "filesystem", size: "lots" },
      ingress: { host: "not a host" },
      resources: { limits: { memory: "1 GB" } },
      monitoring: {
        diskUsageRatio: 1.5,
        quotaUsageRatio: 0,
        databaseMaxAgeDays: 0,
        criticalVulnerabilityProjects: ["Not A Project"],
      },
    });
    for (const expected of [
      'namespace: "Airlock" is not a namespace name',
      "replicas: 2 replicas need shared backends",
      "port: expected a port from 1024 to 65535",
      'storage.size: "lots" is not a quantity',
      'ingress.host: "not a host" is not a DNS name',
      'resources.limits.memory: "1 GB" is not a quantity',
      "monitoring.diskUsageRatio: expected a number between 0 and 1",
      "monitoring.quotaUsageRatio: expected a number above 0, at most 1",
      "monitoring.databaseMaxAgeDays: expected a number above 0",
      'monitoring.criticalVulnerabilityProjects: "Not A Project" is not a project name',
    ]) {
      expect(message).toContain(expected);
    }
  });

  it("checks the S3 credentials and the PostgreSQL URL and password", () => {
    expect(problemsOf({ storage: { type: "s3", bucket: "airlock", accessKeyId: "AKIA" } })).toContain(
      "static credentials need both accessKeyId and secretAccessKey",
    );
    expect(
      problemsOf({
        storage: { type: "s3", bucket: "airlock", existingSecret: "s3", accessKeyId: "a", secretAccessKey: "b" },
      }),
    ).toContain("give existingSecret or accessKeyId and secretAccessKey, not both");
    const postgres = problemsOf({ metadata: { type: "postgres", url: "postgres://airlock:pw@db:5432/airlock" } });
    expect(postgres).toContain("metadata.url: put the password in metadata.password");
    expect(postgres).toContain("give the database password as password or existingSecret");
    expect(() =>
      validateKubernetesSettings({
        ...SHAPE,
        replicas: 3,
        storage: { type: "s3", bucket: "airlock" },
        metadata: { type: "postgres", url: "postgresql://airlock@db/airlock", existingSecret: "db" },
      }),
    ).not.toThrow();
  });
});

describe("the server's configuration file", () => {
  const base = {
    port: 5443,
    adminUsername: "admin",
    logLevel: "info",
    shutdownTimeoutSeconds: 30,
    upstream: {},
    mirror: {},
  };

  it("holds only the sections that apply, and no secret, in a form the server accepts", async () => {
    expect(serverConfig({ ...base, storage: { type: "filesystem" }, metadata: { type: "sqlite" } })).toEqual({
      http: {
        addr: "0.0.0.0:5443",
        tls: { certFile: "/etc/airlock/tls/tls.crt", keyFile: "/etc/airlock/tls/tls.key" },
        shutdownTimeoutSeconds: 30,
      },
      dataDir: "/var/lib/airlock",
      auth: { admin: { username: "admin" } },
      log: { level: "info" },
    });
    const shared = serverConfig({
      ...base,
      upstream: { httpsProxy: "http://proxy:3128" },
      storage: {
        type: "s3",
        bucket: "airlock",
        region: "eu-west-3",
        prefix: "dmz",
        caCertificate: "-----BEGIN CERTIFICATE-----",
        accessKeyId: "AKIA",
        secretAccessKey: "never-in-the-file",
      },
      metadata: {
        type: "postgres",
        url: "postgres://airlock@db/airlock",
        password: "never-in-the-file",
        maxConnections: 20,
      },
    });
    expect(shared["storage"]).toEqual({
      s3: {
        bucket: "airlock",
        region: "eu-west-3",
        prefix: "dmz",
        forcePathStyle: false,
        caFile: "/etc/airlock/s3-ca.crt",
      },
    });
    expect(shared["metadata"]).toEqual({
      postgres: {
        url: "postgres://airlock@db/airlock",
        passwordFile: "/etc/airlock/database/password",
        maxConnections: 20,
      },
    });
    expect(shared["upstream"]).toEqual({ httpsProxy: "http://proxy:3128" });
    expect(JSON.stringify(shared)).not.toContain("never-in-the-file");
    expect(JSON.stringify(shared)).not.toContain("AKIA");

    // The server's own parser accepts both files (its storage and metadata sections included).
    const server = (await import(path.join(ROOT, "registry-server", "src", "config.ts"))) as {
      parseFileConfig(raw: unknown, source: string): unknown;
    };
    expect(() => server.parseFileConfig(shared, "the S3 and PostgreSQL configuration")).not.toThrow();
    const single = serverConfig({ ...base, storage: { type: "filesystem" }, metadata: { type: "sqlite" } });
    expect(() => server.parseFileConfig(single, "the single server's configuration")).not.toThrow();
  });
});

describe("the Ingress annotations", () => {
  it("lift nginx's body limit, stream, wait long, and admit the declared sources", () => {
    const annotations = ingressAnnotations({ timeoutSeconds: 900, sourceRanges: ["10.0.0.0/8"], extra: {} });
    expect(annotations).toEqual({
      "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS",
      "nginx.ingress.kubernetes.io/ssl-redirect": "true",
      "nginx.ingress.kubernetes.io/proxy-body-size": "0",
      "nginx.ingress.kubernetes.io/proxy-read-timeout": "900",
      "nginx.ingress.kubernetes.io/proxy-send-timeout": "900",
      "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
      "nginx.ingress.kubernetes.io/proxy-buffering": "off",
      "nginx.ingress.kubernetes.io/whitelist-source-range": "10.0.0.0/8",
    });
    const overridden = ingressAnnotations({
      timeoutSeconds: 60,
      sourceRanges: [],
      extra: { "nginx.ingress.kubernetes.io/proxy-body-size": "10g" },
    });
    expect(overridden["nginx.ingress.kubernetes.io/proxy-body-size"]).toBe("10g");
    expect(overridden).not.toHaveProperty("nginx.ingress.kubernetes.io/whitelist-source-range");
  });
});

describe("the alert rules", () => {
  it("watch the volume, 5xx answers, upstream failures, stale copies and quotas of this registry only", () => {
    const rules = alertRules({
      namespace: "airlock",
      service: "airlock-registry",
      dataClaim: "airlock-data",
      diskUsageRatio: 0.85,
      apiErrorsPerSecond: 0.1,
      upstreamErrorsPerSecond: 0.05,
      quotaUsageRatio: 0.9,
      databaseMaxAgeDays: 7,
      scanFailuresPerHour: 0,
      criticalVulnerabilityProjects: ["production", "prod.eu"],
    });
    const byName = Object.fromEntries(rules.map((rule) => [rule.alert, rule]));
    expect(byName["AirlockDiskSpaceHigh"]?.expr).toBe(
      'kubelet_volume_stats_used_bytes{namespace="airlock", persistentvolumeclaim="airlock-data"} / ' +
        'kubelet_volume_stats_capacity_bytes{namespace="airlock", persistentvolumeclaim="airlock-data"} > 0.85',
    );
    expect(byName["AirlockApiErrors"]?.expr).toBe(
      'sum by (namespace, job) (rate(airlock_http_requests_total{namespace="airlock", job="airlock-registry", ' +
        'status=~"5.."}[5m])) > 0.1',
    );
    expect(byName["AirlockUpstreamFailures"]?.expr).toContain("rate(airlock_proxy_upstream_errors_total{");
    expect(byName["AirlockServingStaleCopies"]?.expr).toContain("airlock_proxy_stale_served_total");
    expect(byName["AirlockApiErrors"]?.labels.severity).toBe("critical");
    // Harbor's names; the same figures from every replica: max, never sum; no quota (-1) left out.
    expect(byName["AirlockProjectQuotaHigh"]?.expr).toBe(
      'max by (namespace, project_name) (harbor_project_quota_usage_byte{namespace="airlock", job="airlock-registry"}) / ' +
        'max by (namespace, project_name) (harbor_project_quota_byte{namespace="airlock", job="airlock-registry"} > 0) > 0.9',
    );
    expect(byName["AirlockProjectQuotaHigh"]?.for).toBe("15m");
    expect(byName["AirlockProjectQuotaHigh"]?.labels.severity).toBe("warning");
    expect(
      alertRules({
        namespace: "airlock",
        service: "airlock-registry",
        diskUsageRatio: 0.85,
        apiErrorsPerSecond: 0.1,
        upstreamErrorsPerSecond: 0.05,
        quotaUsageRatio: 0.9,
        databaseMaxAgeDays: 7,
        scanFailuresPerHour: 0,
        criticalVulnerabilityProjects: [],
      }).map((rule) => rule.alert),
    ).not.toContain("AirlockDiskSpaceHigh");
  });

  it("watch the scanner's database, scan failures and Critical vulnerabilities of the production projects", () => {
    const rules = alertRules({
      namespace: "airlock",
      service: "airlock-registry",
      diskUsageRatio: 0.85,
      apiErrorsPerSecond: 0.1,
      upstreamErrorsPerSecond: 0.05,
      quotaUsageRatio: 0.9,
      databaseMaxAgeDays: 7,
      scanFailuresPerHour: 2,
      criticalVulnerabilityProjects: ["production", "prod.eu"],
    });
    const byName = Object.fromEntries(rules.map((rule) => [rule.alert, rule]));
    const scope = 'namespace="airlock", job="airlock-registry"';
    expect(byName["AirlockVulnerabilityDatabaseOutdated"]?.expr).toBe(
      `max by (namespace, scanner) (airlock_vulnerability_database_age_seconds{${scope}}) > 604800`,
    );
    expect(byName["AirlockScanFailuresRising"]?.expr).toBe(
      `max by (namespace) (airlock_scan_reports{${scope}, status="Error"}) - ` +
        `max by (namespace) (airlock_scan_reports{${scope}, status="Error"} offset 1h) > 2`,
    );
    // The dot of a project name escaped for RE2 inside a PromQL string.
    expect(byName["AirlockCriticalVulnerabilities"]?.expr).toBe(
      `max by (namespace, project_name) (airlock_project_vulnerabilities{${scope}, severity="Critical", ` +
        'project_name=~"production|prod\\\\.eu"}) > 0',
    );
    expect(byName["AirlockCriticalVulnerabilities"]?.labels.severity).toBe("critical");
    expect(byName["AirlockVulnerabilityDatabaseOutdated"]?.labels.severity).toBe("warning");
    expect(
      alertRules({
        namespace: "airlock",
        service: "airlock-registry",
        diskUsageRatio: 0.85,
        apiErrorsPerSecond: 0.1,
        upstreamErrorsPerSecond: 0.05,
        quotaUsageRatio: 0.9,
        databaseMaxAgeDays: 7,
        scanFailuresPerHour: 0,
        criticalVulnerabilityProjects: [],
      }).map((rule) => rule.alert),
    ).not.toContain("AirlockCriticalVulnerabilities");
  });
});
