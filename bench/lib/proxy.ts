// The proxy-cache phases (issue 5: "a cache-hit pull figure beside a direct pull"). Airlock gets,
// through the Harbor API, a registry endpoint of type docker-registry pointing at the benchmark's
// Distribution instance and a proxy-cache project on it; the anchor is a third process,
// Distribution 2.8 as a pull-through cache (`proxy.remoteurl`) of the same instance. Both proxies
// are measured as the direct blob pulls are (curl, digest verified or bytes dropped, alone and 8
// at once, medians over runs), one at a time:
//  - cache miss: the first pull of content the proxy has never seen (fresh digests each run,
//    pushed into the upstream beforehand); "8 at once" is 8 clients asking together for one
//    uncached blob, as when a rollout starts on 8 nodes;
//  - cache hit: pulls of a blob the proxy already holds;
//  - manifest GET by tag under wrk, which makes the proxy check the tag upstream with a HEAD: with
//    16 connections as the direct manifest phase, then with one (no pulls overlap, so every one
//    waits for its own HEAD).

import { existsSync } from "node:fs";
import * as path from "node:path";
import { expectStatus, send, type Target } from "./http.ts";
import { curlGet, wrk, type LoadResult } from "./load.ts";
import { OCI_MANIFEST, pushPostPut } from "./oci.ts";
import { format, median, type Row } from "./report.ts";
import type { RunningServer } from "./servers.ts";

/** Airlock's proxy-cache project, and the endpoint it pulls through (also the metrics label). */
export const PROXY_PROJECT = "bench-proxy";
const ENDPOINT_NAME = "bench-distribution";
const HIT_REPO = "bench/proxy-hit";
const MISS_REPO = "bench/proxy-miss";
/** How long Distribution's proxy may take to store a blob in the background after serving it. */
const STORE_WAIT_MS = 120_000;

type Proxy = "airlock" | "distribution";
type PullMode = "verified" | "plain";
const MODES: PullMode[] = ["verified", "plain"];
const LABEL: Record<Proxy, string> = { airlock: "Airlock proxy", distribution: "Distribution proxy" };

interface PerServer {
  airlock: number | undefined;
  distribution: number | undefined;
}

/** Medians of the direct phases of the same run, shown beside the proxy figures. */
export interface DirectFigures {
  single: Record<PullMode, PerServer>;
  concurrent: Record<PullMode, PerServer>;
  manifest: PerServer;
}

export interface ProxyPhaseInput {
  airlock: RunningServer;
  /** The benchmark's Distribution instance: the upstream of both proxies. */
  upstream: RunningServer;
  /** Distribution in pull-through-cache mode, or why it could not be started. */
  distributionProxy: RunningServer | { failure: string };
  /** The run's large blob, whose first bytes `fresh` changes (returning the new digest). */
  blob: Buffer;
  blobMiB: number;
  fresh: () => string;
  /** An image manifest already in the upstream, also measured by the direct manifest phase. */
  manifestImage: { repo: string; tag: string; manifest: Buffer };
  direct: DirectFigures;
  config: {
    missRepeats: number;
    pullRepeats: number;
    concurrentPulls: number;
    connections: number;
    loadSeconds: number;
    warmupSeconds: number;
    phaseLimitMs: number;
  };
  progress: (message: string) => void;
  phaseDone: (phase: string) => void;
  flushDisks: () => void;
}

export interface ProxyPhaseResult {
  rows: Row[];
  /** A table of the proxy figures beside the direct ones, for the report. */
  section: { title: string; lines: string[] };
  details: string[];
  notes: string[];
}

const JSON_HEADERS = { "Content-Type": "application/json" };

