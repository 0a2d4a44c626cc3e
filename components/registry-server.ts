// RegistryServer: the registry server deployed to one target, with the same outputs whatever the
// target (URL, CA, admin credentials, and the connection the registry resources manage it
// through), so that one program deploys the server and then configures it.
//   local       the bundled server as a process on this machine (LocalRegistry)
//   kubernetes  a Deployment and its Service, Ingress, volume, NetworkPolicies (KubernetesRegistry)
//   aws         an ECS Fargate service in a VPC with subnets per zone, S3, RDS (AwsRegistry)

import * as pulumi from "@pulumi/pulumi";
import { AwsRegistry } from "./aws/aws-registry";
import { validateAwsRegistryArgs } from "./aws/aws-registry-args";
import type { AwsTargetArgs } from "./aws/aws-stack-target";
import { KubernetesRegistry, type KubernetesRegistryArgs } from "./kubernetes/kubernetes-registry";
import { validateKubernetesRegistryArgs } from "./kubernetes/kubernetes-registry-args";
import { LocalRegistry, type LocalRegistryArgs } from "./local/local-registry";
import type { MirrorSettings, UpstreamSettings } from "./server-config/server-settings";
import type { UpstreamEndpoint } from "./network/derive-rules";
import { declareZones, NetworkZones, type NetworkZonesArgs } from "./network/network-zones";
import type { RegistryConnection } from "./registry/api-client";

export const REGISTRY_SERVER_TARGETS = ["local", "kubernetes", "aws"] as const;
export type RegistryServerTarget = (typeof REGISTRY_SERVER_TARGETS)[number];

/** The Kubernetes target's settings, less what RegistryServer passes to every target. */
export type KubernetesTargetArgs = Omit<
  KubernetesRegistryArgs,
  "adminUsername" | "adminPassword" | "upstream" | "mirror" | "logLevel" | "network"
>;

/** The local target's settings, less what RegistryServer passes to every target. */
export type LocalTargetArgs = Omit<LocalRegistryArgs, "adminUsername" | "adminPassword" | "upstream" | "mirror">;

export interface RegistryServerArgs {
  /** Where the server runs. */
  target: RegistryServerTarget;
  /** The local target's settings; required when target is `local`. */
  local?: LocalTargetArgs;
  /** The Kubernetes target's settings; required when target is `kubernetes`. */
  kubernetes?: KubernetesTargetArgs;
  /** The AWS target's settings; required when target is `aws`. */
  aws?: AwsTargetArgs;
  /** Admin user name. Default `admin`. */
  adminUsername?: string;
  /** Admin password; generated (kept secret in the state) when not given. */
  adminPassword?: pulumi.Input<string>;
  /** Server log level (local: overridden by `local.logLevel` when set). Default `info`. */
  logLevel?: string;
  /** Egress towards upstream registries: the corporate proxy, timeouts. */
  upstream?: UpstreamSettings;
  /** Transparent mirror routing of pulls without a project prefix. */
  mirror?: MirrorSettings;
  /**
   * The network zones and the upstream endpoints the registry pulls from, from which the
   * firewall rules are derived (Kubernetes: NetworkPolicies). Default: no rules.
   */
  network?: { zones: NetworkZonesArgs; upstreams: UpstreamEndpoint[] };
}

export class RegistryServerError extends Error {
  override name = "RegistryServerError";
}

/**
 * Checks that the target exists and has its settings, and for Kubernetes the whole declaration
 * (replicas, zones, firewall rules); throws the check's error, naming every problem.
 */
