// The metrics Harbor's exporter publishes (goharbor/harbor, src/pkg/exporter: the project,
// statistics, health and system-info collectors), with Harbor's names and labels, where this
// registry has the data: dashboards and alerts written for Harbor read them unchanged. Left out:
// `harbor_artifact_pulled` (pulls are not counted yet), the job service's and the vulnerability
// collectors' (no scanner yet).
//
// The figures come from the metadata database, so they are the same in every worker process and
// every replica: aggregated across workers with "max" (never summed; health with "min"), and
// across replicas the alerts take `max by (project_name)`. They are computed when scraped, in a
// few grouped queries whatever the number of projects, and kept for CACHE_MS so that scrapes
// close together (every worker's, several Prometheus servers') cost one computation; scrapes
// arriving during it share it. When the database cannot answer, the project series are left out
// of that scrape and the statistics are NaN (health says why), rather than repeated stale.

import { Gauge, type Aggregator, type Registry } from "../http/prometheus.ts";
import type { ComponentHealth } from "../health-check.ts";
import type { Logger } from "../logger.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { artifactTypeOf } from "./artifact-types.ts";
import { UNPAGED_LIMIT } from "./harbor-http.ts";

/**
 * The families that name projects or size the registry, which anonymous scrapes do not get:
 * Harbor serves them on its exporter's own port; here /metrics shares the registry's port.
 * `airlock_project_` is ours (scan-metrics.ts: vulnerabilities per project).
 */
export const RESTRICTED_METRICS = ["harbor_project_", "harbor_statistics_", "airlock_project_"] as const;

/** How long one computation serves scrapes. */
export const CACHE_MS = 10_000;

export interface HarborMetricsSources {
  readonly store: Pick<MetadataStore, "projects" | "artifacts" | "blobs">;
  /** Every component of /api/v2.0/health, as it answers. */
  readonly health: () => Promise<ComponentHealth[]>;
  /** Our version, reported as Harbor's `harbor_version` is in systeminfo (`airlock-<version>`). */
  readonly version: string;
  readonly log: Logger;
  /** Milliseconds now (tests move it). */
  readonly now?: () => number;
}

interface ProjectFigures {
  readonly name: string;
  readonly public: "true" | "false";
  /** Bytes; -1 for no limit, as Harbor reports it. */
  readonly quota: number;
  readonly used: number;
  readonly repositories: number;
  readonly members: number;
  /** Artifacts by Harbor's artifact type (IMAGE, CHART…). */
  readonly artifacts: ReadonlyMap<string, number>;
}

interface Snapshot {
  /** Undefined when the database could not answer. */
  readonly projects: readonly ProjectFigures[] | undefined;
  readonly totalStorage: number | undefined;
  readonly health: readonly ComponentHealth[];
}

type Fill<L extends string> = (gauge: Gauge<L>, snapshot: Snapshot) => void;

export class HarborMetrics {
  readonly #sources: HarborMetricsSources;
  readonly #now: () => number;
  #cached: { at: number; snapshot: Promise<Snapshot> } | undefined;

