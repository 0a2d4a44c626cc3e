// RegistryServer as the Pulumi component package serves it to YAML, Python, Go, C# and Java
// programs (`airlock:index:RegistryServer`). Pulumi derives the package's schema from these
// TypeScript types (provider/, @pulumi/pulumi's component-provider analyzer), which knows
// primitives, string enums, arrays, maps, interfaces and `any`, and no other unions, inline object
// types or classes: hence arguments and outputs of their own, mapped onto the TypeScript
// component. The local target is typed field by field; the Kubernetes and AWS targets take
// the TypeScript component's settings as one object (docs/api: KubernetesTargetArgs,
// AwsTargetArgs), which the component checks as it does for TypeScript programs.

import * as pulumi from "@pulumi/pulumi";
import type { AwsTargetArgs } from "../aws/aws-stack-target";
import { RegistryServer as TypedRegistryServer, type KubernetesTargetArgs } from "../registry-server";
import type { RegistryConnection } from "../registry/api-client";
import type { RegistryTarget } from "./schema-enums";

/** The local target: the server as a process on the machine that runs `pulumi up`. */
export interface LocalServerArgs {
  /** Port to listen on. */
  port: pulumi.Input<number>;
  /** Address to listen on. Default 127.0.0.1; 0.0.0.0 serves other machines. */
  bindAddress?: pulumi.Input<string>;
  /** Extra DNS names clients use to reach the registry; added to its certificate. */
  hostnames?: pulumi.Input<pulumi.Input<string>[]>;
  /** Where configuration, TLS files, logs and (unless dataDir is set) content live. */
  stateDir: pulumi.Input<string>;
  /** Where the registry's content lives. Default `<stateDir>/data`. */
  dataDir?: pulumi.Input<string>;
  /** Delete the content and state directories on destroy. Default false: they are kept. */
  removeDataOnDestroy?: pulumi.Input<boolean>;
}

export interface RegistryServerArgs {
  /** Where the server runs. */
  target: RegistryTarget;
  /** The local target's settings; required when target is `local`. */
  local?: LocalServerArgs;
  /**
   * The Kubernetes target's settings, the fields of the TypeScript component's
   * `KubernetesTargetArgs` (namespace, host, replicas, storage, metadata, tls, ingress…).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema's Any: checked by RegistryServer
  kubernetes?: any;
  /** The AWS target's settings, the fields of the TypeScript component's `AwsTargetArgs`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema's Any: checked by RegistryServer
  aws?: any;
  /** Admin user name. Default `admin`. */
  adminUsername?: string;
  /** Admin password; generated (kept secret in the state) when not given. */
  adminPassword?: pulumi.Input<string>;
  /** Server log level: fatal, error, warn, info, debug or trace. Default `info`. */
  logLevel?: string;
}

/** An Airlock registry server on one target, with the same outputs whatever the target. */
export class RegistryServer extends pulumi.ComponentResource {
  /** Base URL of the registry, e.g. https://localhost:5443. */
  public readonly url: pulumi.Output<string>;
  /** PEM of the CA clients must trust ("" when the target's certificate comes from elsewhere). */
  public readonly caCertificate: pulumi.Output<string>;
  /** The admin user's name. */
  public readonly adminUsername: pulumi.Output<string>;
  /** The admin user's password; a secret. */
  public readonly adminPassword: pulumi.Output<string>;
  /** What Project, RobotAccount and the other content resources need to manage it; a secret. */
  public readonly connection: pulumi.Output<RegistryConnection>;

  constructor(name: string, args: RegistryServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:index:RegistryServer", name, {}, opts);
    const server = new TypedRegistryServer(
      name,
      {
        target: args.target,
        ...(args.local && { local: args.local }),
        // Any in the schema: RegistryServer checks these as thoroughly as for a TypeScript program.
        ...(args.kubernetes !== undefined && { kubernetes: args.kubernetes as KubernetesTargetArgs }),
        ...(args.aws !== undefined && { aws: args.aws as AwsTargetArgs }),
        ...(args.adminUsername !== undefined && { adminUsername: args.adminUsername }),
        ...(args.adminPassword !== undefined && { adminPassword: args.adminPassword }),
        ...(args.logLevel !== undefined && { logLevel: args.logLevel }),
      },
      { parent: this },
    );
    this.url = server.url;
    this.caCertificate = server.caCertPem.apply((pem) => pem ?? "");
    this.adminUsername = server.adminUsername;
    this.adminPassword = server.adminPassword;
    this.connection = server.connection;
    this.registerOutputs({
      url: this.url,
      caCertificate: this.caCertificate,
      adminUsername: this.adminUsername,
      adminPassword: this.adminPassword,
      connection: this.connection,
    });
  }
}