/** The Harbor API calls an administrator makes: a registry endpoint, then a proxy-cache project. */
async function createProxyProject(airlock: Target, upstreamOrigin: string): Promise<number> {
  const endpoint = {
    name: ENDPOINT_NAME,
    type: "docker-registry",
    url: upstreamOrigin,
    insecure: false,
    description: "the benchmark's Distribution instance (no authentication, loopback)",
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

/** Airlock's count of upstream requests of one kind (`blob_get`, `manifest_head`), from /metrics. */
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

function times(ratio: number | undefined): string {
  return ratio === undefined || !Number.isFinite(ratio) ? "n/a" : `${ratio.toFixed(2)}×`;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

export async function runProxyPhases(input: ProxyPhaseInput): Promise<ProxyPhaseResult> {
  const { config, progress } = input;
  const blobBytes = input.blob.length;
  const dproxy = "failure" in input.distributionProxy ? undefined : input.distributionProxy;
  const proxies: Proxy[] = dproxy ? ["airlock", "distribution"] : ["airlock"];
  const airlock = input.airlock.target;
  const target = (proxy: Proxy): Target => (proxy === "airlock" ? airlock : (dproxy as RunningServer).target);
  /** The repository's path on a proxy: Airlock's carries the project, Distribution's is the upstream's. */
  const proxied = (proxy: Proxy, repo: string): string => (proxy === "airlock" ? `${PROXY_PROJECT}/${repo}` : repo);
  const details: string[] = [];
  const notes: string[] = [];

  // --- Set-up: the proxy project, and the content in the upstream ------------------------------
  const endpointId = await createProxyProject(airlock, input.upstream.target.origin);
  progress(
    `proxy set-up: Airlock endpoint ${endpointId} (docker-registry, ${input.upstream.target.origin}), ` +
      `proxy-cache project ${PROXY_PROJECT}`,
  );
  const deadline = Date.now() + config.phaseLimitMs;
  const hitDigest = input.fresh();
  await pushPostPut(input.upstream.target, HIT_REPO, input.blob, hitDigest);
  // Fresh content for every miss: per run and mode, one blob pulled alone and one pulled by 8
  // clients together. Each proxy keeps its own cache, so both see the same blobs as misses.
  const missBlobs: Record<PullMode, [string, string]>[] = [];
  for (let rep = 0; rep < config.missRepeats && Date.now() < deadline; rep++) {
    const perMode = {} as Record<PullMode, [string, string]>;
    for (const mode of MODES) {
      const pair: string[] = [];
      for (let i = 0; i < 2; i++) {
        const digest = input.fresh();
        await pushPostPut(input.upstream.target, MISS_REPO, input.blob, digest);
        pair.push(digest);
      }
      perMode[mode] = pair as [string, string];
    }
    missBlobs.push(perMode);
  }
  input.flushDisks();
  progress(
    `proxy set-up: ${1 + 4 * missBlobs.length} blobs of ${input.blobMiB} MiB pushed into the upstream ` +
      `(${missBlobs.length} run(s) of cache misses)`,
  );
  input.phaseDone("proxy set-up");

  /** Waits until the proxy holds the blob: Distribution's proxy stores it after serving it. */
  const waitStored = async (proxy: Proxy, repo: string, digest: string): Promise<void> => {
    // Airlock answers only once the blob is verified and stored.
    if (proxy === "airlock" || !dproxy) return;
    const link = path.join(
      dproxy.dataDir,
      "docker/registry/v2/repositories",
      repo,
      "_layers/sha256",
      digest.replace(/^sha256:/, ""),
      "link",
    );
    const until = Date.now() + STORE_WAIT_MS;
    while (!existsSync(link)) {
      if (Date.now() >= until) throw new Error(`Distribution proxy did not store ${digest} in ${STORE_WAIT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const pullOnce = async (proxy: Proxy, mode: PullMode, repo: string, digest: string): Promise<void> => {
    const t = target(proxy);
    const url = `${t.origin}/v2/${proxied(proxy, repo)}/blobs/${digest}`;
    const got = await curlGet(url, t.headers, { hash: mode === "verified", limitMs: 120_000 });
    if (got.status !== 200 || got.bytes !== blobBytes || (mode === "verified" && got.digest !== digest)) {
      throw new Error(
        `${LABEL[proxy]} pull of ${digest}: status ${got.status}, ${got.bytes} bytes, digest ${got.digest}`,
      );
    }
  };

  /** One pull alone, then `concurrentPulls` clients of one blob: MiB/s, and aggregate MiB/s. */
  const measure = async (
    proxy: Proxy,
    mode: PullMode,
    repo: string,
    alone: string,
    together: string,
  ): Promise<[number, number]> => {
    input.flushDisks();
    let started = performance.now();
    await pullOnce(proxy, mode, repo, alone);
    const single = input.blobMiB / ((performance.now() - started) / 1000);
    await waitStored(proxy, repo, alone);
    input.flushDisks();
    started = performance.now();
    await Promise.all(Array.from({ length: config.concurrentPulls }, () => pullOnce(proxy, mode, repo, together)));
    const concurrent = (config.concurrentPulls * input.blobMiB) / ((performance.now() - started) / 1000);
    await waitStored(proxy, repo, together);
    return [single, concurrent];
  };

  type Samples = Record<PullMode, Record<Proxy, number[]>>;
  const samples = (): Samples => ({
    verified: { airlock: [], distribution: [] },
    plain: { airlock: [], distribution: [] },
  });

  // --- Cache misses ------------------------------------------------------------------------------
  const missSingle = samples();
  const missConcurrent = samples();
  const fetchesBefore = await upstreamRequests(airlock, "blob_get");
  let missBlobsPulled = 0;
  const missDeadline = Date.now() + config.phaseLimitMs;
  for (const [index, blobs] of missBlobs.entries()) {
    if (Date.now() >= missDeadline) break;
    for (const mode of MODES) {
      for (const proxy of proxies) {
        const [single, concurrent] = await measure(proxy, mode, MISS_REPO, blobs[mode][0], blobs[mode][1]);
        missSingle[mode][proxy].push(single);
        missConcurrent[mode][proxy].push(concurrent);
        if (proxy === "airlock") missBlobsPulled += 2;
        progress(
          `proxy miss ${mode} ${index + 1}/${missBlobs.length} ${LABEL[proxy]}: single ${format(single)} MiB/s, ` +
            `${config.concurrentPulls} clients of one blob ${format(concurrent)} MiB/s aggregate`,
        );
      }
    }
  }
  const missFetches = (await upstreamRequests(airlock, "blob_get")) - fetchesBefore;
  input.flushDisks();
  input.phaseDone("proxy cache misses");

  // --- Cache hits --------------------------------------------------------------------------------
  for (const proxy of proxies) {
    await pullOnce(proxy, "verified", HIT_REPO, hitDigest); // the miss that fills the cache
    await waitStored(proxy, HIT_REPO, hitDigest);
  }
  input.flushDisks();
  const hitSingle = samples();
  const hitConcurrent = samples();
  const hitFetchesBefore = await upstreamRequests(airlock, "blob_get");
  const hitDeadline = Date.now() + config.phaseLimitMs;
  for (let rep = 1; rep <= config.pullRepeats && Date.now() < hitDeadline; rep++) {
    for (const mode of MODES) {
      for (const proxy of proxies) {
        const [single, concurrent] = await measure(proxy, mode, HIT_REPO, hitDigest, hitDigest);
        hitSingle[mode][proxy].push(single);
        hitConcurrent[mode][proxy].push(concurrent);
        progress(
          `proxy hit ${mode} ${rep}/${config.pullRepeats} ${LABEL[proxy]}: single ${format(single)} MiB/s, ` +
            `${config.concurrentPulls} concurrent ${format(concurrent)} MiB/s aggregate`,
        );
      }
    }
  }
  const hitFetches = (await upstreamRequests(airlock, "blob_get")) - hitFetchesBefore;
  input.phaseDone("proxy cache hits");

  // --- Manifest GET by tag through the proxy ------------------------------------------------------
  const image = input.manifestImage;
  const manifestLoad: Partial<Record<Proxy, LoadResult>> = {};
  const manifestSequential: Partial<Record<Proxy, LoadResult>> = {};
  const headsAsked = { load: 0, sequential: 0 };
  for (const proxy of proxies) {
    const t = target(proxy);
    const manifestPath = `/v2/${proxied(proxy, image.repo)}/manifests/${image.tag}`;
    const headers = { ...t.headers, Accept: OCI_MANIFEST };
    // The first GET fetches the manifest into the cache; the ones under load find it there.
    const check = expectStatus(await send(t, "GET", manifestPath, { headers }), 200, `${LABEL[proxy]} manifest GET`);
    if (!check.body.equals(image.manifest)) throw new Error(`${LABEL[proxy]} served a different manifest`);
    const url = `${t.origin}${manifestPath}`;
    const options = { threads: 2, connections: config.connections, seconds: config.warmupSeconds };
    await wrk(url, headers, options);
    // Airlock counts its HEADs to the upstream; Distribution's proxy makes one per pull.
    const heads = async (): Promise<number> => (proxy === "airlock" ? upstreamRequests(airlock, "manifest_head") : 0);
    let headsBefore = await heads();
    const result = await wrk(url, headers, { ...options, seconds: config.loadSeconds });
    if (proxy === "airlock") headsAsked.load = (await heads()) - headsBefore;
    manifestLoad[proxy] = result;
    headsBefore = await heads();
    const alone = await wrk(url, headers, { threads: 1, connections: 1, seconds: config.loadSeconds });
    if (proxy === "airlock") headsAsked.sequential = (await heads()) - headsBefore;
    manifestSequential[proxy] = alone;
    progress(
      `proxy manifest GET by tag ${LABEL[proxy]}: ${format(result.requestsPerSecond)} req/s with ` +
        `${config.connections} connections (${result.requests.toLocaleString("en-US")} requests, non-2xx ` +
        `${result.non2xx}, errors ${result.errors}); ${format(alone.requestsPerSecond)} req/s with 1 ` +
        `(p50 ${format(alone.p50Ms)} ms, non-2xx ${alone.non2xx}, errors ${alone.errors})`,
    );
  }
  input.phaseDone("proxy manifest GET load");

  // --- Rows, the table beside the direct figures, details and notes -----------------------------
  const blobLabel = `${input.blobMiB} MiB`;
  const n = config.concurrentPulls;
  const med = (values: Record<Proxy, number[]>, proxy: Proxy): number | undefined =>
    values[proxy].length === 0 ? undefined : median(values[proxy]);
  const pair = (title: string, unit: string, values: Record<Proxy, number[]>): Row => ({
    title,
    unit,
    better: "higher",
    airlock: med(values, "airlock"),
    distribution: med(values, "distribution"),
  });
  const rows: Row[] = [
    pair(`Proxy cache miss, single, ${blobLabel}, digest verified`, "MiB/s", missSingle.verified),
    pair(`Proxy cache miss, ${n} clients of one blob, aggregate, digests verified`, "MiB/s", missConcurrent.verified),
    pair(`Proxy cache miss, single, ${blobLabel}, bytes dropped`, "MiB/s", missSingle.plain),
    pair(`Proxy cache miss, ${n} clients of one blob, aggregate, bytes dropped`, "MiB/s", missConcurrent.plain),
    pair(`Proxy cache hit, single, ${blobLabel}, digest verified`, "MiB/s", hitSingle.verified),
    pair(`Proxy cache hit, ${n} concurrent, aggregate, digests verified`, "MiB/s", hitConcurrent.verified),
    pair(`Proxy cache hit, single, ${blobLabel}, bytes dropped`, "MiB/s", hitSingle.plain),
    pair(`Proxy cache hit, ${n} concurrent, aggregate, bytes dropped`, "MiB/s", hitConcurrent.plain),
    {
      title: `Manifest GET by tag through the proxy (wrk, ${config.connections} connections, ${config.loadSeconds} s)`,
      unit: "req/s",
      better: "higher",
      airlock: manifestLoad.airlock?.requestsPerSecond,
      distribution: manifestLoad.distribution?.requestsPerSecond,
    },
    {
      title: `Manifest GET by tag through the proxy, 1 connection (a HEAD upstream each) (wrk, ${config.loadSeconds} s)`,
      unit: "req/s",
      better: "higher",
      airlock: manifestSequential.airlock?.requestsPerSecond,
      distribution: manifestSequential.distribution?.requestsPerSecond,
    },
  ];

  // Each proxy cell also says how it compares with the same server's direct pull.
  const cell = (value: number | undefined, direct: number | undefined): string =>
    value === undefined ? "n/a" : `${format(value)} (${times(ratio(value, direct))})`;
  const line = (cells: string[]): string => `| ${cells.join(" | ")} |`;
  const lines = [
    "Medians of the same run. In parentheses: the proxy's figure over the direct pull from the same server " +
      "(Airlock's own project, Distribution itself); Distribution's proxy is Distribution 2.8 with " +
      "`proxy.remoteurl`.",
    "",
    line([
      "Pull",
      "Airlock direct",
      "Airlock proxy hit",
      "Airlock proxy miss",
      "Distribution direct",
      "Distribution proxy hit",
      "Distribution proxy miss",
    ]),
    line(["---", "---:", "---:", "---:", "---:", "---:", "---:"]),
  ];
  const blobLine = (what: string, mode: PullMode, kind: "single" | "concurrent"): string => {
    const hit = kind === "single" ? hitSingle[mode] : hitConcurrent[mode];
    const miss = kind === "single" ? missSingle[mode] : missConcurrent[mode];
    const direct = input.direct[kind][mode];
    return line([
      `${what} (MiB/s)`,
      format(direct.airlock),
      cell(med(hit, "airlock"), direct.airlock),
      cell(med(miss, "airlock"), direct.airlock),
      format(direct.distribution),
      cell(med(hit, "distribution"), direct.distribution),
      cell(med(miss, "distribution"), direct.distribution),
    ]);
  };
  lines.push(
    blobLine(`Blob, single, ${blobLabel}, digest verified`, "verified", "single"),
    blobLine(`Blob, ${n} at once, aggregate, digests verified`, "verified", "concurrent"),
    blobLine(`Blob, single, ${blobLabel}, bytes dropped`, "plain", "single"),
    blobLine(`Blob, ${n} at once, aggregate, bytes dropped`, "plain", "concurrent"),
    line([
      "Manifest GET by tag (req/s)",
      format(input.direct.manifest.airlock),
      cell(manifestLoad.airlock?.requestsPerSecond, input.direct.manifest.airlock),
      "—",
      format(input.direct.manifest.distribution),
      cell(manifestLoad.distribution?.requestsPerSecond, input.direct.manifest.distribution),
      "—",
    ]),
  );

  const describe = (values: Samples[PullMode]): string =>
    proxies.map((proxy) => `${LABEL[proxy]} ${values[proxy].map(format).join(", ")} MiB/s`).join("; ");
  for (const mode of MODES) {
    details.push(
      `Proxy cache miss ${mode}, single, each run: ${describe(missSingle[mode])}.`,
      `Proxy cache miss ${mode}, ${n} clients of one blob, each run: ${describe(missConcurrent[mode])}.`,
    );
  }
  for (const mode of MODES) {
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
    for (const proxy of proxies) {
      const result = results[proxy];
      if (!result) continue;
      const latency =
        result.p50Ms !== undefined ? `, p50 ${format(result.p50Ms)} ms, p99 ${format(result.p99Ms)} ms` : "";
      const upstream = proxy === "airlock" ? `; ${heads.toLocaleString("en-US")} HEADs to the upstream` : "";
      details.push(
        `Manifest GET by tag through ${LABEL[proxy]}, ${how}: ${format(result.requestsPerSecond)} req/s ` +
          `(${result.requests.toLocaleString("en-US")} requests${latency}, non-2xx ${result.non2xx}, errors ` +
          `${result.errors}${upstream}).`,
      );
    }
  }

  notes.push(
    `Proxy set-up: Airlock's proxy-cache project \`${PROXY_PROJECT}\` on a registry endpoint of type ` +
      "`docker-registry` pointing at the benchmark's Distribution instance over plain HTTP on loopback, without " +
      "credentials, both created through the Harbor API (`POST /api/v2.0/registries`, `POST /api/v2.0/projects` " +
      "with `registry_id`); no bandwidth or connection limit; pulled as the admin, like the direct rows. The " +
      "Distribution column of the proxy rows is a third process, Distribution 2.8 with `proxy.remoteurl` at the same " +
      "instance (filesystem storage, no authentication).",
    "Proxy cache miss: fresh content each run, pushed into the upstream beforehand. Airlock streams the upstream's " +
      "bytes to the first client as they arrive and ends the response once they are verified and stored (fsynced); " +
      `of ${n} clients asking together for one uncached blob, one gets the stream and the others are served from the ` +
      "store, after one upstream fetch. Distribution 2.8's proxy serves each client from an upstream fetch of its " +
      "own while one more, in the background, stores the blob: a response can end before the copy is stored, so " +
      "the benchmark waits for it before going on.",
    "Manifest GET by tag through the proxy: the proxy asks the upstream for the tag's digest with a HEAD and serves " +
      "its cached copy. Airlock lets pulls of one tag that arrive while a HEAD is in flight share it (Details give " +
      "the count), so under 16 connections it asks far less often than once per pull; Distribution's proxy asks " +
      "once per pull and also records the tag in its storage each time. With 1 connection no pulls overlap, and " +
      "every pull waits for its own HEAD on both. The upstream is the benchmark's Distribution (its own rate is the " +
      "direct manifest row).",
  );
  if (!dproxy) {
    notes.push(
      `Distribution in proxy mode could not be measured: ${(input.distributionProxy as { failure: string }).failure}. ` +
        "Its columns read n/a.",
    );
  }
  return { rows, section: { title: "Proxy cache beside direct pulls", lines }, details, notes };
}