export function validateRegistryServerArgs(
  args: Pick<RegistryServerArgs, "target" | "local" | "kubernetes" | "aws" | "network" | "upstream">,
): void {
  if (args.target === "aws") {
    if (!args.aws) throw new RegistryServerError('RegistryServer: target "aws" needs `aws`');
    validateAwsRegistryArgs({ ...args.aws, ...(args.upstream && { upstream: args.upstream }) });
  }
  if (!(REGISTRY_SERVER_TARGETS as readonly string[]).includes(args.target)) {
    throw new RegistryServerError(`RegistryServer: unknown target ${JSON.stringify(args.target)}`);
  }
  if (args.target === "local" && !args.local)
    throw new RegistryServerError('RegistryServer: target "local" needs `local`');
  if (args.target === "kubernetes") {
    if (!args.kubernetes) throw new RegistryServerError('RegistryServer: target "kubernetes" needs `kubernetes`');
    validateKubernetesRegistryArgs({
      ...args.kubernetes,
      ...(args.upstream && { upstream: args.upstream }),
      ...(args.network && {
        network: { zones: declareZones(args.network.zones), upstreams: args.network.upstreams },
      }),
    });
  }
}

export class RegistryServer extends pulumi.ComponentResource {
  public readonly target: RegistryServerTarget;
  /** Base URL of the registry. */
  public readonly url: pulumi.Output<string>;
  /** PEM of the CA clients must trust; undefined when the certificate comes from elsewhere without one. */
  public readonly caCertPem: pulumi.Output<string | undefined>;
  public readonly adminUsername: pulumi.Output<string>;
  /** A secret. */
  public readonly adminPassword: pulumi.Output<string>;
  /** What the registry resources (Project, RobotAccount…) need; a secret, resolved once the server answers. */
  public readonly connection: pulumi.Output<RegistryConnection>;
  /** The local deployment, when target is `local`. */
  public readonly local?: LocalRegistry;
  /** The Kubernetes deployment, when target is `kubernetes`. */
  public readonly kubernetes?: KubernetesRegistry;
  /** The AWS deployment, when target is `aws`. */
  public readonly aws?: AwsRegistry;
  /** The declared zones, when given. */
  public readonly zones?: NetworkZones;

  constructor(name: string, args: RegistryServerArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before anything is declared: a refused declaration creates nothing.
    validateRegistryServerArgs(args);
    super("airlock:server:RegistryServer", name, {}, opts);
    this.target = args.target;
    const shared = {
      ...(args.adminUsername !== undefined && { adminUsername: args.adminUsername }),
      ...(args.adminPassword !== undefined && { adminPassword: args.adminPassword }),
      upstream: args.upstream ?? {},
      mirror: args.mirror ?? {},
    };
    if (args.network) this.zones = new NetworkZones(name, args.network.zones, { parent: this });

    let deployed: LocalRegistry | KubernetesRegistry | AwsRegistry;
    if (args.target === "local" && args.local) {
      // The alias keeps stacks deployed before RegistryServer existed, when LocalRegistry was a
      // child of the stack itself: no replacement, no restart of the running server.
      this.local = new LocalRegistry(
        name,
        { logLevel: args.logLevel ?? "info", ...args.local, ...shared },
        { parent: this, aliases: [{ parent: pulumi.rootStackResource }] },
      );
      deployed = this.local;
      this.caCertPem = this.local.caCertPem;
    } else if (args.target === "aws" && args.aws) {
      this.aws = new AwsRegistry(name, { ...args.aws, ...shared, logLevel: args.logLevel ?? "info" }, { parent: this });
      deployed = this.aws;
      this.caCertPem = this.aws.caCertPem;
    } else if (args.kubernetes) {
      this.kubernetes = new KubernetesRegistry(
        name,
        {
          ...args.kubernetes,
          ...shared,
          logLevel: args.logLevel ?? "info",
          ...(args.network &&
            this.zones && { network: { zones: this.zones.declared, upstreams: args.network.upstreams } }),
        },
        { parent: this },
      );
      deployed = this.kubernetes;
      this.caCertPem = this.kubernetes.caCertPem;
    } else {
      throw new RegistryServerError(`RegistryServer: target ${args.target} has no settings`);
    }
    this.url = deployed.url;
    this.adminUsername = deployed.adminUsername;
    this.adminPassword = deployed.adminPassword;
    this.connection = deployed.connection;
    this.registerOutputs({
      target: this.target,
      url: this.url,
      caCertPem: this.caCertPem,
      adminUsername: this.adminUsername,
      adminPassword: this.adminPassword,
      connection: this.connection,
    });
  }
}
