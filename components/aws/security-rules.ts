// The security group rules of the registry on AWS, derived from what the stack declares: the
// zones, the upstream registry endpoints, the egress proxy and the database. Pure functions; the
// DmzSecurityGroups component turns each rule into rule resources.
//
// Four groups: the load balancer's, the registry tasks', the VPC endpoints' and the database's.
// Everything is HTTPS except the database's port. Pulls go one way: the production zone reaches
// the load balancer, which reaches the tasks; nothing reaches back into the production zone
// (the tasks' only path there is to the database). Each path out is one rule, as on Kubernetes
// (components/network/derive-rules.ts): an upstream reached directly opens a path to its own
// CIDRs; the upstreams that go through the corporate proxy share one path to the proxy. So
// declaring a new upstream opens exactly one path (or none, when the proxy path is open already).

import { defaultPort, proxyForUpstream, type EgressProxySettings } from "../network/egress-proxy";
import type { UpstreamEndpoint } from "../network/derive-rules";
import type { AwsZone } from "./aws-tags";

export type SecurityGroupName = "loadBalancer" | "registry" | "endpoints" | "database";
export const SECURITY_GROUP_NAMES: SecurityGroupName[] = ["loadBalancer", "registry", "endpoints", "database"];

/** The other side of a rule: address ranges, another of the four groups, or the S3 prefix list. */
export type SecurityPeer = { cidrs: string[] } | { group: SecurityGroupName } | { prefixList: "s3" };

export interface SecurityRule {
  /** Stable name: `registry-egress-upstream-quay`; the rule resources are named after it. */
  name: string;
  /** The group the rule belongs to. */
  group: SecurityGroupName;
  /** `ingress`: the peer reaches the group; `egress`: the group reaches the peer. */
  direction: "ingress" | "egress";
  /** The zone of the peer (`internet` for the upstreams). */
  zone: AwsZone | "internet";
  peer: SecurityPeer;
  /** TCP, one port. */
  port: number;
  /** Why the path exists, for reviews of the preview (the rule's description in AWS). */
  purpose: string;
}

export interface SecurityRuleInputs {
  /** Where clients connect on the load balancer: 443. */
  listenerPort: number;
  /** The server's port in the task. */
  containerPort: number;
  /** Who may pull: the production subnets of the VPC and the declared production networks. */
  pullerCidrs: string[];
  upstreams: UpstreamEndpoint[];
  /** CIDRs of the upstreams reached directly, by endpoint name. */
  endpointCidrs: Record<string, string[]>;
  egress: EgressProxySettings;
  egressProxyCidrs: string[];
  /** The metadata database: the RDS instance's group, or an existing database's CIDRs. */
  database?: { type: "rds"; port: number } | { type: "external"; cidrs: string[]; port: number };
  /** Secrets Manager, CloudWatch Logs and ECR through VPC endpoints. */
  interfaceEndpoints: boolean;
}

/** The inputs from AwsRegistry's arguments and the VPC's production subnets. */
export function securityRuleInputs(
  args: {
    port?: number;
    zones?: {
      internet?: { endpoints?: Record<string, string[]> };
      proxy?: { egressProxyCidrs?: string[] };
      production?: { cidrs?: string[] };
    };
    upstreams?: UpstreamEndpoint[];
    upstream?: EgressProxySettings;
    metadata?: { type: "rds" } | { type: "postgres"; cidrs: string[]; port?: number } | { type: "sqlite" };
    interfaceEndpoints?: boolean;
  },
  productionSubnetCidrs: string[],
): SecurityRuleInputs {
  const metadata = args.metadata ?? { type: "rds" };
  return {
    listenerPort: 443,
    containerPort: args.port ?? 5443,
    pullerCidrs: [...new Set([...productionSubnetCidrs, ...(args.zones?.production?.cidrs ?? [])])],
    upstreams: args.upstreams ?? [],
    endpointCidrs: args.zones?.internet?.endpoints ?? {},
    egress: {
      ...(args.upstream?.httpProxy !== undefined && { httpProxy: args.upstream.httpProxy }),
      ...(args.upstream?.httpsProxy !== undefined && { httpsProxy: args.upstream.httpsProxy }),
      ...(args.upstream?.noProxy !== undefined && { noProxy: args.upstream.noProxy }),
    },
    egressProxyCidrs: args.zones?.proxy?.egressProxyCidrs ?? [],
    ...(metadata.type === "rds" && { database: { type: "rds" as const, port: 5432 } }),
    ...(metadata.type === "postgres" && {
      database: { type: "external" as const, cidrs: metadata.cidrs, port: metadata.port ?? 5432 },
    }),
    interfaceEndpoints: args.interfaceEndpoints ?? true,
  };
}

/** Lowercase letters, digits and dashes, at most `max` characters: a resource name part. */
function label(text: string, max = 40): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, max)
    .replace(/-+$/, "");
}

