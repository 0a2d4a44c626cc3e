// Monitoring by the Prometheus operator: a ServiceMonitor scraping the server's /metrics over
// HTTPS, and a PrometheusRule with the DMZ guide's alerts written for this registry's metrics
// (README "What works today" and "The proxy cache"): the data volume filling up, 5xx answers,
// upstream failures and stale copies served, a project near its quota (Harbor's metric names),
// the registry not being scraped at all, and scanning (registry-server/src/api/scan-metrics.ts):
// a vulnerability database older than allowed, scan failures rising, and Critical
// vulnerabilities in the production projects.
// Both are custom resources of the operator's CRDs (monitoring.coreos.com/v1).

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface AlertSettings {
  namespace: string;
  /** The Service's name: the scrape job's name. */
  service: string;
  /** The data volume's claim, when storage is the filesystem (the disk alert needs it). */
  dataClaim?: string;
  diskUsageRatio: number;
  apiErrorsPerSecond: number;
  upstreamErrorsPerSecond: number;
  /** Share of a project's storage quota (0 to 1) above which it is reported. */
  quotaUsageRatio: number;
  /** Age in days above which a scanner's vulnerability database is reported. */
  databaseMaxAgeDays: number;
  /** Scan reports newly in Error within an hour above which it is reported. */
  scanFailuresPerHour: number;
  /** Projects whose Critical vulnerabilities are reported (none: no rule). */
  criticalVulnerabilityProjects: readonly string[];
}

/**
 * A regular expression matching exactly these project names (PromQL anchors it), written inside a
 * PromQL string: a project name's only special character, the dot, escaped twice.
 */
export function projectsMatcher(projects: readonly string[]): string {
  return projects.map((p) => p.replaceAll(".", "\\\\.")).join("|");
}

/** One Prometheus alerting rule, as a PrometheusRule carries it. */
export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: "critical" | "warning" | "info" };
  annotations: { summary: string; description: string };
}

/** The alert rules, one group. Label matchers pin them to this registry's namespace and job. */
export function alertRules(settings: AlertSettings): AlertRule[] {
  const scope = `namespace="${settings.namespace}", job="${settings.service}"`;
  const rules: AlertRule[] = [
    {
      alert: "AirlockRegistryDown",
      expr: `up{${scope}} == 0 or absent(up{${scope}})`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: "The Airlock registry is not being scraped",
        description: `No instance of ${settings.namespace}/${settings.service} answered /metrics for 5 minutes.`,
      },
    },
    {
      alert: "AirlockApiErrors",
      expr: `sum by (namespace, job) (rate(airlock_http_requests_total{${scope}, status=~"5.."}[5m])) > ${settings.apiErrorsPerSecond}`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: "The Airlock registry answers with server errors",
        description: "{{ $value | humanize }} 5xx answers per second over the last 5 minutes.",
      },
    },
    {
      alert: "AirlockUpstreamFailures",
      expr: `sum by (namespace, upstream, reason) (rate(airlock_proxy_upstream_errors_total{${scope}}[10m])) > ${settings.upstreamErrorsPerSecond}`,
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Upstream registry {{ $labels.upstream }} fails ({{ $labels.reason }})",
        description:
          "{{ $value | humanize }} failed requests per second towards {{ $labels.upstream }}: check the egress " +
          "proxy, the firewall path and the endpoint's credentials (POST /api/v2.0/registries/ping).",
      },
    },
    {
      // Every replica (and worker) reports the same figures, read from the shared database: max,
      // never sum; projects without a quota report -1 and are left out.
      alert: "AirlockProjectQuotaHigh",
      expr:
        `max by (namespace, project_name) (harbor_project_quota_usage_byte{${scope}}) / ` +
        `max by (namespace, project_name) (harbor_project_quota_byte{${scope}} > 0) > ${settings.quotaUsageRatio}`,
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Project {{ $labels.project_name }} has used {{ $value | humanizePercentage }} of its quota",
        description:
          "Pushes into it are refused once the quota is reached: raise it (PUT /api/v2.0/quotas/{id}, or the " +
          "project's storageLimit in the stack) or delete repositories it no longer needs.",
      },
    },
    {
      alert: "AirlockServingStaleCopies",
      expr: `sum by (namespace, upstream) (rate(airlock_proxy_stale_served_total{${scope}}[10m])) > 0`,
      for: "15m",
      labels: { severity: "info" },
      annotations: {
        summary: "Cached copies served because {{ $labels.upstream }} cannot be reached",
        description: "Pulls are answered from the cache while the upstream fails; new images cannot be fetched.",
      },
    },
    {
      // The built-in scanner's age as each worker loaded it, an adapter's from its metadata: max.
      alert: "AirlockVulnerabilityDatabaseOutdated",
      expr:
        `max by (namespace, scanner) (airlock_vulnerability_database_age_seconds{${scope}}) ` +
        `> ${Math.round(settings.databaseMaxAgeDays * 86_400)}`,
      for: "30m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Scanner {{ $labels.scanner }}'s vulnerability database is {{ $value | humanizeDuration }} old",
        description:
          `Older than ${settings.databaseMaxAgeDays} days: scans miss recent advisories and the pull policy may ` +
          "refuse to vouch for them. Bring a newer database into the registry (its proxy-cache project, or an " +
          "air-gap bundle imported through POST /api/v2.0/import).",
      },
    },
    {
      // Reports come from the shared database: every replica reports the same count, max.
      alert: "AirlockScanFailuresRising",
      expr:
        `max by (namespace) (airlock_scan_reports{${scope}, status="Error"}) - ` +
        `max by (namespace) (airlock_scan_reports{${scope}, status="Error"} offset 1h) > ${settings.scanFailuresPerHour}`,
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: "{{ $value }} more scans failed than an hour ago",
        description:
          "Scan reports ending in Error are rising: read a failed report's log " +
          "(GET …/artifacts/{ref}/scan/{report_id}/log) and check the scanner (GET /api/v2.0/scanners/{id}/metadata).",
      },
    },
  ];
  if (settings.criticalVulnerabilityProjects.length > 0) {
    const projects = projectsMatcher(settings.criticalVulnerabilityProjects);
    rules.push({
      alert: "AirlockCriticalVulnerabilities",
      expr:
        `max by (namespace, project_name) (airlock_project_vulnerabilities{${scope}, severity="Critical", ` +
        `project_name=~"${projects}"}) > 0`,
      for: "15m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Project {{ $labels.project_name }} holds {{ $value }} Critical vulnerabilities",
        description:
          "The latest scans of its artifacts found Critical vulnerabilities: fix and push the images again, or " +
          "allow the CVEs in the project's allowlist once they are assessed.",
      },
    });
  }
  if (settings.dataClaim !== undefined) {
    const claim = `namespace="${settings.namespace}", persistentvolumeclaim="${settings.dataClaim}"`;
    rules.unshift({
      alert: "AirlockDiskSpaceHigh",
      expr:
        `kubelet_volume_stats_used_bytes{${claim}} / kubelet_volume_stats_capacity_bytes{${claim}} ` +
        `> ${settings.diskUsageRatio}`,
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: "The Airlock registry's volume is almost full",
        description:
          "{{ $value | humanizePercentage }} of the data volume is used: raise project quotas' attention, " +
          "delete cached repositories or grow the claim.",
      },
    });
  }
  return rules;
}

