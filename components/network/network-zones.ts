// The DMZ guide's network zones, declared once and translated per target: the internet (where
// the upstream registries are), the proxy zone (the DMZ, where the registry and the corporate
// egress proxy sit), the production zone (the clusters that pull, one way) and the cluster that
// runs the registry. NetworkPolicies and firewalls match addresses, not names, so each zone
// carries the CIDRs and namespaces that stand for it. On Kubernetes a zone is no resource of its
// own: NetworkZones validates the declaration once and hands it to FirewallRules.

import { isIP } from "node:net";
import * as pulumi from "@pulumi/pulumi";

export const ZONE_NAMES = ["internet", "proxy", "production", "cluster"] as const;
export type ZoneName = (typeof ZONE_NAMES)[number];

export interface InternetZone {
  /**
   * CIDRs of each upstream registry endpoint reached directly, keyed by the endpoint's name (the
   * `name` in `airlock:registries`). Only endpoints that do not go through the egress proxy need
   * them (no proxy set, or `noProxy` lists their host); they must cover every address the
   * upstream answers from (its token service and blob CDN included).
   */
  endpoints?: Record<string, string[]>;
}

export interface ProxyZone {
  /**
   * CIDRs of the corporate egress proxy (`upstream.httpsProxy` / `httpProxy`): the only way out
   * for the upstreams that go through it. Required when an upstream does.
   */
  egressProxyCidrs?: string[];
  /** Namespace of the ingress controller (ingress-nginx) that publishes the registry. Default `ingress-nginx`. */
  ingressControllerNamespace?: string;
}

export interface ProductionZone {
  /** Namespaces of the registry's cluster whose pods pull from (or, for CI, push to) the registry directly. */
  namespaces?: string[];
  /** Networks of the production clusters' nodes: they pull, one way, through the Ingress. */
  cidrs?: string[];
}

export interface ClusterZone {
  /** Node networks of the cluster that runs the registry: the kubelet pulls images from the nodes. */
  nodeCidrs?: string[];
  /** Namespace of the cluster DNS. Default `kube-system`. */
  dnsNamespace?: string;
  /** Labels of the cluster DNS pods. Default `{ "k8s-app": "kube-dns" }` (CoreDNS keeps that label). */
  dnsPodLabels?: Record<string, string>;
  /** Namespace of Prometheus, which scrapes `/metrics` when monitoring is on. Default `monitoring`. */
  monitoringNamespace?: string;
}

/** The zones as a stack declares them; every field optional. */
export interface NetworkZonesArgs {
  /** The public zone: the upstream registries. */
  internet?: InternetZone;
  /** The DMZ: the registry, the egress proxy, the ingress controller. */
  proxy?: ProxyZone;
  /** The zone whose clusters pull from the registry. */
  production?: ProductionZone;
  /** The cluster that runs the registry. */
  cluster?: ClusterZone;
}

/** The zones with every default filled in, as the rules are derived from them. */
export interface DeclaredZones {
  internet: { endpoints: Record<string, string[]> };
  proxy: { egressProxyCidrs: string[]; ingressControllerNamespace: string };
  production: { namespaces: string[]; cidrs: string[] };
  cluster: {
    nodeCidrs: string[];
    dnsNamespace: string;
    dnsPodLabels: Record<string, string>;
    monitoringNamespace: string;
  };
}

export class NetworkZonesError extends Error {
  override name = "NetworkZonesError";
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** True for an IPv4 or IPv6 CIDR with a prefix length the family allows. */
export function isCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split("/");
  if (address === undefined || prefix === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefix)) return false;
  const family = isIP(address);
  return family !== 0 && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Fills in the defaults and checks every CIDR and namespace; throws a NetworkZonesError naming
 * each field at fault.
 */
export function declareZones(args: NetworkZonesArgs = {}): DeclaredZones {
  const problems: string[] = [];
  const cidrs = (field: string, values: string[] | undefined): string[] => {
    for (const value of values ?? []) {
      if (!isCidr(value)) problems.push(`${field}: ${JSON.stringify(value)} is not a CIDR (e.g. 10.0.0.0/16)`);
    }
    return [...new Set(values ?? [])];
  };
  const namespace = (field: string, value: string): string => {
    if (!DNS_LABEL.test(value)) problems.push(`${field}: ${JSON.stringify(value)} is not a namespace name`);
    return value;
  };
  const zones: DeclaredZones = {
    internet: {
      endpoints: Object.fromEntries(
        Object.entries(args.internet?.endpoints ?? {}).map(([name, values]) => [
          name,
          cidrs(`internet.endpoints.${name}`, values),
        ]),
      ),
    },
    proxy: {
      egressProxyCidrs: cidrs("proxy.egressProxyCidrs", args.proxy?.egressProxyCidrs),
      ingressControllerNamespace: namespace(
        "proxy.ingressControllerNamespace",
        args.proxy?.ingressControllerNamespace ?? "ingress-nginx",
      ),
    },
    production: {
      namespaces: [...new Set(args.production?.namespaces ?? [])].map((ns) => namespace("production.namespaces", ns)),
      cidrs: cidrs("production.cidrs", args.production?.cidrs),
    },
    cluster: {
      nodeCidrs: cidrs("cluster.nodeCidrs", args.cluster?.nodeCidrs),
      dnsNamespace: namespace("cluster.dnsNamespace", args.cluster?.dnsNamespace ?? "kube-system"),
      dnsPodLabels: args.cluster?.dnsPodLabels ?? { "k8s-app": "kube-dns" },
      monitoringNamespace: namespace("cluster.monitoringNamespace", args.cluster?.monitoringNamespace ?? "monitoring"),
    },
  };
  if (problems.length > 0) throw new NetworkZonesError(`invalid network zones:\n  ${problems.join("\n  ")}`);
  return zones;
}

/**
 * The zones of one deployment, declared once. On Kubernetes it creates nothing: it is the
 * validated declaration that FirewallRules translates into NetworkPolicies (on AWS it will hold
 * the subnets per zone).
 */
export class NetworkZones extends pulumi.ComponentResource {
  /** The declaration with its defaults, known when the program runs. */
  public readonly declared: DeclaredZones;

  constructor(name: string, args: NetworkZonesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:network:NetworkZones", name, {}, opts);
    this.declared = declareZones(args);
    this.registerOutputs({ zones: this.declared });
  }
}
