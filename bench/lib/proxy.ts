// The proxy-cache phases. Airlock gets, through the Harbor API, a registry endpoint of type
// docker-registry pointing at the benchmark's Distribution 3 instance and a proxy-cache project
// on it; the anchors are Distribution 3 and Distribution 2.8 as pull-through caches
// (`proxy.remoteurl`) of the same instance. Every proxy is measured as the direct blob pulls are
// (curl, digest verified or bytes dropped, alone and 8 at once, medians over runs), one at a time:
//  - cache miss: the first pull of content the proxy has never seen (fresh digests each run,
//    pushed into the upstream beforehand); "8 at once" is 8 clients asking together for one
//    uncached blob, as when a rollout starts on 8 nodes;
//  - cache hit: pulls of a blob the proxy already holds, also set beside a local pull from the
//    same server (the issue asks for a hit within 10% of it);
//  - manifest GET by tag under wrk, which makes the proxy check the tag upstream with a HEAD: with
//    16 connections as the direct manifest phase, then with one (no pulls overlap, so every one
//    waits for its own HEAD).

import { existsSync } from "node:fs";
import * as path from "node:path";
import { expectStatus, send, type Target } from "./http.ts";
import type { LargeBlob } from "./large-pushes.ts";
import { PULL_MODES, type PullMedians, type PullMode } from "./large-pulls.ts";
import { curlGet, wrk, type LoadResult } from "./load.ts";
import { OCI_MANIFEST, pushPostPut } from "./oci.ts";
import { flushDisks, type PhaseContext } from "./phase.ts";
import { format, median, ratio, times, type Column, type Row, type Values } from "./report.ts";
import type { RunningServer } from "./servers.ts";
import { atLeastAnchor, TARGETS } from "./targets.ts";

/** Airlock's proxy-cache project, and the endpoint it pulls through (also the metrics label). */
export const PROXY_PROJECT = "bench-proxy";
const ENDPOINT_NAME = "bench-distribution";
const HIT_REPO = "bench/proxy-hit";
const MISS_REPO = "bench/proxy-miss";
/** How long Distribution's proxy may take to store a blob after serving it. */
const STORE_WAIT_MS = 120_000;

/** One pull-through cache under test: Airlock's project, or a Distribution in proxy mode. */
export interface ProxyUnderTest {
  key: Column;
  label: string;
  kind: "airlock" | "distribution";
  /** The server, or why it could not be started (its cells then read n/a). */
  server: RunningServer | { failure: string };
}

export interface ProxyPhaseInput {
  /** Airlock's proxy first, then the Distributions'. */
  proxies: ProxyUnderTest[];
  /** The benchmark's Distribution 3 instance: the upstream of every proxy. */
  upstream: RunningServer;
  large: LargeBlob;
  /** An image manifest already in the upstream, also measured by the direct manifest phase. */
  manifestImage: { repo: string; tag: string; manifest: Buffer };
  /** The direct figures of the same run, per server column. */
  direct: { pulls: PullMedians; manifest: Map<Column, number> };
  ctx: PhaseContext;
}

export interface ProxyPhaseResult {
  rows: Row[];
  /** The proxies' figures beside the direct ones, with the hit target. */
  section: { title: string; lines: string[] };
  details: string[];
  notes: string[];
}

const JSON_HEADERS = { "Content-Type": "application/json" };

/** The Harbor API calls an administrator makes: a registry endpoint, then a proxy-cache project. */
export async function createProxyProject(airlock: Target, upstreamOrigin: string): Promise<number> {
  const endpoint = {
    name: ENDPOINT_NAME,
    type: "docker-registry",
    url: upstreamOrigin,
    insecure: false,
    description: "the benchmark's Distribution 3 instance (no authentication, loopback)",
  };
  const made = expectStatus(
    await send(airlock, "POST", "/api/v2.0/registries", {
      body: Buffer.from(JSON.stringify(endpoint)),
      headers: JSON_HEADERS,
    }),
    201,
    "POST /api/v2.0/registries",
  );
  const id = Number(/\/registries\/(\d+)$/.exec(made.headers.location ?? "")?.[1]);
  if (!Number.isSafeInteger(id)) throw new Error(`POST /api/v2.0/registries: Location ${made.headers.location}`);
  const project = { project_name: PROXY_PROJECT, registry_id: id, metadata: { public: "false" } };
  expectStatus(
    await send(airlock, "POST", "/api/v2.0/projects", {
      body: Buffer.from(JSON.stringify(project)),
      headers: JSON_HEADERS,
    }),
    201,
    "POST /api/v2.0/projects",
  );
  return id;
}