export interface RegistryMonitoringArgs {
  namespace: pulumi.Input<string>;
  /** Labels the operator selects monitors and rules by. */
  labels: Record<string, string>;
  /** The registry Service's labels, which the ServiceMonitor selects. */
  serviceLabels: Record<string, string>;
  serviceMonitor: boolean;
  prometheusRule: boolean;
  interval: string;
  /** TLS of the scrape: the Secret holding `ca.crt` when known, and the certificate's name. */
  tls: { caSecretName?: pulumi.Input<string>; serverName: string };
  /** The Secret with the `username` and `password` the scrape presents, when the project metrics are wanted. */
  credentialsSecret?: string;
  alerts: AlertSettings;
}

/** Declares the ServiceMonitor and the PrometheusRule asked for, as children of `parent`. */
export function declareMonitoring(name: string, args: RegistryMonitoringArgs, parent: pulumi.Resource): void {
  const metadata = { namespace: args.namespace, labels: { "app.kubernetes.io/managed-by": "airlock", ...args.labels } };
  if (args.serviceMonitor) {
    new k8s.apiextensions.CustomResource(
      `${name}-service-monitor`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { ...metadata, name: "airlock-registry" },
        spec: {
          selector: { matchLabels: args.serviceLabels },
          namespaceSelector: { matchNames: [args.namespace] },
          endpoints: [
            {
              port: "https",
              scheme: "https",
              path: "/metrics",
              interval: args.interval,
              ...(args.credentialsSecret !== undefined && {
                basicAuth: {
                  username: { name: args.credentialsSecret, key: "username" },
                  password: { name: args.credentialsSecret, key: "password" },
                },
              }),
              tlsConfig: {
                serverName: args.tls.serverName,
                ...(args.tls.caSecretName !== undefined && {
                  ca: { secret: { name: args.tls.caSecretName, key: "ca.crt" } },
                }),
              },
            },
          ],
        },
      },
      { parent },
    );
  }
  if (args.prometheusRule) {
    new k8s.apiextensions.CustomResource(
      `${name}-alerts`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { ...metadata, name: "airlock-registry-alerts" },
        spec: { groups: [{ name: "airlock-registry", interval: "30s", rules: alertRules(args.alerts) }] },
      },
      { parent },
    );
  }
}
