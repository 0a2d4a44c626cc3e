// The firewall rules of a registry deployment, derived from what the stack declares: its zones,
// its upstream registry endpoints and its egress proxy. Pure functions, independent of any
// target: FirewallRules turns them into NetworkPolicies on Kubernetes (security groups on AWS).
//
// Each path out is one rule: an upstream reached directly opens a path to its own CIDRs; the
// upstreams that go through the corporate proxy share one path to the proxy. So declaring a new
// upstream opens exactly one path (or none, when the proxy path is already open), and removing
// the last user of a path closes it.

import { defaultPort, proxyForUpstream } from "./egress-proxy";
import type { EgressProxySettings } from "./egress-proxy";
import type { DeclaredZones, ZoneName } from "./network-zones";

/**
 * A destination the registry reaches out to: a declared registry endpoint (an entry of
 * `airlock:registries`, pulled from or replicated to) or a webhook target (a project's
 * `webhooks[].targets[]`), posted to through the same egress settings.
 */
export interface UpstreamEndpoint {
  /** The endpoint's name; for a webhook target, `<project>-<webhook>` (and `-<n>` past the first). */
  name: string;
  /** Its URL, e.g. https://registry.customer-a.com. */
  url: string;
  /** What it is, for the rule's name and purpose. Default "upstream". */
  kind?: "upstream" | "webhook";
}

export { bypassesProxy, proxyForUpstream, type EgressProxySettings } from "./egress-proxy";

/** A service the registry depends on, outside the cluster: the S3 endpoint, PostgreSQL. */
export interface BackendService {
  /** Short name, used in the rule's name: `s3`, `postgres`. */
  name: string;
  /** Where it is. */
  cidrs: string[];
  /** Its TCP port. */
  port: number;
}

export interface FirewallInputs {
  zones: DeclaredZones;
  /** The upstream registry endpoints the registry pulls from. */
  upstreams: UpstreamEndpoint[];
  egress: EgressProxySettings;
  /** The registry's own port. */
  port: number;
  /** Published through an ingress controller: its pods reach the registry. */
  ingress: boolean;
  /** Scraped by Prometheus. */
  monitoring: boolean;
  backends: BackendService[];
}

export type RulePeer = { cidrs: string[] } | { namespaces: string[]; podLabels?: Record<string, string> };

export interface FirewallRule {
  /** Stable name, a DNS label: `egress-upstream-quay`, `ingress-cluster-nodes`. */
  name: string;
  /** `ingress`: the peer reaches the registry; `egress`: the registry reaches the peer. */
  direction: "ingress" | "egress";
  /** The zone the peer belongs to. */
  zone: ZoneName;
  peer: RulePeer;
  ports: Array<{ protocol: "TCP" | "UDP"; port: number }>;
  /** Why the path exists, for reviews of the preview. */
  purpose: string;
}

export class FirewallRulesError extends Error {
  override name = "FirewallRulesError";
}

/** Lowercase letters, digits and dashes, at most `max` characters: a NetworkPolicy name part. */
function label(text: string, max = 40): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, max)
    .replace(/-+$/, "");
}

/** The rules egress to upstreams needs: one per direct upstream, one per proxy in use. */
function egressToUpstreams(inputs: FirewallInputs, problems: string[]): FirewallRule[] {
  const { zones } = inputs;
  const viaProxy = new Map<string, string[]>();
  const rules: FirewallRule[] = [];
  const declared = new Set(inputs.upstreams.map((u) => u.name));
  for (const name of Object.keys(zones.internet.endpoints)) {
    if (!declared.has(name)) {
      problems.push(`internet.endpoints.${name}: no upstream registry endpoint or webhook target has that name`);
    }
  }
  for (const upstream of inputs.upstreams) {
    const url = new URL(upstream.url);
    const kind = upstream.kind ?? "upstream";
    const what = kind === "webhook" ? "webhook target" : "upstream";
    const proxy = proxyForUpstream(url, inputs.egress);
    if (proxy !== undefined) {
      viaProxy.set(proxy, [
        ...(viaProxy.get(proxy) ?? []),
        kind === "webhook" ? `webhook ${upstream.name}` : upstream.name,
      ]);
      continue;
    }
    const cidrs = zones.internet.endpoints[upstream.name] ?? [];
    if (cidrs.length === 0) {
      problems.push(
        `internet.endpoints.${upstream.name}: ${upstream.url} is reached directly (no proxy applies to it), ` +
          "so the registry needs its CIDRs to reach it",
      );
      continue;
    }
    rules.push({
      name: `egress-${kind}-${label(upstream.name)}`,
      direction: "egress",
      zone: "internet",
      peer: { cidrs },
      ports: [{ protocol: "TCP", port: defaultPort(url) }],
      purpose: `${what} ${upstream.name} (${url.host}), reached directly`,
    });
  }
  for (const [proxy, names] of viaProxy) {
    const proxyUrl = new URL(proxy);
    if (zones.proxy.egressProxyCidrs.length === 0) {
      problems.push(
        `proxy.egressProxyCidrs: the upstreams ${names.join(", ")} go through ${proxyUrl.host}, ` +
          "so the registry needs the proxy's CIDRs to reach it",
      );
      continue;
    }
    rules.push({
      name: `egress-proxy-${label(proxyUrl.hostname, 30)}-${defaultPort(proxyUrl)}`,
      direction: "egress",
      zone: "proxy",
      peer: { cidrs: zones.proxy.egressProxyCidrs },
      ports: [{ protocol: "TCP", port: defaultPort(proxyUrl) }],
      purpose: `upstreams ${names.join(", ")} through the egress proxy ${proxyUrl.host}`,
    });
  }
  return rules;
}