/** The paths out to the upstreams: one per direct upstream, one per proxy in use. */
function upstreamRules(inputs: SecurityRuleInputs, problems: string[]): SecurityRule[] {
  const rules: SecurityRule[] = [];
  const viaProxy = new Map<string, string[]>();
  const declared = new Set(inputs.upstreams.map((upstream) => upstream.name));
  for (const name of Object.keys(inputs.endpointCidrs)) {
    if (!declared.has(name))
      problems.push(`zones.internet.endpoints.${name}: no upstream registry endpoint or webhook target has that name`);
  }
  for (const upstream of inputs.upstreams) {
    const url = new URL(upstream.url);
    const kind = upstream.kind ?? "upstream";
    const proxy = proxyForUpstream(url, inputs.egress);
    if (proxy !== undefined) {
      viaProxy.set(proxy, [
        ...(viaProxy.get(proxy) ?? []),
        kind === "webhook" ? `webhook ${upstream.name}` : upstream.name,
      ]);
      continue;
    }
    const cidrs = inputs.endpointCidrs[upstream.name] ?? [];
    if (cidrs.length === 0) {
      problems.push(
        `zones.internet.endpoints.${upstream.name}: ${upstream.url} is reached directly (no proxy applies to it), ` +
          "so the registry needs its CIDRs to reach it",
      );
      continue;
    }
    rules.push({
      name: `registry-egress-${kind}-${label(upstream.name)}`,
      group: "registry",
      direction: "egress",
      zone: "internet",
      peer: { cidrs },
      port: defaultPort(url),
      purpose: `${kind === "webhook" ? "webhook target" : "upstream"} ${upstream.name} (${url.host}), reached directly`,
    });
  }
  for (const [proxy, names] of viaProxy) {
    const proxyUrl = new URL(proxy);
    if (inputs.egressProxyCidrs.length === 0) {
      problems.push(
        `zones.proxy.egressProxyCidrs: the upstreams ${names.join(", ")} go through ${proxyUrl.host}, ` +
          "so the registry needs the proxy's CIDRs to reach it",
      );
      continue;
    }
    rules.push({
      name: `registry-egress-proxy-${label(proxyUrl.hostname, 30)}-${defaultPort(proxyUrl)}`,
      group: "registry",
      direction: "egress",
      zone: "proxy",
      peer: { cidrs: inputs.egressProxyCidrs },
      port: defaultPort(proxyUrl),
      purpose: `upstreams ${names.join(", ")} through the egress proxy ${proxyUrl.host}`,
    });
  }
  return rules;
}

/** Both halves of a path between two of the groups: egress from one, ingress to the other. */
function between(
  from: SecurityGroupName,
  to: SecurityGroupName,
  port: number,
  zone: AwsZone,
  purpose: string,
): SecurityRule[] {
  const kebab = (group: SecurityGroupName) => label(group.replace(/[A-Z]/g, (c) => `-${c}`));
  return [
    {
      name: `${kebab(from)}-egress-${kebab(to)}`,
      group: from,
      direction: "egress",
      zone,
      peer: { group: to },
      port,
      purpose,
    },
    {
      name: `${kebab(to)}-ingress-${kebab(from)}`,
      group: to,
      direction: "ingress",
      zone,
      peer: { group: from },
      port,
      purpose,
    },
  ];
}

/**
 * Every rule of the deployment: who may pull (the production zone, through the load balancer),
 * the load balancer to the tasks, and the tasks' paths out (upstreams, S3, the VPC endpoints, the
 * database). Throws an Error listing every declaration that is missing or wrong.
 */
export function deriveSecurityRules(inputs: SecurityRuleInputs): SecurityRule[] {
  const problems: string[] = [];
  if (inputs.pullerCidrs.length === 0) problems.push("zones.production: nobody may pull from the registry");
  const rules: SecurityRule[] = [
    {
      name: "load-balancer-ingress-production",
      group: "loadBalancer",
      direction: "ingress",
      zone: "production",
      peer: { cidrs: inputs.pullerCidrs },
      port: inputs.listenerPort,
      purpose: "the production zone pulls (and its CI pushes) over HTTPS, one way",
    },
    ...between(
      "loadBalancer",
      "registry",
      inputs.containerPort,
      "proxy",
      "the load balancer forwards to the tasks over TLS",
    ),
    ...upstreamRules(inputs, problems),
    {
      name: "registry-egress-s3",
      group: "registry",
      direction: "egress",
      zone: "proxy",
      peer: { prefixList: "s3" },
      port: 443,
      purpose: "S3 through the VPC's gateway endpoint: the blobs, and the image's layers from ECR",
    },
  ];
  if (inputs.interfaceEndpoints) {
    rules.push(
      ...between(
        "registry",
        "endpoints",
        443,
        "proxy",
        "Secrets Manager, CloudWatch Logs and ECR through VPC endpoints",
      ),
    );
  }
  const database = inputs.database;
  if (database?.type === "rds") {
    rules.push(
      ...between("registry", "database", database.port, "production", "the metadata database (RDS PostgreSQL)"),
    );
  } else if (database?.type === "external") {
    rules.push({
      name: "registry-egress-database",
      group: "registry",
      direction: "egress",
      zone: "production",
      peer: { cidrs: database.cidrs },
      port: database.port,
      purpose: "the metadata database (existing PostgreSQL)",
    });
  }
  if (problems.length > 0) throw new Error(`security group rules:\n  ${problems.join("\n  ")}`);
  return rules;
}
