// What a stack declares of the proxy cache: upstream registry endpoints, the proxy-cache projects
// that pull through them (with their members and robots, a pull-only robot for cluster nodes
// typically) and the images each keeps present. Reusable by any program with a connection.

import * as pulumi from "@pulumi/pulumi";
import type { RegistryConnection } from "./api-client";
import type { DeclaredProject } from "./declared-content";
import { Preheat } from "./preheat";
import { declareProjectAccess, type RobotCredentials } from "./project-access";
import { ProxyProject } from "./proxy-project";
import { RegistryEndpoint, type RegistryEndpointType } from "./registry-endpoint";

export interface DeclaredRegistryEndpoint {
  name: string;
  type: RegistryEndpointType;
  url: string;
  description: string;
  credential?: { accessKey: string; accessSecret: string } | undefined;
  credentialVersion: number;
  insecure: boolean;
  caCertificate?: string | undefined;
}

export interface DeclaredProxyProject {
  name: string;
  /** The name of the endpoint it pulls through. */
  registry: string;
  public: boolean;
  speedKbps: number;
  maxUpstreamConnections: number;
  storageLimit: number;
  preheat?: { images: string[]; platforms: string[] } | undefined;
  members: DeclaredProject["members"];
  robots: DeclaredProject["robots"];
}

export interface DeclaredProxyCacheArgs {
  connection: pulumi.Input<RegistryConnection>;
  registries: DeclaredRegistryEndpoint[];
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
