// Harbor's exporter metrics on /metrics: the figures the quota API, the statistics API and health
// give, under Harbor's names and labels; computed in a few grouped queries however many projects
// there are, and kept for a few seconds; left out (not stale, not failing the scrape) while the
// database cannot answer (statistics NaN); and not multiplied when the workers' metrics are added up.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { AggregatorRegistry, Counter, Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CACHE_MS, HarborMetrics } from "../../src/api/harbor-metrics.ts";
import type { ComponentHealth } from "../../src/health-check.ts";
import { createLogger } from "../../src/logger.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { startServerProcess, type ServerProcess } from "../server-process.ts";
import { basic, HarborClient } from "./harbor-client.ts";

/** The value of the series `name{labels}` (labels in any order), or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = new Map<string, string>();
    for (const label of (match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)) found.set(label[1] ?? "", label[2] ?? "");
    const wanted = Object.entries(labels);
    if (wanted.length === found.size && wanted.every(([k, v]) => found.get(k) === v)) {
      return Number(match[3]);
    }
  }
  return undefined;
}

function seriesOf(text: string, name: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe("Harbor's exporter metrics on a running registry", () => {
  let registry: TestRegistry;
  let api: HarborClient;

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
  });
  afterAll(async () => {
    await registry.stop();
  });

  it("report each project's quota, repositories, artifacts and members as the API does", async () => {
    await api.createProject("shop", true);
    await api.createProject("vault", false);
    const vault = (await api.get("/projects/vault")).json as { project_id: number };
    expect(
      (await api.call("PUT", `/quotas/${vault.project_id}`, { body: { hard: { storage: 10_000_000 } } })).status,
    ).toBe(200);
    await api.createUser("alice", "Alice-Passw0rd");
    await api.addMember("vault", "alice", 2);
    const client = new OciClient(registry.url);
    await client.pushImage("shop/web", "1", { layer: "a layer of the web image" });
    await client.pushImage("shop/api", "1", { layer: "a layer of the api image" });
    await client.pushImage("vault/secret", "1", { layer: "the vault's only layer" });

    const text = await (await fetch(`${registry.url}/metrics`, { headers: { Authorization: basic(ADMIN) } })).text();
    const quota = async (name: string) => {
      const project = (await api.get(`/projects/${name}`)).json as { project_id: number };
      return (await api.get(`/quotas/${project.project_id}`)).json as {
        hard: { storage: number };
        used: { storage: number };
      };
    };
    for (const name of ["shop", "vault"]) {
      const expected = await quota(name);
      expect(expected.used.storage).toBeGreaterThan(0);
      expect(sample(text, "harbor_project_quota_usage_byte", { project_name: name })).toBe(expected.used.storage);
      expect(sample(text, "harbor_project_quota_byte", { project_name: name })).toBe(expected.hard.storage);
    }
    expect(sample(text, "harbor_project_quota_byte", { project_name: "vault" })).toBe(10_000_000);
    expect(sample(text, "harbor_project_repo_total", { project_name: "shop", public: "true" })).toBe(2);
    expect(sample(text, "harbor_project_repo_total", { project_name: "vault", public: "false" })).toBe(1);
    expect(
      sample(text, "harbor_project_artifact_total", { project_name: "shop", public: "true", artifact_type: "IMAGE" }),
    ).toBe(2);
    expect(sample(text, "harbor_project_member_total", { project_name: "vault" })).toBe(
      ((await api.get("/projects/vault/members")).json as unknown[]).length,
    );
    expect(sample(text, "harbor_project_total", { public: "true" })).toBeGreaterThanOrEqual(1);

    // The exporter's `*_amount` are the statistics API's `*_count`.
    const statistics = (await api.get("/statistics")).json as Record<string, number>;
    for (const [metric, key] of [
      ["total_project_amount", "total_project_count"],
      ["public_project_amount", "public_project_count"],
      ["private_project_amount", "private_project_count"],
      ["total_repo_amount", "total_repo_count"],
      ["public_repo_amount", "public_repo_count"],
      ["private_repo_amount", "private_repo_count"],
      ["total_storage_consumption", "total_storage_consumption"],
    ] as const) {
      expect(statistics[key], key).toBeGreaterThan(0);
      expect(sample(text, `harbor_statistics_${metric}`), metric).toBe(statistics[key]);
    }
    expect(sample(text, "harbor_health")).toBe(1);
    expect(sample(text, "harbor_up", { component: "core" })).toBe(1);
    expect(sample(text, "harbor_up", { component: "storage" })).toBe(1);
    expect(seriesOf(text, "harbor_system_info")).toEqual([
      expect.stringMatching(
        /^harbor_system_info\{auth_mode="db_auth",harbor_version="airlock-[^"]+",self_registration="false"\} 1$/,
      ),
    ]);
    // Beside our own metrics.
    expect(seriesOf(text, "airlock_http_requests_total").length).toBeGreaterThan(0);
  });

  it("keep project names and sizes from anonymous scrapes and from users, not from a robot that lists projects", async () => {
    // "vault", the private project of the test above.
    const scrape = async (headers: Record<string, string>): Promise<string> =>
      (await fetch(`${registry.url}/metrics`, { headers })).text();
    const robot = await api.createRobot({
      name: "prometheus",
      level: "system",
      duration: -1,
      permissions: [{ kind: "system", namespace: "/", access: [{ resource: "project", action: "list" }] }],
    });
    const user = { username: "metrics-user", password: "Metrics1user" };
    await api.createUser(user.username, user.password);
    for (const text of [await scrape({}), await scrape({ Authorization: basic(user) })]) {
      expect(text).not.toContain("vault");
      expect(text).not.toContain("harbor_project_");
      expect(text).not.toContain("harbor_statistics_");
      // The rest is there.
      expect(sample(text, "harbor_health")).toBe(1);
      expect(seriesOf(text, "airlock_http_requests_total").length).toBeGreaterThan(0);
    }
    const allowed = await scrape({ Authorization: basic({ username: robot.name, password: robot.secret }) });
    expect(sample(allowed, "harbor_project_quota_byte", { project_name: "vault" })).toBe(10_000_000);
  });
});

describe("Harbor's exporter metrics, computed", () => {
  const PROJECTS = 300;
  let dir: string;
  let store: MetadataStore;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "airlock-harbor-metrics-"));
    store = await openSqliteStore(path.join(dir, "registry.db"));
    const owner = await store.users.create(
      { username: "owner", email: "", realname: "", comment: "", passwordHash: "x", sysadmin: false },
      new Date(),
    );
    for (let index = 0; index < PROJECTS; index++) {
      const name = `p${String(index).padStart(3, "0")}`;
      await store.projects.create(
        {
          name,
          ownerId: owner.id,
          metadata: { public: index % 2 === 0 ? "true" : "false" },
          storageLimit: 1_000 * index,
        },
        new Date(),
      );
      await store.blobs.create({ digest: `sha256:${name}`, size: index, parts: [], createdAt: new Date() });
      await store.blobs.link(`${name}/repo`, `sha256:${name}`);
    }
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The store, counting the calls the metrics make. */
  function counted(): { store: MetadataStore; calls: () => number } {
    let calls = 0;
    const count = <T extends object>(area: T): T =>
      new Proxy(area, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver) as unknown;
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            calls++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    const wrapped = {
      ...store,
      projects: count(store.projects),
      artifacts: count(store.artifacts),
      blobs: count(store.blobs),
    } as MetadataStore;
    return { store: wrapped, calls: () => calls };
  }

  const healthy = async (): Promise<ComponentHealth[]> => [{ name: "core", status: "healthy" }];
  const log = createLogger("info", new PassThrough());

  it("costs a few queries per computation whatever the number of projects, shared for CACHE_MS", async () => {
    const { store: countedStore, calls } = counted();
    let now = 1_000_000;
    const registry = new Registry();
    new HarborMetrics(registry, { store: countedStore, health: healthy, version: "test", log, now: () => now });

    const [first] = await Promise.all([registry.metrics(), registry.metrics(), registry.metrics()]);
    expect(calls()).toBe(4);
    expect(seriesOf(first, "harbor_project_quota_usage_byte")).toHaveLength(PROJECTS);
    expect(sample(first, "harbor_project_quota_usage_byte", { project_name: "p123" })).toBe(123);
    expect(sample(first, "harbor_project_quota_byte", { project_name: "p123" })).toBe(123_000);
    expect(sample(first, "harbor_project_total", { public: "true" })).toBe(PROJECTS / 2);
    expect(sample(first, "harbor_statistics_total_repo_amount")).toBe(PROJECTS);

    now += CACHE_MS - 1;
    await registry.metrics();
    expect(calls()).toBe(4);
    now += 1;
    await registry.metrics();
    expect(calls()).toBe(8);
  });

  it("leaves the project series out while the database fails, without failing the scrape", async () => {
    let failing = true;
    let now = 0;
    const failingStore = {
      ...store,
      projects: {
        ...store.projects,
        usage: async () => {
          if (failing) throw new Error("the metadata database is unavailable (unreachable (ECONNREFUSED))");
          return store.projects.usage();
        },
      },
    } as MetadataStore;
    const registry = new Registry();
    new HarborMetrics(registry, {
      store: failingStore,
      health: async () => [
        { name: "core", status: "healthy" },
        { name: "database", status: failing ? "unhealthy" : "healthy" },
      ],
      version: "test",
      log,
      now: () => now,
    });
    const down = await registry.metrics();
    expect(seriesOf(down, "harbor_project_quota_usage_byte")).toEqual([]);
    expect(sample(down, "harbor_statistics_total_project_amount")).toBeNaN();
    expect(sample(down, "harbor_health")).toBe(0);
    expect(sample(down, "harbor_up", { component: "database" })).toBe(0);

    failing = false;
    now += CACHE_MS;
    const up = await registry.metrics();
    expect(seriesOf(up, "harbor_project_quota_usage_byte")).toHaveLength(PROJECTS);
    expect(sample(up, "harbor_health")).toBe(1);
  });

  it("are not multiplied when several workers' metrics are added up, unlike per-process counters", async () => {
    const workers = [new Registry(), new Registry(), new Registry()];
    for (const [index, registry] of workers.entries()) {
      new HarborMetrics(registry, { store, health: healthy, version: "test", log });
      new Counter({ name: "airlock_test_requests_total", help: "per process", registers: [registry] }).inc(index + 1);
    }
    const aggregated = AggregatorRegistry.aggregate(await Promise.all(workers.map((r) => r.getMetricsAsJSON())));
    const text = await aggregated.metrics();
    expect(sample(text, "harbor_project_quota_usage_byte", { project_name: "p123" })).toBe(123);
    expect(sample(text, "harbor_project_total", { public: "false" })).toBe(PROJECTS / 2);
    expect(sample(text, "harbor_statistics_total_project_amount")).toBe(PROJECTS);
    expect(sample(text, "harbor_health")).toBe(1);
    expect(sample(text, "airlock_test_requests_total")).toBe(6);
  });
});

