// Builds the proxy cache from the registry's parts: the pull-through content source the /v2
// routes read through, the preheat job, and the transparent mirror's path rewrite. One place, so
// that the composition root stays a list of parts.

import type { BlobStore } from "../content/blob-store.ts";
import type { ContentSource } from "../content/content-source.ts";
import type { ManifestService } from "../content/manifest-service.ts";
import type { PathRewrite } from "../http/app.ts";
import type { Logger } from "../logger.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { UpstreamFactory } from "../upstream/upstream-registry.ts";
import type { Registry } from "../http/prometheus.ts";
import { MirrorRouting, type MirrorSettings } from "./mirror-routing.ts";
import type { JobHandler } from "../jobs/job-service.ts";
import { PreheatFetcher } from "./preheat.ts";
import { CacheStatsRecorder } from "./cache-stats-recorder.ts";
import { ProxyMetrics } from "./proxy-metrics.ts";
import { ProxyProjects, type EndpointLookup } from "./proxy-projects.ts";
import { PullThroughBlobs } from "./pull-through-blobs.ts";
import { PullThroughCache } from "./pull-through-cache.ts";
import { PullThroughManifests } from "./pull-through-manifests.ts";

export interface ProxyCache {
  /** What the /v2 routes read through: proxy-cache projects via their upstream, the rest locally. */
  readonly content: ContentSource;
  /** The preheat job, for the job system to run. */
  readonly preheatJob: JobHandler;
  /** The transparent mirror's rewrite; undefined when no mirror rule is configured. */
  readonly rewrite: PathRewrite | undefined;
  /** Writes this process's pending statistics, so that a read of the totals includes them. */
  flushStats(): Promise<void>;
  close(): Promise<void>;
}

export function createProxyCache(deps: {
  metadata: MetadataStore;
  manifests: ManifestService;
  blobs: BlobStore;
  local: ContentSource;
  endpoints: EndpointLookup;
  factory: UpstreamFactory;
  mirror: MirrorSettings;
  metricsRegistry: Registry;
  /** How often the statistics per endpoint are written to the database. */
  statsFlushIntervalMs: number;
  log: Logger;
}): ProxyCache {
  const log = deps.log.child({ component: "proxy-cache" });
  const stats = new CacheStatsRecorder(deps.metadata, deps.statsFlushIntervalMs, log);
  stats.start();
  const metrics = new ProxyMetrics(deps.metricsRegistry, stats);
  const projects = new ProxyProjects({
    projects: deps.metadata.projects,
    endpoints: deps.endpoints,
    createUpstream: deps.factory,
  });
  const manifests = new PullThroughManifests({ manifests: deps.manifests, metrics, log });
  const blobs = new PullThroughBlobs({ blobs: deps.blobs, metrics, log });
  const content = new PullThroughCache({
    local: deps.local,
    projects,
    manifestService: deps.manifests,
    manifests,
    blobs,
  });
  const preheatJob = new PreheatFetcher({ projects, manifests, blobs, log, pins: deps.metadata.lifecycle }).job();
  const mirror = new MirrorRouting(
    deps.mirror,
    async (name) => (await deps.metadata.projects.getByName(name)) !== undefined,
  );
  return {
    content,
    preheatJob,
    rewrite: mirror.enabled ? (method, path, url, host) => mirror.rewrite(method, path, url, host) : undefined,
    flushStats: () => stats.flush(),
    close: async () => {
      // Transfers in flight get a moment, then are cut; the metadata store closes only after
      // this. (Preheat jobs stop with the job system, which the composition root stops first.)
      await blobs.close(5_000);
      await projects.close();
      await stats.stop();
    },
  };
}
