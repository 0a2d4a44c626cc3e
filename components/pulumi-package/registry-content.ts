// The registry's content as the Pulumi component package serves it to other languages
// (`airlock:index:Project`, `ProxyProject`, `RegistryEndpoint`, `RobotAccount`): each a component
// holding the TypeScript library's resource of the same name, with arguments the schema can
// express (see registry-server.ts for the analyzer's limits). Where the TypeScript arguments take
// a union (`preventVulnerable: Severity | false`, `trustedKeys: string | string[]`, an allowlist
// expiry as a string or a number), these take the one form that says it all.

import * as pulumi from "@pulumi/pulumi";
import type { RegistryConnection } from "../registry/api-client";
import { Project as TypedProject, type ProjectArgs as TypedProjectArgs } from "../registry/project";
import { ProxyProject as TypedProxyProject } from "../registry/proxy-project";
import { RegistryEndpoint as TypedRegistryEndpoint } from "../registry/registry-endpoint";
import { RobotAccount as TypedRobotAccount, projectAccess, type RobotPermission } from "../registry/robot-account";
import { SEVERITIES, type Severity } from "../registry/project-security";
import type { ProjectAction, RegistryEndpointKind, RobotPermissionKind } from "./schema-enums";

/** A CVE allowlist: vulnerability ids that never block a pull, until `expiresAt` if given. */
export interface CveAllowlistArgs {
  /** Vulnerability ids (CVE-2024-1234, GHSA-…). */
  items: pulumi.Input<pulumi.Input<string>[]>;
  /** When the list stops applying: an ISO 8601 date or time. Default: never. */
  expiresAt?: pulumi.Input<string>;
}

/** A project's security gate, as Harbor's project settings hold it. */
export interface ProjectSecurityArgs {
  /** Scan each artifact when it is pushed (a proxy project: when it is fetched). Default false. */
  autoScan?: pulumi.Input<boolean>;
  /**
   * Refuse pulls of artifacts with a vulnerability at or above this severity: low, medium, high
   * or critical. Default: none, vulnerable pulls are let through.
   */
  preventVulnerable?: pulumi.Input<string>;
  /** With preventVulnerable: a scan made with a database older than the server's limit vouches for nothing. */
  preventStaleScan?: pulumi.Input<boolean>;
  /** The project's own CVE allowlist. Default empty. */
  cveAllowlist?: pulumi.Input<CveAllowlistArgs>;
  /** Judge pulls by the system's allowlist instead of cveAllowlist. Default false. */
  reuseSystemCveAllowlist?: pulumi.Input<boolean>;
  /** Generate an SBOM for each pushed image. Default false. */
  autoSbom?: pulumi.Input<boolean>;
  /** Refuse pulls of artifacts without a cosign signature. Default false. */
  requireSignature?: pulumi.Input<boolean>;
  /** With requireSignature: the PEM public keys a signature must verify against. Default: any key. */
  trustedKeys?: pulumi.Input<pulumi.Input<string>[]>;
}

export interface ProjectArgs extends ProjectSecurityArgs {
  /** The registry to manage: a RegistryServer's `connection`. */
  connection: pulumi.Input<RegistryConnection>;
  /** Project name: lowercase letters and digits, with . _ - between them. */
  name: pulumi.Input<string>;
  /** Anonymous users may pull from a public project. Default false. */
  public?: pulumi.Input<boolean>;
  /** Storage quota in bytes; -1 (default) for none. */
  storageLimit?: pulumi.Input<number>;
  /** Other Harbor project metadata, values as strings (enable_content_trust…). */
  metadata?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Take over a project that already exists with this name instead of failing. */
  adopt?: pulumi.Input<boolean>;
  /** Delete the project's repositories when it is deleted. Default false: a project holding images is kept. */
  purgeOnDelete?: pulumi.Input<boolean>;
}

/** A project of the registry, with its quota and security gate. */
export class Project extends pulumi.ComponentResource {
  /** The registry's id of the project. */
  public readonly projectId: pulumi.Output<number>;
  /** The project's name. */
  public readonly projectName: pulumi.Output<string>;

  constructor(name: string, args: ProjectArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:index:Project", name, {}, opts);
    const project = new TypedProject(
      name,
      {
        ...security(args),
        connection: args.connection,
        name: args.name,
        ...defined({
          public: args.public,
          storageLimit: args.storageLimit,
          metadata: args.metadata,
          adopt: args.adopt,
          purgeOnDelete: args.purgeOnDelete,
        }),
      },
      { parent: this },
    );
    this.projectId = project.projectId;
    this.projectName = project.name;
    this.registerOutputs({ projectId: this.projectId, projectName: this.projectName });
  }
}