/**
 * Airlock's count of upstream requests of one kind (`blob_get`, `manifest_head`), from /metrics,
 * which with several workers adds up every worker's counters (cluster/cluster-metrics.ts).
 */
async function upstreamRequests(airlock: Target, operation: string): Promise<number> {
  const text = expectStatus(await send(airlock, "GET", "/metrics"), 200, "GET /metrics").body.toString("utf8");
  const line = text
    .split("\n")
    .find(
      (l) =>
        l.startsWith("airlock_proxy_upstream_requests_total{") &&
        l.includes(`upstream="${ENDPOINT_NAME}"`) &&
        l.includes(`operation="${operation}"`),
    );
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

type Samples = Record<PullMode, Map<Column, number[]>>;

export async function runProxyPhases(input: ProxyPhaseInput): Promise<ProxyPhaseResult> {
  const { ctx, large } = input;
  const { config, progress } = ctx;
  const blobBytes = large.blob.length;
  const blobMiB = config.blobMiB;
  const running = input.proxies.filter(
    (p): p is ProxyUnderTest & { server: RunningServer } => !("failure" in p.server),
  );
  const airlockProxy = running.find((p) => p.kind === "airlock");
  if (!airlockProxy) throw new Error("the proxy phases need Airlock");
  const airlock = airlockProxy.server.target;
  /** The repository's path on a proxy: Airlock's carries the project, Distribution's is the upstream's. */
  const proxied = (p: ProxyUnderTest, repo: string): string =>
    p.kind === "airlock" ? `${PROXY_PROJECT}/${repo}` : repo;
  const details: string[] = [];
  const notes: string[] = [];

  // --- Set-up: the proxy project, and the content in the upstream ------------------------------
  const endpointId = await createProxyProject(airlock, input.upstream.target.origin);
  progress(
    `proxy set-up: Airlock endpoint ${endpointId} (docker-registry, ${input.upstream.target.origin}), ` +
      `proxy-cache project ${PROXY_PROJECT}`,
  );
  const deadline = Date.now() + config.phaseLimitMs;
  const hitDigest = large.fresh();
  await pushPostPut(input.upstream.target, HIT_REPO, large.blob, hitDigest);
  // Fresh content for every miss: per run and mode, one blob pulled alone and one pulled by 8
  // clients together. Each proxy keeps its own cache, so all see the same blobs as misses.
  const missBlobs: Record<PullMode, [string, string]>[] = [];
  for (let rep = 0; rep < config.missRepeats && Date.now() < deadline; rep++) {
    const perMode = {} as Record<PullMode, [string, string]>;
    for (const mode of PULL_MODES) {
      const pair: string[] = [];
      for (let i = 0; i < 2; i++) {
        const digest = large.fresh();
        await pushPostPut(input.upstream.target, MISS_REPO, large.blob, digest);
        pair.push(digest);
      }
      perMode[mode] = pair as [string, string];
    }
    missBlobs.push(perMode);
  }
  flushDisks();
  progress(
    `proxy set-up: ${1 + 4 * missBlobs.length} blobs of ${blobMiB} MiB pushed into the upstream ` +
      `(${missBlobs.length} run(s) of cache misses)`,
  );
  ctx.phaseDone("proxy set-up");

  /** Waits until the proxy holds the blob: Distribution's proxy may finish storing after serving. */
  const waitStored = async (p: ProxyUnderTest & { server: RunningServer }, repo: string, digest: string) => {
    // Airlock answers only once the blob is verified and stored.
    if (p.kind === "airlock") return;
    const link = path.join(
      p.server.dataDir,
      "docker/registry/v2/repositories",
      repo,
      "_layers/sha256",
      digest.replace(/^sha256:/, ""),
      "link",
    );
    const until = Date.now() + STORE_WAIT_MS;
    while (!existsSync(link)) {
      if (Date.now() >= until) throw new Error(`${p.label} did not store ${digest} in ${STORE_WAIT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const pullOnce = async (
    p: ProxyUnderTest & { server: RunningServer },
    mode: PullMode,
    repo: string,
    digest: string,
  ) => {
    const t = p.server.target;
    const got = await curlGet(`${t.origin}/v2/${proxied(p, repo)}/blobs/${digest}`, t.headers, {
      hash: mode === "verified",
      limitMs: 120_000,
    });
    if (got.status !== 200 || got.bytes !== blobBytes || (mode === "verified" && got.digest !== digest)) {
      throw new Error(`${p.label} pull of ${digest}: status ${got.status}, ${got.bytes} bytes, digest ${got.digest}`);
    }
  };

  /** One pull alone, then `concurrentPulls` clients of one blob: MiB/s, and aggregate MiB/s. */
  const measure = async (
    p: ProxyUnderTest & { server: RunningServer },
    mode: PullMode,
    repo: string,
    alone: string,
    together: string,
  ): Promise<[number, number]> => {
    flushDisks();
    let started = performance.now();
    await pullOnce(p, mode, repo, alone);
    const single = blobMiB / ((performance.now() - started) / 1000);
    await waitStored(p, repo, alone);
    flushDisks();
    started = performance.now();
    await Promise.all(Array.from({ length: config.concurrentPulls }, () => pullOnce(p, mode, repo, together)));
    const concurrent = (config.concurrentPulls * blobMiB) / ((performance.now() - started) / 1000);
    await waitStored(p, repo, together);
    return [single, concurrent];
  };

  const samples = (): Samples => ({
    verified: new Map(running.map((p) => [p.key, []])),
    plain: new Map(running.map((p) => [p.key, []])),
  });

  // --- Cache misses ------------------------------------------------------------------------------
  const missSingle = samples();
  const missConcurrent = samples();
  const fetchesBefore = await upstreamRequests(airlock, "blob_get");
  let missBlobsPulled = 0;
  const missDeadline = Date.now() + config.phaseLimitMs;
  for (const [index, blobs] of missBlobs.entries()) {
    if (Date.now() >= missDeadline) break;
    for (const mode of PULL_MODES) {
      for (const p of running) {
        const [single, concurrent] = await measure(p, mode, MISS_REPO, blobs[mode][0], blobs[mode][1]);
        missSingle[mode].get(p.key)?.push(single);
        missConcurrent[mode].get(p.key)?.push(concurrent);
        if (p.kind === "airlock") missBlobsPulled += 2;
        progress(
          `proxy miss ${mode} ${index + 1}/${missBlobs.length} ${p.label}: single ${format(single)} MiB/s, ` +
            `${config.concurrentPulls} clients of one blob ${format(concurrent)} MiB/s aggregate`,
        );
      }
    }
  }
  const missFetches = (await upstreamRequests(airlock, "blob_get")) - fetchesBefore;
  flushDisks();
  ctx.phaseDone("proxy cache misses");

  // --- Cache hits --------------------------------------------------------------------------------
  for (const p of running) {
    await pullOnce(p, "verified", HIT_REPO, hitDigest); // the miss that fills the cache
    await waitStored(p, HIT_REPO, hitDigest);
  }
  flushDisks();
  const hitSingle = samples();
  const hitConcurrent = samples();
  const hitFetchesBefore = await upstreamRequests(airlock, "blob_get");
  const hitDeadline = Date.now() + config.phaseLimitMs;
  for (let rep = 1; rep <= config.pullRepeats && Date.now() < hitDeadline; rep++) {
    for (const mode of PULL_MODES) {
      for (const p of running) {
        const [single, concurrent] = await measure(p, mode, HIT_REPO, hitDigest, hitDigest);
        hitSingle[mode].get(p.key)?.push(single);
        hitConcurrent[mode].get(p.key)?.push(concurrent);
        progress(
          `proxy hit ${mode} ${rep}/${config.pullRepeats} ${p.label}: single ${format(single)} MiB/s, ` +
            `${config.concurrentPulls} concurrent ${format(concurrent)} MiB/s aggregate`,
        );
      }
    }
  }
  const hitFetches = (await upstreamRequests(airlock, "blob_get")) - hitFetchesBefore;
  ctx.phaseDone("proxy cache hits");

  // --- Manifest GET by tag through the proxy ------------------------------------------------------
  const image = input.manifestImage;
  const manifestLoad = new Map<Column, LoadResult>();
  const manifestSequential = new Map<Column, LoadResult>();
  const headsAsked = { load: 0, sequential: 0 };
  for (const p of running) {
    const t = p.server.target;
    const manifestPath = `/v2/${proxied(p, image.repo)}/manifests/${image.tag}`;
    const headers = { ...t.headers, Accept: OCI_MANIFEST };
    // The first GET fetches the manifest into the cache; the ones under load find it there.
    const check = expectStatus(await send(t, "GET", manifestPath, { headers }), 200, `${p.label} manifest GET`);
    if (!check.body.equals(image.manifest)) throw new Error(`${p.label} served a different manifest`);
    const url = `${t.origin}${manifestPath}`;
    const options = { threads: 2, connections: config.connections, seconds: config.warmupSeconds };
    await wrk(url, headers, options);
    // Airlock counts its HEADs to the upstream; Distribution's proxy makes one per pull.
    const heads = async (): Promise<number> => (p.kind === "airlock" ? upstreamRequests(airlock, "manifest_head") : 0);
    let headsBefore = await heads();
    const result = await wrk(url, headers, { ...options, seconds: config.loadSeconds });
    if (p.kind === "airlock") headsAsked.load = (await heads()) - headsBefore;
    manifestLoad.set(p.key, result);
    headsBefore = await heads();
    const alone = await wrk(url, headers, { threads: 1, connections: 1, seconds: config.loadSeconds });
    if (p.kind === "airlock") headsAsked.sequential = (await heads()) - headsBefore;
    manifestSequential.set(p.key, alone);
    progress(
      `proxy manifest GET by tag ${p.label}: ${format(result.requestsPerSecond)} req/s with ` +
        `${config.connections} connections (${result.requests.toLocaleString("en-US")} requests, non-2xx ` +
        `${result.non2xx}, errors ${result.errors}); ${format(alone.requestsPerSecond)} req/s with 1 ` +
        `(p50 ${format(alone.p50Ms)} ms, non-2xx ${alone.non2xx}, errors ${alone.errors})`,
    );
  }
  ctx.phaseDone("proxy manifest GET load");

  // --- Rows, the table beside the direct figures, details and notes -----------------------------
  const n = config.concurrentPulls;
  const med = (values: Map<Column, number[]>, key: Column): number | undefined => {
    const list = values.get(key) ?? [];
    return list.length === 0 ? undefined : median(list);
  };
  const values = (of: (key: Column) => number | undefined): Values => {
    const v: Values = {};
    for (const p of input.proxies) v[p.key] = of(p.key);
    return v;
  };
  const pair = (title: string, list: Map<Column, number[]>, goal?: boolean): Row => ({
    title,
    unit: "MiB/s",
    better: "higher",
    values: values((key) => med(list, key)),
    ...(goal === true && { goal: atLeastAnchor(TARGETS.proxyMiss) }),
  });
  const blobLabel = `${blobMiB} MiB`;
  const rows: Row[] = [
    pair(`Proxy cache miss, single, ${blobLabel}, digest verified`, missSingle.verified, true),
    pair(`Proxy cache miss, ${n} clients of one blob, aggregate, digests verified`, missConcurrent.verified),
    pair(`Proxy cache miss, single, ${blobLabel}, bytes dropped`, missSingle.plain, true),
    pair(`Proxy cache miss, ${n} clients of one blob, aggregate, bytes dropped`, missConcurrent.plain),
    pair(`Proxy cache hit, single, ${blobLabel}, digest verified`, hitSingle.verified),
    pair(`Proxy cache hit, ${n} concurrent, aggregate, digests verified`, hitConcurrent.verified),
    pair(`Proxy cache hit, single, ${blobLabel}, bytes dropped`, hitSingle.plain),
    pair(`Proxy cache hit, ${n} concurrent, aggregate, bytes dropped`, hitConcurrent.plain),
    {
      title: `Manifest GET by tag through the proxy (wrk, ${config.connections} connections, ${config.loadSeconds} s)`,
      unit: "req/s",
      better: "higher",
      values: values((key) => manifestLoad.get(key)?.requestsPerSecond),
    },
    {
      title: `Manifest GET by tag through the proxy, 1 connection (a HEAD upstream each) (wrk, ${config.loadSeconds} s)`,
      unit: "req/s",
      better: "higher",
      values: values((key) => manifestSequential.get(key)?.requestsPerSecond),
    },
  ];

  // Each proxy cell also says how it compares with the same server's direct pull; Airlock's hit
  // carries the target (within 10% of a local pull).
  const cell = (value: number | undefined, direct: number | undefined): string =>
    value === undefined ? "n/a" : `${format(value)} (${times(ratio(value, direct))})`;
  const line = (cells: string[]): string => `| ${cells.join(" | ")} |`;
  const shown = input.proxies.filter((p) => p.key === "airlock" || p.key === "d3");
  const lines = [
    "Medians of the same run. In parentheses: the proxy's figure over the direct pull from the same server " +
      "(Airlock's own project, Distribution 3 itself); Distribution 3's proxy is Distribution 3 with " +
      "`proxy.remoteurl`. The target: an Airlock proxy hit within 10% of Airlock's local pull " +
      `(≥ ${TARGETS.proxyHit.toFixed(1)}×).`,
    "",
    line([
      "Pull",
      ...shown.flatMap((p) => [`${p.label} direct`, `${p.label} proxy hit`, `${p.label} proxy miss`]),
      "Hit target",
      "Met",
    ]),
    line(["---", ...shown.flatMap(() => ["---:", "---:", "---:"]), "---", "---"]),
  ];
  const hitVerdict = (hit: number | undefined, direct: number | undefined): string => {
    const r = ratio(hit, direct);
    if (r === undefined) return "not measured";
    return r >= TARGETS.proxyHit ? `**met**: ${times(r)}` : `**not met**: ${times(r)}, needs ≥ ${TARGETS.proxyHit}×`;
  };
  const blobLine = (what: string, mode: PullMode, kind: "single" | "concurrent"): string => {
    const hit = kind === "single" ? hitSingle[mode] : hitConcurrent[mode];
    const miss = kind === "single" ? missSingle[mode] : missConcurrent[mode];
    const direct = input.direct.pulls[kind][mode];
    return line([
      `${what} (MiB/s)`,
      ...shown.flatMap((p) => [
        format(direct.get(p.key)),
        cell(med(hit, p.key), direct.get(p.key)),
        cell(med(miss, p.key), direct.get(p.key)),
      ]),
      `hit ≥ ${TARGETS.proxyHit.toFixed(1)}× direct`,
      hitVerdict(med(hit, "airlock"), direct.get("airlock")),
    ]);
  };
  lines.push(
    blobLine(`Blob, single, ${blobLabel}, digest verified`, "verified", "single"),
    blobLine(`Blob, ${n} at once, aggregate, digests verified`, "verified", "concurrent"),
    blobLine(`Blob, single, ${blobLabel}, bytes dropped`, "plain", "single"),
    blobLine(`Blob, ${n} at once, aggregate, bytes dropped`, "plain", "concurrent"),
    line([
      "Manifest GET by tag (req/s)",
      ...shown.flatMap((p) => [
        format(input.direct.manifest.get(p.key)),
        cell(manifestLoad.get(p.key)?.requestsPerSecond, input.direct.manifest.get(p.key)),
        "—",
      ]),
      "—",
      "",
    ]),
  );

  const describe = (list: Map<Column, number[]>): string =>
    running.map((p) => `${p.label} ${(list.get(p.key) ?? []).map(format).join(", ")} MiB/s`).join("; ");
  for (const mode of PULL_MODES) {
    details.push(
      `Proxy cache miss ${mode}, single, each run: ${describe(missSingle[mode])}.`,
      `Proxy cache miss ${mode}, ${n} clients of one blob, each run: ${describe(missConcurrent[mode])}.`,
    );
  }
  for (const mode of PULL_MODES) {
    details.push(
      `Proxy cache hit ${mode}, single, each run: ${describe(hitSingle[mode])}.`,
      `Proxy cache hit ${mode}, ${n} concurrent, each run: ${describe(hitConcurrent[mode])}.`,
    );
  }
  details.push(
    `Upstream blob fetches by Airlock (its metrics): ${missFetches} for the ${missBlobsPulled} uncached blobs of the ` +
      `miss runs (${n} clients of one blob share one fetch), ${hitFetches} during the hit runs.`,
  );
  for (const [results, how, heads] of [
    [manifestLoad, `${config.connections} connections`, headsAsked.load],
    [manifestSequential, "1 connection", headsAsked.sequential],
  ] as const) {
    for (const p of running) {
      const result = results.get(p.key);
      if (!result) continue;
      const latency =
        result.p50Ms !== undefined ? `, p50 ${format(result.p50Ms)} ms, p99 ${format(result.p99Ms)} ms` : "";
      const upstream = p.kind === "airlock" ? `; ${heads.toLocaleString("en-US")} HEADs to the upstream` : "";
      details.push(
        `Manifest GET by tag through ${p.label}'s proxy, ${how}: ${format(result.requestsPerSecond)} req/s ` +
          `(${result.requests.toLocaleString("en-US")} requests${latency}, non-2xx ${result.non2xx}, errors ` +
          `${result.errors}${upstream}).`,
      );
    }
  }

  notes.push(
    `Proxy set-up: Airlock's proxy-cache project \`${PROXY_PROJECT}\` (on the Airlock instance with one worker per ` +
      "CPU) on a registry endpoint of type `docker-registry` pointing at the benchmark's Distribution 3 instance " +
      "over plain HTTP on loopback, without credentials, both created through the Harbor API " +
      "(`POST /api/v2.0/registries`, `POST /api/v2.0/projects` with `registry_id`); no bandwidth or connection " +
      "limit; pulled as the admin, like the direct rows. The Distribution columns of the proxy rows are two more " +
      "processes, Distribution 3 and 2.8 with `proxy.remoteurl` at the same instance (filesystem storage, no " +
      "authentication).",
    "Proxy cache miss: fresh content each run, pushed into the upstream beforehand. Airlock streams the upstream's " +
      "bytes to the first client as they arrive and ends the response once they are verified and stored (fsynced); " +
      `of ${n} clients asking together for one uncached blob, one gets the stream and the others are served from the ` +
      "store, after one upstream fetch. Distribution 3's proxy streams to the first client while writing the copy " +
      "and commits it after the last byte; other clients asking meanwhile get an upstream fetch each. " +
      "Distribution 2.8's proxy serves each client from a fetch of its own while one more, in the background, " +
      "stores the blob. A Distribution response can end before the copy is stored, so the benchmark waits for it " +
      "before going on.",
    "Manifest GET by tag through the proxy: the proxy asks the upstream for the tag's digest with a HEAD and serves " +
      "its cached copy. Airlock lets pulls of one tag that arrive while a HEAD is in flight share it (Details give " +
      "the count), so under 16 connections it asks far less often than once per pull; Distribution's proxy asks " +
      "once per pull. With 1 connection no pulls overlap, and every pull waits for its own HEAD on all of them. " +
      "The upstream is the benchmark's Distribution 3 (its own rate is the direct manifest row).",
  );
  for (const p of input.proxies) {
    if ("failure" in p.server) {
      notes.push(`${p.label} in proxy mode could not be measured: ${p.server.failure}. Its proxy cells read n/a.`);
    }
  }
  return { rows, section: { title: "Proxy cache beside direct pulls", lines }, details, notes };
}
