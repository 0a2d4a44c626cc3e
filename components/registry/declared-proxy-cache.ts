// What a stack declares of the proxy cache: upstream registry endpoints, the proxy-cache projects
// that pull through them (with their members and robots, a pull-only robot for cluster nodes
// typically) and the images each keeps present. Reusable by any program with a connection.

import * as pulumi from "@pulumi/pulumi";
import type { RegistryConnection } from "./api-client";
import type { DeclaredProject, RobotCredentials } from "./declared-content";
import { ProjectMember } from "./project-member";
import { Preheat } from "./preheat";
import { ProxyProject } from "./proxy-project";
import { RegistryEndpoint, type RegistryEndpointType } from "./registry-endpoint";
import { projectAccess, RobotAccount } from "./robot-account";

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
      for (const member of declared.members) {
        const user = args.users?.[member.username];
        new ProjectMember(
          `${name}-proxy-${declared.name}-member-${member.username}`,
          { connection, project: project.name, username: member.username, role: member.role },
          { parent: this, dependsOn: user ? [project, user] : [project] },
        );
      }
      for (const robot of declared.robots) {
        const account = new RobotAccount(
          `${name}-proxy-${declared.name}-robot-${robot.name}`,
          {
            connection,
            name: robot.name,
            project: project.name,
            permissions: projectAccess(declared.name, robot.actions),
            description: robot.description,
            duration: robot.duration,
            secretVersion: robot.secretVersion,
          },
          { parent: this, dependsOn: [project] },
        );
        this.robots[`${declared.name}/${robot.name}`] = { username: account.fullName, password: account.robotSecret };
      }
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
