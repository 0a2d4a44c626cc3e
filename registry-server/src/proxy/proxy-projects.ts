// Which repositories belong to a proxy-cache project (a project with a `registry_id`), and the
// upstream each one is fetched from. Adapters are built once per endpoint and rebuilt when the
// endpoint changes (a new URL or rotated credentials); each project's limits follow its metadata.

import { repositoryProject } from "../auth/access-scope.ts";
import { RegistryError } from "../http/errors.ts";
import type { ProjectMetadataArea, ProjectRecord } from "../metadata/identity-store.ts";
import type { UpstreamEndpoint, UpstreamFactory, UpstreamRegistry } from "../upstream/upstream-registry.ts";
import { Bandwidth, ConnectionLimit, parseLimit } from "./upstream-limits.ts";

/** The registry endpoint with this id, its secret decrypted; undefined when there is none. */
export type EndpointLookup = (registryId: number) => Promise<UpstreamEndpoint | undefined>;

export interface ProxyTarget {
  readonly project: ProjectRecord;
  readonly upstream: UpstreamRegistry;
  /** The repository's name upstream: the local name without the project (`library/nginx`). */
  readonly upstreamRepository: string;
  readonly connections: ConnectionLimit;
  readonly bandwidth: Bandwidth;
}

interface CachedAdapter {
  readonly fingerprint: string;
  readonly upstream: UpstreamRegistry;
}

interface ProjectLimits {
  readonly connections: ConnectionLimit;
  readonly bandwidth: Bandwidth;
}

export class ProxyProjects {
  private readonly projects: ProjectMetadataArea;
  private readonly endpoints: EndpointLookup;
  private readonly createUpstream: UpstreamFactory;
  private readonly adapters = new Map<number, CachedAdapter>();
  private readonly limits = new Map<number, ProjectLimits>();

  constructor(deps: { projects: ProjectMetadataArea; endpoints: EndpointLookup; createUpstream: UpstreamFactory }) {
    this.projects = deps.projects;
    this.endpoints = deps.endpoints;
    this.createUpstream = deps.createUpstream;
  }

  /** The proxy target of a repository, or undefined when its project is not a proxy cache. */
  async target(repository: string): Promise<ProxyTarget | undefined> {
    const parts = repositoryProject(repository);
    if (!parts) return undefined;
    const project = await this.projects.getByName(parts.project);
    if (project?.registryId === undefined) return undefined;
    const endpoint = await this.endpoints(project.registryId);
    if (!endpoint) {
      throw new RegistryError(
        "UNAVAILABLE",
        `proxy-cache project ${project.name} refers to registry endpoint ${project.registryId}, which does not exist`,
      );
    }
    return {
      project,
      upstream: this.adapterFor(endpoint),
      upstreamRepository: parts.repository,
      ...this.limitsFor(project),
    };
  }

  /** Whether the repository's project is a proxy cache (which takes no pushes). */
  async isProxied(repository: string): Promise<boolean> {
    const parts = repositoryProject(repository);
    if (!parts) return false;
    return (await this.projects.getByName(parts.project))?.registryId !== undefined;
  }

  async close(): Promise<void> {
    const adapters = [...this.adapters.values()];
    this.adapters.clear();
    await Promise.allSettled(adapters.map((a) => a.upstream.close()));
  }

  private adapterFor(endpoint: UpstreamEndpoint): UpstreamRegistry {
    const fingerprint = JSON.stringify(endpoint);
    const cached = this.adapters.get(endpoint.id);
    if (cached?.fingerprint === fingerprint) return cached.upstream;
    const upstream = this.createUpstream(endpoint);
    this.adapters.set(endpoint.id, { fingerprint, upstream });
    // The old adapter may still serve requests in flight: let its pools drain on their own.
    if (cached) setTimeout(() => void cached.upstream.close(), 60_000).unref();
    return upstream;
  }

  private limitsFor(project: ProjectRecord): ProjectLimits {
    const connections = parseLimit(project.metadata["max_upstream_conn"]);
    const speed = parseLimit(project.metadata["proxy_speed_kb"]);
    let limits = this.limits.get(project.id);
    if (!limits) {
      limits = { connections: new ConnectionLimit(connections), bandwidth: new Bandwidth(speed) };
      this.limits.set(project.id, limits);
    } else {
      limits.connections.limit = connections;
      limits.bandwidth.setKilobitsPerSecond(speed);
    }
    return limits;
  }
}
