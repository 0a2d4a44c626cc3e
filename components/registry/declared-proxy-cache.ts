// What a stack declares of the proxy cache: upstream registry endpoints, the proxy-cache projects
// that pull through them (with their members and robots, a pull-only robot for cluster nodes
// typically, and their security gate: `autoScan` scans what they fetch), how long each keeps what nobody pulls, and the images each keeps present.
// Reusable by any program with a connection.

import * as pulumi from "@pulumi/pulumi";
import type { RegistryConnection } from "./api-client";
import { securityArgs, type DeclaredProject, type DeclaredProjectSecurity } from "./declared-content";
import { Preheat } from "./preheat";
import { declareProjectAccess, type RobotCredentials } from "./project-access";
import { ProxyProject } from "./proxy-project";
import { RegistryEndpoint, type RegistryEndpointType } from "./registry-endpoint";
import { HARBOR_PROXY_EXPIRY_DAYS, proxyExpiryRules, RetentionPolicy } from "./retention-policy";
import { SCHEDULE_TYPE_CRON } from "./schedule";

/** An upstream registry endpoint; the fields are RegistryEndpointArgs's. */
export interface DeclaredRegistryEndpoint {
  /** The endpoint's name, unique in the registry; proxy projects refer to it. */
  name: string;
  /** The upstream's kind: it decides authentication and naming. */
  type: RegistryEndpointType;
  /** Base URL of the upstream, e.g. https://registry-1.docker.io. */
  url: string;
  /** Free text shown in the registry. */
  description: string;
  /** User name (or access key) and password (or token); leave out for anonymous pulls. */
  credential?: { accessKey: string; accessSecret: string } | undefined;
  /** Change to send the credential again. */
  credentialVersion: number;
  /** Skip verification of the upstream's TLS certificate; the DMZ policy refuses it. */
  insecure: boolean;
  /** PEM of a CA to trust for the upstream's certificate. */
  caCertificate?: string | undefined;
}

/** A proxy-cache project: pulls through it fetch from its endpoint and keep what they fetched. */
export interface DeclaredProxyProject extends DeclaredProjectSecurity {
  /** Project name: lowercase letters and digits, with . _ - between them. */
  name: string;
  /** The name of the endpoint it pulls through. */
  registry: string;
  /** Anonymous users may pull from a public project. */
  public: boolean;
  /** Bandwidth towards the upstream, kilobits per second; -1 for no limit. */
  speedKbps: number;
  /** Concurrent upstream requests; -1 for no limit. */
  maxUpstreamConnections: number;
  /** Storage quota in bytes; -1 for none. */
  storageLimit: number;
  /**
   * Cached artifacts not pulled for this many days are removed, daily, tagged or not; preheated
   * images are pinned by the registry and stay. Default 7, Harbor's. It is the project's
   * retention policy, declared as a RetentionPolicy.
   */
  expiryDays?: number | undefined;
  /** Images (and platforms of them) to pull into the cache ahead of time. */
  preheat?: { images: string[]; platforms: string[] } | undefined;
  /** The project's members. */
  members: DeclaredProject["members"];
  /** The project's robot accounts; their credentials are in DeclaredProxyCache.robots. */
  robots: DeclaredProject["robots"];
}

export interface DeclaredProxyCacheArgs {
  /** The registry to manage (from RegistryServer's `connection`); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** The upstream registry endpoints. */
  registries: DeclaredRegistryEndpoint[];
  /** The proxy-cache projects, each through one of `registries`. */
  proxyProjects: DeclaredProxyProject[];
  /** User resources by name, for memberships (from DeclaredContent). */
  users?: Record<string, pulumi.Resource>;
}

export class DeclaredProxyCache extends pulumi.ComponentResource {
  /** Endpoint ids by name. */
  public readonly registryIds: Record<string, pulumi.Output<number>> = {};
  /** Robot credentials by "<project>/<robot name>". */
  public readonly robots: Record<string, RobotCredentials> = {};
  /** The digests preheated images resolved to, by project. */
  public readonly preheated: Record<string, pulumi.Output<Record<string, string>>> = {};

  constructor(name: string, args: DeclaredProxyCacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:registry:DeclaredProxyCache", name, {}, opts);
    const connection = args.connection;

    const endpoints = new Map<string, RegistryEndpoint>();
    for (const registry of args.registries) {
      const endpoint = new RegistryEndpoint(
        `${name}-registry-${registry.name}`,
        {
          connection,
          name: registry.name,
          type: registry.type,
          url: registry.url,
          description: registry.description,
          ...(registry.credential && { credential: pulumi.secret(registry.credential) }),
          credentialVersion: registry.credentialVersion,
          insecure: registry.insecure,
          ...(registry.caCertificate !== undefined && { caCertificate: registry.caCertificate }),
        },
        { parent: this },
      );
      endpoints.set(registry.name, endpoint);
      this.registryIds[registry.name] = endpoint.registryId;
    }

    for (const declared of args.proxyProjects) {
      const endpoint = endpoints.get(declared.registry);
      if (!endpoint) throw new Error(`proxy project ${declared.name}: no registry endpoint ${declared.registry}`);
      const project = new ProxyProject(
        `${name}-proxy-${declared.name}`,
        {
          connection,
          name: declared.name,
          registryId: endpoint.registryId,
          public: declared.public,
          speedKbps: declared.speedKbps,
          maxUpstreamConnections: declared.maxUpstreamConnections,
          storageLimit: declared.storageLimit,
          ...securityArgs(declared),
        },
        { parent: this },
      );
      // Harbor gives a proxy-cache project this policy when it is created: declared, it is
      // adopted, kept to the stack's expiry, and its drift shows.
      new RetentionPolicy(
        `${name}-proxy-${declared.name}-expiry`,
        {
          connection,
          project: project.name,
          schedule: SCHEDULE_TYPE_CRON.Daily,
          rules: proxyExpiryRules(declared.expiryDays ?? HARBOR_PROXY_EXPIRY_DAYS),
        },
        { parent: this },
      );
      Object.assign(
        this.robots,
        declareProjectAccess({
          parent: this,
          connection,
          project,
          projectName: declared.name,
          members: declared.members,
          robots: declared.robots,
          users: args.users ?? {},
          memberResourceName: (username) => `${name}-proxy-${declared.name}-member-${username}`,
          robotResourceName: (robot) => `${name}-proxy-${declared.name}-robot-${robot}`,
        }),
      );
      if (declared.preheat) {
        const preheat = new Preheat(
          `${name}-proxy-${declared.name}-preheat`,
          {
            connection,
            project: project.name,
            images: declared.preheat.images,
            platforms: declared.preheat.platforms,
          },
          { parent: this, dependsOn: [project] },
        );
        this.preheated[declared.name] = preheat.digests;
      }
    }

    this.registerOutputs({ registryIds: this.registryIds, robots: this.robots, preheated: this.preheated });
  }
}