export interface ProxyProjectArgs extends ProjectSecurityArgs {
  /** The registry to manage: a RegistryServer's `connection`. */
  connection: pulumi.Input<RegistryConnection>;
  /** Project name; clients pull `<registry>/<name>/<upstream repository>`. */
  name: pulumi.Input<string>;
  /** The upstream: a RegistryEndpoint's `registryId`. */
  registryId: pulumi.Input<number>;
  /** Anonymous users may pull through it. Default false. */
  public?: pulumi.Input<boolean>;
  /** Bandwidth towards the upstream in KB/s; -1 (default) for no limit. */
  speedKbps?: pulumi.Input<number>;
  /** Concurrent connections to the upstream; -1 (default) for no limit. */
  maxUpstreamConnections?: pulumi.Input<number>;
  /** Storage quota in bytes; -1 (default) for none. */
  storageLimit?: pulumi.Input<number>;
  /** Take over a project that already exists with this name instead of failing. */
  adopt?: pulumi.Input<boolean>;
}

/** A proxy-cache project: pulls through it fetch from the upstream once, then serve the copy. */
export class ProxyProject extends pulumi.ComponentResource {
  /** The registry's id of the project. */
  public readonly projectId: pulumi.Output<number>;
  /** The project's name. */
  public readonly projectName: pulumi.Output<string>;

  constructor(name: string, args: ProxyProjectArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:index:ProxyProject", name, {}, opts);
    const project = new TypedProxyProject(
      name,
      {
        ...security(args),
        connection: args.connection,
        name: args.name,
        registryId: args.registryId,
        ...defined({
          public: args.public,
          speedKbps: args.speedKbps,
          maxUpstreamConnections: args.maxUpstreamConnections,
          storageLimit: args.storageLimit,
          adopt: args.adopt,
        }),
      },
      { parent: this },
    );
    this.projectId = project.projectId;
    this.projectName = project.name;
    this.registerOutputs({ projectId: this.projectId, projectName: this.projectName });
  }
}

/** Credentials for an upstream registry. */
export interface EndpointCredentialArgs {
  /** User name or access key. */
  accessKey: pulumi.Input<string>;
  /** Password, token or secret key. */
  accessSecret: pulumi.Input<string>;
}

export interface RegistryEndpointArgs {
  /** The registry to manage: a RegistryServer's `connection`. */
  connection: pulumi.Input<RegistryConnection>;
  /** The endpoint's name in the registry. */
  name: pulumi.Input<string>;
  /** The upstream's kind, as Harbor names it. */
  type: pulumi.Input<RegistryEndpointKind>;
  /** The upstream's base URL, e.g. https://registry-1.docker.io. */
  url: pulumi.Input<string>;
  /** Free text. */
  description?: pulumi.Input<string>;
  /** Credentials for the upstream; anonymous when left out. */
  credential?: pulumi.Input<EndpointCredentialArgs>;
  /** Change to send the credential again (the registry never returns it). */
  credentialVersion?: pulumi.Input<number>;
  /** Skip TLS verification of the upstream. Default false. */
  insecure?: pulumi.Input<boolean>;
  /** PEM CA to trust for the upstream's certificate. */
  caCertificate?: pulumi.Input<string>;
  /** Take over an endpoint that already exists with this name instead of failing. */
  adopt?: pulumi.Input<boolean>;
}

/** An upstream registry the registry pulls from (proxy cache) or replicates with. */
export class RegistryEndpoint extends pulumi.ComponentResource {
  /** The registry's id of the endpoint: a ProxyProject's `registryId`. */
  public readonly registryId: pulumi.Output<number>;

  constructor(name: string, args: RegistryEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:index:RegistryEndpoint", name, {}, opts);
    const endpoint = new TypedRegistryEndpoint(
      name,
      {
        connection: args.connection,
        name: args.name,
        type: args.type,
        url: args.url,
        ...defined({
          description: args.description,
          credential: args.credential,
          credentialVersion: args.credentialVersion,
          insecure: args.insecure,
          caCertificate: args.caCertificate,
          adopt: args.adopt,
        }),
      },
      { parent: this },
    );
    this.registryId = endpoint.registryId;
    this.registerOutputs({ registryId: this.registryId });
  }
}

/** One action on one kind of resource, as Harbor's robot API has it (e.g. repository + pull). */
export interface RobotAccessArgs {
  /** The resource: repository, artifact, tag, scan… */
  resource: pulumi.Input<string>;
  /** The action: pull, push, delete, read, list, create… */
  action: pulumi.Input<string>;
}

/** What a robot may do in one project (kind project, namespace its name) or in the registry (kind system, namespace "/"). */
export interface RobotPermissionArgs {
  kind: pulumi.Input<RobotPermissionKind>;
  namespace: pulumi.Input<string>;
  access: pulumi.Input<pulumi.Input<RobotAccessArgs>[]>;
}

