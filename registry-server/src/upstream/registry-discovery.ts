// What a replication source needs beyond the read adapter: which repositories there are, and the
// referrers of a manifest (referrers.ts). Registry types list repositories three ways, chosen by
// the factory: `GET /v2/_catalog` with `Link` pages (Distribution, Quay, GCR, ACR); Harbor's
// project and repository API (its catalog is for system administrators only); and for registries
// with no catalog at all (Docker Hub, GHCR, ECR) the names the filter spells out, or else its
// literal prefix as a guess that the caller's exact filtering keeps or drops. A catalog that
// answers 404 is treated as absent too.

import { discard, readBody } from "./http-transport.ts";
import type { HarborApi } from "./harbor-api.ts";
import { literalPrefix, namedRepositories } from "./name-pattern.ts";
import { listReferrers, type UpstreamReferrer } from "./referrers.ts";
import { failureOf, header, v2Url, type RegistryTarget } from "./registry-requests.ts";
import { nextPage } from "./tag-pagination.ts";
import { describeRequest, transportFailure } from "./upstream-failures.ts";
import { UpstreamError, type UpstreamRegistry } from "./upstream-registry.ts";

export type RepositoryListing = "catalog" | "harbor" | "named";

const CATALOG_PAGE = 1_000;
const MAX_PAGES = 10_000;
const MAX_PAGE_BYTES = 16 * 1024 * 1024;

export interface RegistryDiscovery {
  /** Repositories that may match `pattern` (the caller filters again), at most `limit`. */
  listRepositories(pattern: string, limit: number, signal?: AbortSignal): Promise<string[]>;
  /** Referrers of a manifest; [] when there are none. */
  listReferrers(repository: string, digest: string, signal?: AbortSignal): Promise<UpstreamReferrer[]>;
}

export interface HttpRegistryDiscoveryOptions {
  readonly target: RegistryTarget;
  readonly reader: UpstreamRegistry;
  readonly listing: RepositoryListing;
  readonly repositoryName?: (repository: string) => string;
  /** For the "harbor" listing. */
  readonly harbor?: HarborApi;
  /** Names per `_catalog` page (tests use small pages to exercise `Link`). */
  readonly catalogPageSize?: number;
}

export class HttpRegistryDiscovery implements RegistryDiscovery {
  private readonly options: HttpRegistryDiscoveryOptions;

  constructor(options: HttpRegistryDiscoveryOptions) {
    this.options = options;
  }

  async listRepositories(pattern: string, limit: number, signal?: AbortSignal): Promise<string[]> {
    const { listing, harbor } = this.options;
    if (listing === "harbor" && harbor) return this.fromHarbor(harbor, pattern, limit, signal);
    if (listing === "catalog") {
      const listed = await this.fromCatalog(literalPrefix(pattern), limit, signal);
      if (listed) return listed;
    }
    return this.named(pattern, limit);
  }

  listReferrers(repository: string, digest: string, signal?: AbortSignal): Promise<UpstreamReferrer[]> {
    const upstream = this.options.repositoryName ? this.options.repositoryName(repository) : repository;
    return listReferrers(this.options.target, this.options.reader, { name: repository, upstream }, digest, signal);
  }

  /** Every catalog page, keeping the names with the pattern's prefix; undefined without a catalog. */
  private async fromCatalog(prefix: string, limit: number, signal?: AbortSignal): Promise<string[] | undefined> {
    const names: string[] = [];
    const size = this.options.catalogPageSize ?? CATALOG_PAGE;
    let url: URL | undefined = v2Url(this.options.target, `_catalog?n=${size}`);
    for (let page = 0; url && names.length < limit && page < MAX_PAGES; page++) {
      const where = describeRequest("GET", url);
      const response = await this.options.target.requester.send({
        method: "GET",
        url,
        scope: "registry:catalog:*",
        headers: { Accept: "application/json" },
        ...(signal && { signal }),
      });
      if (response.statusCode === 404 && page === 0) {
        await discard(response);
        return undefined;
      }
      if (response.statusCode !== 200) throw await failureOf(response, where);
      let body: Buffer | "too-large";
      try {
        body = await readBody(response.body, MAX_PAGE_BYTES);
      } catch (err) {
        throw transportFailure(err, where, signal);
      }
      if (body === "too-large") throw new UpstreamError("protocol", `${where}: catalog page too large`);
      names.push(...parseCatalog(body, where).filter((name) => name.startsWith(prefix)));
      url = nextPage(header(response, "link"), url, where);
    }
    return names.slice(0, limit);
  }

  /** Harbor: the projects the pattern names (or all), then each one's repositories. */
  private async fromHarbor(harbor: HarborApi, pattern: string, limit: number, signal?: AbortSignal): Promise<string[]> {
    const projectPattern = pattern.split("/")[0] ?? "";
    const projects = namedRepositories(projectPattern) ?? (await harbor.projectNames(limit, signal));
    const prefix = literalPrefix(pattern);
    const names: string[] = [];
    for (const project of projects) {
      if (names.length >= limit) break;
      const repositories = await harbor.repositories(project, limit - names.length, signal);
      names.push(...repositories.filter((name) => name.startsWith(prefix)));
    }
    return names.slice(0, limit);
  }

  private named(pattern: string, limit: number): string[] {
    const named = namedRepositories(pattern);
    if (named) return named.slice(0, limit);
    const prefix = literalPrefix(pattern).replace(/\/+$/, "");
    if (prefix === "") {
      throw new UpstreamError(
        "protocol",
        `${this.options.reader.endpoint.name} cannot list its repositories: a name filter must name them`,
      );
    }
    return [prefix];
  }
}

function parseCatalog(body: Buffer, where: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw new UpstreamError("protocol", `${where}: catalog is not JSON`);
  }
  const repositories = (json as { repositories?: unknown } | null)?.repositories;
  if (repositories === null || repositories === undefined) return [];
  if (!Array.isArray(repositories) || !repositories.every((r): r is string => typeof r === "string")) {
    throw new UpstreamError("protocol", `${where}: malformed catalog`);
  }
  return repositories;
}