/**
 * Every rule of the deployment: DNS, the paths out (upstreams, backends) and the paths in (the
 * ingress controller, Prometheus, the production zone's and the cluster's pullers). Throws a
 * FirewallRulesError listing every declaration that is missing or wrong.
 */
export function deriveFirewallRules(inputs: FirewallInputs): FirewallRule[] {
  const { zones, port } = inputs;
  const problems: string[] = [];
  const tcp = [{ protocol: "TCP" as const, port }];
  const rules: FirewallRule[] = [
    {
      name: "egress-dns",
      direction: "egress",
      zone: "cluster",
      peer: { namespaces: [zones.cluster.dnsNamespace], podLabels: zones.cluster.dnsPodLabels },
      ports: [
        { protocol: "UDP", port: 53 },
        { protocol: "TCP", port: 53 },
      ],
      purpose: "name resolution through the cluster DNS",
    },
    ...egressToUpstreams(inputs, problems),
  ];
  for (const backend of inputs.backends) {
    if (backend.cidrs.length === 0) {
      problems.push(`${backend.name}: the registry needs the CIDRs of its ${backend.name} endpoint to reach it`);
      continue;
    }
    rules.push({
      name: `egress-${label(backend.name)}`,
      direction: "egress",
      zone: "proxy",
      peer: { cidrs: backend.cidrs },
      ports: [{ protocol: "TCP", port: backend.port }],
      purpose: `the registry's ${backend.name} backend`,
    });
  }

  const inbound: Array<[string, ZoneName, RulePeer, string, boolean]> = [
    [
      "ingress-controller",
      "proxy",
      { namespaces: [zones.proxy.ingressControllerNamespace] },
      "clients through the ingress controller",
      inputs.ingress,
    ],
    [
      "ingress-monitoring",
      "cluster",
      { namespaces: [zones.cluster.monitoringNamespace] },
      "Prometheus scraping /metrics",
      inputs.monitoring,
    ],
    [
      "ingress-production-namespaces",
      "production",
      { namespaces: zones.production.namespaces },
      "workloads of the production namespaces",
      zones.production.namespaces.length > 0,
    ],
    [
      "ingress-cluster-nodes",
      "cluster",
      { cidrs: zones.cluster.nodeCidrs },
      "the kubelets of the cluster's nodes pulling images",
      zones.cluster.nodeCidrs.length > 0,
    ],
    [
      "ingress-production-nodes",
      "production",
      { cidrs: zones.production.cidrs },
      "the production clusters' nodes pulling images",
      zones.production.cidrs.length > 0,
    ],
  ];
  for (const [name, zone, peer, purpose, wanted] of inbound) {
    if (wanted) rules.push({ name, direction: "ingress", zone, peer, ports: tcp, purpose });
  }
  if (!rules.some((rule) => rule.direction === "ingress" && rule.name !== "ingress-monitoring")) {
    problems.push(
      "nobody may reach the registry: publish it through an Ingress, or declare production.namespaces, " +
        "production.cidrs or cluster.nodeCidrs",
    );
  }
  if (problems.length > 0) throw new FirewallRulesError(`firewall rules:\n  ${problems.join("\n  ")}`);
  return rules;
}

/**
 * The source ranges allowed through the Ingress: the nodes that pull (this cluster's and the
 * production zone's). Empty when none is declared (the ingress controller then admits anyone).
 */
export function ingressSourceRanges(zones: DeclaredZones): string[] {
  return [...new Set([...zones.cluster.nodeCidrs, ...zones.production.cidrs])];
}