export interface RobotAccountArgs {
  /** The registry to manage: a RegistryServer's `connection`. */
  connection: pulumi.Input<RegistryConnection>;
  /** The short name; the registry names it robot$<project>+<name> (project robot) or robot$<name>. */
  name: pulumi.Input<string>;
  /** The project of a project robot; leave out for a system robot. */
  project?: pulumi.Input<string>;
  /**
   * For a project robot, instead of permissions: what it may do in its project, among pull, push
   * and delete.
   */
  access?: pulumi.Input<pulumi.Input<ProjectAction>[]>;
  /** What the robot may do, as Harbor's API has it; required unless project and access are given. */
  permissions?: pulumi.Input<pulumi.Input<RobotPermissionArgs>[]>;
  /** Free text shown in the registry. */
  description?: pulumi.Input<string>;
  /** Lifetime in days; -1 (default) never expires. */
  duration?: pulumi.Input<number>;
  /** A disabled robot cannot log in. Default false. */
  disabled?: pulumi.Input<boolean>;
  /** Change to have the registry generate a new secret. */
  secretVersion?: pulumi.Input<number>;
  /** Take over an existing robot of the same name (its secret is then refreshed). */
  adopt?: pulumi.Input<boolean>;
}

/** A robot account: the credential CI jobs and machines log in with. */
export class RobotAccount extends pulumi.ComponentResource {
  /** The registry's id of the robot. */
  public readonly robotId: pulumi.Output<number>;
  /** The name clients log in with, e.g. robot$apps+ci. */
  public readonly fullName: pulumi.Output<string>;
  /** The secret clients log in with; a secret. */
  public readonly robotSecret: pulumi.Output<string>;

  constructor(name: string, args: RobotAccountArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:index:RobotAccount", name, {}, opts);
    const robot = new TypedRobotAccount(
      name,
      {
        connection: args.connection,
        name: args.name,
        permissions: robotPermissions(name, args),
        ...defined({
          project: args.project,
          description: args.description,
          duration: args.duration,
          disabled: args.disabled,
          secretVersion: args.secretVersion,
          adopt: args.adopt,
        }),
      },
      { parent: this },
    );
    this.robotId = robot.robotId;
    this.fullName = robot.fullName;
    // Secret whatever the engine does with the inner resource's additionalSecretOutputs.
    this.robotSecret = pulumi.secret(robot.robotSecret);
    this.registerOutputs({ robotId: this.robotId, fullName: this.fullName, robotSecret: this.robotSecret });
  }
}

/** The robot's permissions: as given, or its project's from `access`. */
function robotPermissions(name: string, args: RobotAccountArgs): pulumi.Input<pulumi.Input<RobotPermission>[]> {
  if (args.permissions !== undefined) {
    if (args.access !== undefined) {
      throw new Error(`RobotAccount ${name}: give permissions or access, not both`);
    }
    // The enums' values are the library's literals.
    return args.permissions as pulumi.Input<pulumi.Input<RobotPermission>[]>;
  }
  if (args.access === undefined || args.project === undefined) {
    throw new Error(`RobotAccount ${name}: needs permissions, or a project and its access (pull, push, delete)`);
  }
  return pulumi.all([args.project, args.access]).apply(([project, access]) => projectAccess(project, access));
}

/** The TypeScript library's security arguments from the schema's forms. */
function security(args: ProjectSecurityArgs): Pick<TypedProjectArgs, keyof ProjectSecurityArgs> {
  return defined({
    autoScan: args.autoScan,
    preventVulnerable:
      args.preventVulnerable === undefined
        ? undefined
        : pulumi.output(args.preventVulnerable).apply((severity) => severityOrOff(severity)),
    preventStaleScan: args.preventStaleScan,
    cveAllowlist: args.cveAllowlist,
    reuseSystemCveAllowlist: args.reuseSystemCveAllowlist,
    autoSbom: args.autoSbom,
    requireSignature: args.requireSignature,
    trustedKeys: args.trustedKeys,
  });
}

/** A severity as the library takes it: "" means no gate; anything else must be a severity. */
export function severityOrOff(severity: string): Severity | false {
  if (severity === "") {
    return false;
  }
  const known = SEVERITIES.find((candidate) => candidate === severity.toLowerCase());
  if (!known) {
    throw new Error(
      `preventVulnerable must be one of ${SEVERITIES.join(", ")} (or "" for none), not ${JSON.stringify(severity)}`,
    );
  }
  return known;
}

/** `fields` without its undefined entries, so that the library's defaults apply. */
function defined<T extends object>(fields: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