  constructor(registry: Registry, sources: HarborMetricsSources) {
    this.#sources = sources;
    this.#now = sources.now ?? Date.now;
    const snapshot = (): Promise<Snapshot> => this.snapshot();
    const gauge = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      aggregator: Aggregator,
      fill: Fill<L>,
    ): void => {
      new Gauge<L>({
        name,
        help,
        labelNames,
        aggregator,
        registers: [registry],
        async collect() {
          const current = await snapshot();
          // Series of projects deleted since the last scrape must go.
          this.reset();
          fill(this, current);
        },
      });
    };
    const perProject = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      set: (gauge: Gauge<L>, project: ProjectFigures) => void,
    ): void =>
      gauge(name, help, labelNames, "max", (g, s) => {
        for (const project of s.projects ?? []) set(g, project);
      });

    perProject("harbor_project_quota_usage_byte", "The used resource of a project", ["project_name"], (g, p) =>
      g.set({ project_name: p.name }, p.used),
    );
    perProject("harbor_project_quota_byte", "The quota of a project (-1: none)", ["project_name"], (g, p) =>
      g.set({ project_name: p.name }, p.quota),
    );
    perProject("harbor_project_repo_total", "Total project repos number", ["project_name", "public"], (g, p) =>
      g.set({ project_name: p.name, public: p.public }, p.repositories),
    );
    perProject("harbor_project_member_total", "Total members number of a project", ["project_name"], (g, p) =>
      g.set({ project_name: p.name }, p.members),
    );
    perProject(
      "harbor_project_artifact_total",
      "Total project artifacts number",
      ["project_name", "public", "artifact_type"],
      (g, p) => {
        for (const [type, count] of p.artifacts) {
          g.set({ project_name: p.name, public: p.public, artifact_type: type }, count);
        }
      },
    );
    gauge("harbor_project_total", "Total projects number", ["public"], "max", (g, s) => {
      if (!s.projects) return;
      for (const visibility of ["true", "false"] as const) {
        g.set({ public: visibility }, s.projects.filter((p) => p.public === visibility).length);
      }
    });

    // A gauge without labels always has its one series: NaN says "unknown" rather than 0.
    const statistic = (name: string, help: string, value: (s: Snapshot) => number | undefined): void =>
      gauge(`harbor_statistics_${name}`, help, [], "max", (g, s) => g.set(value(s) ?? Number.NaN));
    const projects = (s: Snapshot, visibility?: "true" | "false") =>
      s.projects?.filter((p) => visibility === undefined || p.public === visibility);
    const repositories = (s: Snapshot, visibility?: "true" | "false") =>
      projects(s, visibility)?.reduce((sum, p) => sum + p.repositories, 0);
    statistic("total_project_amount", "Total amount of projects", (s) => projects(s)?.length);
    statistic("public_project_amount", "Amount of public projects", (s) => projects(s, "true")?.length);
    statistic("private_project_amount", "Amount of private projects", (s) => projects(s, "false")?.length);
    statistic("total_repo_amount", "Total amount of repositories", (s) => repositories(s));
    statistic("public_repo_amount", "Amount of public repositories", (s) => repositories(s, "true"));
    statistic("private_repo_amount", "Amount of private repositories", (s) => repositories(s, "false"));
    statistic("total_storage_consumption", "Total storage used", (s) => s.totalStorage);

    // Any worker seeing a component down says so.
    gauge("harbor_health", "Running status of Harbor", [], "min", (g, s) =>
      g.set(s.health.every((c) => c.status === "healthy") ? 1 : 0),
    );
    gauge("harbor_up", "Running status of harbor component", ["component"], "min", (g, s) => {
      for (const component of s.health) g.set({ component: component.name }, component.status === "healthy" ? 1 : 0);
    });
    gauge(
      "harbor_system_info",
      "Information of Harbor system",
      ["auth_mode", "harbor_version", "self_registration"],
      "max",
      (g) =>
        g.set({ auth_mode: "db_auth", harbor_version: `airlock-${sources.version}`, self_registration: "false" }, 1),
    );
  }

  /** The figures, computed at most once per CACHE_MS; callers during a computation share it. */
  snapshot(): Promise<Snapshot> {
    const now = this.#now();
    if (this.#cached && now - this.#cached.at < CACHE_MS) return this.#cached.snapshot;
    const snapshot = this.#compute();
    this.#cached = { at: now, snapshot };
    return snapshot;
  }

  async #compute(): Promise<Snapshot> {
    const { store, log } = this.#sources;
    const [health, figures] = await Promise.all([
      this.#sources.health().catch((err: unknown): ComponentHealth[] => {
        log.warn({ err: { message: (err as Error).message } }, "health left out of this scrape");
        return [{ name: "core", status: "unhealthy", error: "health checks failed" }];
      }),
      (async () => {
        const [listed, usage, artifacts, totalStorage] = await Promise.all([
          store.projects.list({}, { offset: 0, limit: UNPAGED_LIMIT }),
          store.projects.usage(),
          store.artifacts.artifactCounts(),
          store.blobs.totalSize(),
        ]);
        return { projects: combine(listed.items, usage, artifacts), totalStorage };
      })().catch((err: unknown) => {
        log.warn({ err: { message: (err as Error).message } }, "project metrics left out of this scrape");
        return { projects: undefined, totalStorage: undefined };
      }),
    ]);
    return { ...figures, health };
  }
}

function combine(
  projects: ReadonlyArray<{ name: string; metadata: Readonly<Record<string, string>>; storageLimit: number }>,
  usage: ReadonlyArray<{ name: string; storageUsed: number; repositories: number; members: number }>,
  artifacts: ReadonlyArray<{ project: string; mediaType: string; count: number }>,
): ProjectFigures[] {
  const usageOf = new Map(usage.map((u) => [u.name, u]));
  const typesOf = new Map<string, Map<string, number>>();
  for (const { project, mediaType, count } of artifacts) {
    const types = typesOf.get(project) ?? new Map<string, number>();
    const type = artifactTypeOf(mediaType);
    types.set(type, (types.get(type) ?? 0) + count);
    typesOf.set(project, types);
  }
  return projects.map((project) => {
    const used = usageOf.get(project.name);
    return {
      name: project.name,
      public: project.metadata["public"] === "true" ? "true" : "false",
      quota: project.storageLimit,
      used: used?.storageUsed ?? 0,
      repositories: used?.repositories ?? 0,
      members: used?.members ?? 0,
      artifacts: typesOf.get(project.name) ?? new Map(),
    };
  });
}
