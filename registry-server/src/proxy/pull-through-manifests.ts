// Manifests of proxy-cache projects. A pull by tag asks the upstream for the tag's digest with a
// HEAD (which registries such as Docker Hub do not count against pull limits) and serves the
// cached copy when the digest matches; otherwise the manifest is fetched by digest, stored byte
// for byte and tagged. A pull by digest never touches the upstream once cached. When the upstream
// fails in any way, the cached copy is served. Concurrent pulls of one tag share one check.
//
// An index is stored whole, every platform listed, even when the client asked for one platform;
// the child manifests are fetched when they are first pulled.

import type { ParsedDigest } from "../content/digest.ts";
import { digestOf, parseDigest } from "../content/digest.ts";
import type { ManifestService, Reference, StoredManifest } from "../content/manifest-service.ts";
import { MANIFEST_KINDS } from "../content/media-types.ts";
import { RegistryError } from "../http/errors.ts";
import type { Logger } from "../logger.ts";
import { UpstreamError, type UpstreamManifest } from "../upstream/upstream-registry.ts";
import type { ProxyMetrics } from "./proxy-metrics.ts";
import type { ProxyTarget } from "./proxy-projects.ts";
import { SingleFlight } from "../single-flight.ts";
import { failureOf, uncachedFailure } from "./upstream-failure.ts";

/** Every manifest type we store, so that the upstream sends the real thing (an index stays one). */
const ACCEPT = Object.keys(MANIFEST_KINDS);

export class PullThroughManifests {
  private readonly manifests: ManifestService;
  private readonly metrics: ProxyMetrics;
  private readonly log: Logger;
  private readonly flights = new SingleFlight<StoredManifest>();

  constructor(deps: { manifests: ManifestService; metrics: ProxyMetrics; log: Logger }) {
    this.manifests = deps.manifests;
    this.metrics = deps.metrics;
    this.log = deps.log;
  }

  async get(target: ProxyTarget, repository: string, reference: Reference): Promise<StoredManifest> {
    if (reference.kind === "digest") return this.byDigest(target, repository, reference.digest);
    return this.flights.run(`${repository}:${reference.tag}`, () => this.byTag(target, repository, reference.tag))
      .promise;
  }

  /** The cached manifest of a digest, else the upstream's. */
  async byDigest(target: ProxyTarget, repository: string, digest: ParsedDigest): Promise<StoredManifest> {
    const name = target.upstream.endpoint.name;
    const cached = await this.cached(repository, { kind: "digest", digest });
    if (cached) {
      this.metrics.hit(target.upstream.endpoint, "manifest");
      return cached;
    }
    return this.flights.run(`${repository}@${digest.text}`, async () => {
      this.metrics.miss(target.upstream.endpoint, "manifest");
      const fetched = await this.fetch(target, digest).catch((err: unknown) => {
        throw uncachedFailure(name, `manifest ${digest.text}`, err);
      });
      if (!fetched) throw new RegistryError("MANIFEST_UNKNOWN", `manifest unknown to upstream registry ${name}`);
      return this.store(repository, digest, fetched);
    }).promise;
  }

  private async byTag(target: ProxyTarget, repository: string, tag: string): Promise<StoredManifest> {
    const name = target.upstream.endpoint.name;
    const cached = await this.cached(repository, { kind: "tag", tag });
    let head;
    try {
      head = await this.metrics.request(
        target.upstream.endpoint,
        "manifest_head",
        () => target.upstream.headManifest(target.upstreamRepository, tag, ACCEPT),
        failureOf,
      );
    } catch (err) {
      return this.staleOr(target, repository, cached, `${repository}:${tag}`, err);
    }
    if (!head) {
      // The upstream answered that the tag is gone: so is our copy of the tag (as in Harbor); the
      // manifest itself stays, for pulls by digest, until retention removes it.
      if (cached) await this.manifests.untag(repository, tag);
      throw new RegistryError("MANIFEST_UNKNOWN", `${repository}:${tag} is unknown to upstream registry ${name}`);
    }
    if (cached?.record.digest === head.digest) {
      this.metrics.hit(target.upstream.endpoint, "manifest");
      return cached;
    }
    this.metrics.miss(target.upstream.endpoint, "manifest");
    const digest = parseDigest(head.digest);
    if (typeof digest === "string") {
      return this.staleOr(target, repository, cached, `${repository}:${tag}`, protocolError(name, "digest"));
    }
    let fetched;
    try {
      fetched = await this.fetch(target, digest);
    } catch (err) {
      return this.staleOr(target, repository, cached, `${repository}:${tag}`, err);
    }
    if (!fetched)
      throw new RegistryError("MANIFEST_UNKNOWN", `${repository}:${tag} is unknown to upstream registry ${name}`);
    return this.store(repository, digest, fetched, tag);
  }

  /** GET by digest, through the project's connection limit; the bytes checked against it. */
  private async fetch(target: ProxyTarget, digest: ParsedDigest): Promise<UpstreamManifest | undefined> {
    const name = target.upstream.endpoint.name;
    const release = await target.connections.acquire();
    try {
      return await this.metrics.request(
        target.upstream.endpoint,
        "manifest_get",
        async () => {
          const fetched = await target.upstream.getManifest(target.upstreamRepository, digest.text, ACCEPT);
          // Docker digests are preserved only if the bytes are: check before storing anything.
          if (fetched && digestOf(digest.algorithm, fetched.content) !== digest.text) {
            throw protocolError(name, `manifest for ${digest.text}`);
          }
          return fetched;
        },
        failureOf,
      );
    } finally {
      release();
    }
  }

  private async store(
    repository: string,
    digest: ParsedDigest,
    fetched: UpstreamManifest,
    tag?: string,
  ): Promise<StoredManifest> {
    try {
      return await this.manifests.storeFetched(repository, digest.text, fetched.content, fetched.mediaType, tag);
    } catch (err) {
      if (!(err instanceof RegistryError) || err.code !== "MANIFEST_INVALID") throw err;
      throw new RegistryError("UNAVAILABLE", `the upstream's manifest cannot be served: ${err.message}`);
    }
  }

  private staleOr(
    target: ProxyTarget,
    repository: string,
    cached: StoredManifest | undefined,
    what: string,
    err: unknown,
  ): StoredManifest {
    const name = target.upstream.endpoint.name;
    const reason = failureOf(err);
    if (!cached) {
      this.log.warn({ upstream: name, repository: what, reason }, "upstream failed and the manifest is not cached");
      throw uncachedFailure(name, `manifest ${what}`, err);
    }
    this.metrics.stale(target.upstream.endpoint, "manifest");
    this.log.warn({ upstream: name, repository: what, reason }, "upstream failed: serving the cached manifest");
    return cached;
  }

  private async cached(repository: string, reference: Reference): Promise<StoredManifest | undefined> {
    try {
      return await this.manifests.get(repository, reference);
    } catch (err) {
      if (err instanceof RegistryError && (err.code === "MANIFEST_UNKNOWN" || err.code === "NAME_UNKNOWN")) {
        return undefined;
      }
      throw err;
    }
  }
}

function protocolError(upstream: string, what: string): UpstreamError {
  return new UpstreamError("protocol", `upstream registry ${upstream} sent an invalid ${what}`);
}