describe("Harbor's exporter metrics of a server with two worker processes", () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess(["workers: 2"]);
  }, 60_000);
  afterAll(async () => {
    await server.stop();
  });

  it("counts each project once, whichever worker answers, and labels per-worker figures", async () => {
    const api = new HarborClient(server.url);
    await api.createProject("shared", true);
    await new OciClient(server.url).pushImage("shared/app", "1", { layer: "one layer, counted once" });
    const project = (await api.get("/projects/shared")).json as { project_id: number };
    const used = ((await api.get(`/quotas/${project.project_id}`)).json as { used: { storage: number } }).used.storage;
    expect(used).toBeGreaterThan(0);
    // Several scrapes: each lands on one worker, which asks the primary for every worker's figures.
    for (let scrape = 0; scrape < 4; scrape++) {
      const text = await (
        await fetch(`${server.url}/metrics`, { headers: { Connection: "close", Authorization: basic(ADMIN) } })
      ).text();
      expect(sample(text, "airlock_cluster_workers")).toBe(2);
      expect(sample(text, "harbor_project_quota_usage_byte", { project_name: "shared" })).toBe(used);
      expect(sample(text, "harbor_project_repo_total", { project_name: "shared", public: "true" })).toBe(1);
      expect(sample(text, "harbor_statistics_total_project_amount")).toBe(
        ((await api.get("/statistics")).json as { total_project_count: number }).total_project_count,
      );
      expect(sample(text, "harbor_health")).toBe(1);
      for (const worker of ["1", "2"]) {
        expect(sample(text, "airlock_worker_heap_used_bytes", { worker })).toBeGreaterThan(0);
      }
    }
  });
});
