// The benchmark: starts Airlock and CNCF Distribution 2.8 side by side on loopback, runs every
// phase against one registry at a time (alternating between them, never loading both at once) and
// writes bench/RESULTS.md. Progress goes to stderr. Run it through bench/run.sh, which installs
// the tools it needs. BENCH_QUICK=1 runs a much smaller version (a smoke test of the script, its
// figures are not meaningful, written to the temporary directory's parent instead of RESULTS.md);
// BENCH_OUTPUT=FILE writes the results elsewhere; BENCH_KEEP=1 keeps the temporary directory (the
// servers' data and logs); BENCH_QUIET_WAIT=SECONDS bounds the wait for a quiet machine at the
// start (180 by default). The proxy-cache phases, with Distribution in pull-through-cache mode as
// a third process, are in lib/proxy.ts.

import { spawnSync } from "node:child_process";
import { randomBytes, randomFillSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expectStatus, location, send, withQuery, type Target } from "./lib/http.ts";
import { abHead, curlGet, toolVersion, wrk, type LoadResult } from "./lib/load.ts";
import { cpuSnapshot, othersBetween, ownCpuSeconds, waitForQuiet, type CpuSnapshot } from "./lib/machine.ts";
import { OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, OCTETS, pushPostPut, putManifest, sha256 } from "./lib/oci.ts";
import { runProxyPhases, type ProxyPhaseResult } from "./lib/proxy.ts";
import { format, median, renderBlock, writeResults, type Row } from "./lib/report.ts";
import {
  cpuSeconds,
  distributionVersion,
  memoryMiB,
  startAirlock,
  startDistribution,
  type RunningServer,
} from "./lib/servers.ts";

const QUICK = process.env["BENCH_QUICK"] === "1";
const KEEP = process.env["BENCH_KEEP"] === "1";
const MiB = 1024 * 1024;

const CONFIG = QUICK
  ? {
      blobMiB: 32,
      chunkMiB: 4,
      pushRepeats: 1,
      pullRepeats: 1,
      missRepeats: 1,
      concurrentPulls: 8,
      smallImages: 40,
      smallConcurrency: 8,
      loadSeconds: 2,
      warmupSeconds: 1,
      connections: 16,
      tags: 100,
      tagListRequests: 20,
    }
  : {
      blobMiB: 256,
      chunkMiB: 16,
      pushRepeats: 3,
      pullRepeats: 5,
      /** Runs of proxy cache misses: each needs fresh content, so as few as the pushes. */
      missRepeats: 3,
      concurrentPulls: 8,
      smallImages: 500,
      smallConcurrency: 8,
      loadSeconds: 10,
      warmupSeconds: 2,
      connections: 16,
      tags: 1000,
      tagListRequests: 200,
    };

/** No phase loop runs longer than this, whatever its count says. */
const PHASE_LIMIT_MS = 180_000;
/** Distribution in proxy mode gets this long to answer /v2/, else its rows read n/a. */
const PROXY_START_LIMIT_MS = 15_000;
/** The whole run is abandoned past this. */
const RUN_LIMIT_MS = 25 * 60_000;

type Side = "airlock" | "distribution";
const SIDES: Side[] = ["airlock", "distribution"];

const repoRoot = path.resolve(import.meta.dirname, "..");
const runStarted = Date.now();

function progress(message: string): void {
  const elapsed = ((Date.now() - runStarted) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${elapsed}s] ${message}\n`);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Flushes dirty pages, so that one push's writeback does not land in the next one's time. */
function flushDisks(): void {
  spawnSync("sync");
}

/** The commit the server ran from, and whether registry-server/ had changes not committed. */
function airlockRevision(): string {
  const git = (...args: string[]): string =>
    spawnSync("git", ["-C", repoRoot, ...args], { encoding: "utf8" }).stdout?.trim() ?? "";
  const commit = git("rev-parse", "--short", "HEAD") || "unknown commit";
  const dirty = git("status", "--porcelain", "--", "registry-server") !== "";
  return `registry-server at ${commit}${dirty ? " with uncommitted changes in registry-server/" : ""}`;
}

// ---------------------------------------------------------------------------------------------
// Registry operations

/** One POST carrying the body and ?digest= (OCI monolithic upload; Distribution 2.8 lacks it). */
async function pushSinglePost(t: Target, repo: string, blob: Buffer, digest: string): Promise<void> {
  const url = withQuery(`/v2/${repo}/blobs/uploads/`, "digest", digest);
  expectStatus(await send(t, "POST", url, { body: blob, headers: OCTETS }), 201, "single-POST upload");
}

/** POST, PATCH chunks with Content-Range (following each new Location), PUT ?digest=. */
async function pushChunked(t: Target, repo: string, blob: Buffer, digest: string, chunkBytes: number): Promise<void> {
  let at = location(t, expectStatus(await send(t, "POST", `/v2/${repo}/blobs/uploads/`), 202, "POST upload"), "POST");
  for (let offset = 0; offset < blob.length; offset += chunkBytes) {
    const end = Math.min(offset + chunkBytes, blob.length);
    const reply = await send(t, "PATCH", at, {
      body: blob.subarray(offset, end),
      headers: { ...OCTETS, "Content-Range": `${offset}-${end - 1}` },
    });
    at = location(t, expectStatus(reply, 202, `PATCH ${offset}-${end - 1}`), "PATCH");
  }
  expectStatus(await send(t, "PUT", withQuery(at, "digest", digest)), 201, "PUT closing the upload");
}

interface SmallImage {
  repo: string;
  tag: string;
  config: Buffer;
  configDigest: string;
  layer: Buffer;
  layerDigest: string;
  manifest: Buffer;
}

function makeSmallImage(index: number): SmallImage {
  const layer = randomBytes(1024 + (index % 8) * 512);
  const layerDigest = sha256(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString(),
      config: { Env: [`BENCH_IMAGE=${index}`, `NONCE=${randomBytes(8).toString("hex")}`] },
      rootfs: { type: "layers", diff_ids: [sha256(layer)] },
    }),
  );
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
      layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.length }],
    }),
  );
  return { repo: `bench/small-${index % 10}`, tag: `v${index}`, config, configDigest, layer, layerDigest, manifest };
}

async function pushSmallImage(t: Target, image: SmallImage): Promise<void> {
  await pushPostPut(t, image.repo, image.config, image.configDigest);
  await pushPostPut(t, image.repo, image.layer, image.layerDigest);
  await putManifest(t, image.repo, image.tag, image.manifest);
}

/** Runs `work` over the items with `concurrency` workers, stopping at the deadline. */
async function pool<T>(
  items: T[],
  concurrency: number,
  limitMs: number,
  work: (item: T) => Promise<void>,
): Promise<{ done: number; failed: number; firstError?: string; seconds: number }> {
  const started = performance.now();
  const deadline = Date.now() + limitMs;
  let next = 0;
  let done = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && Date.now() < deadline) {
      const item = items[next++] as T;
      try {
        await work(item);
        done++;
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return {
    done,
    failed,
    ...(firstError !== undefined && { firstError }),
    seconds: (performance.now() - started) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// The run

type PerSide<T> = Record<Side, T>;

function perSide<T>(make: () => T): PerSide<T> {
  return { airlock: make(), distribution: make() };
}

const LABEL: PerSide<string> = { airlock: "Airlock", distribution: "Distribution" };

function describeSamples(values: PerSide<number[]>, unit: string): string {
  return SIDES.map((side) => `${LABEL[side]} ${values[side].map(format).join(", ")} ${unit}`).join("; ");
}

function describeLoad(result: LoadResult): string {
  const latency = result.p50Ms !== undefined ? `, p50 ${format(result.p50Ms)} ms, p99 ${format(result.p99Ms)} ms` : "";
  return (
    `${format(result.requestsPerSecond)} req/s (${result.requests.toLocaleString("en-US")} requests` +
    `${latency}, non-2xx ${result.non2xx}, errors ${result.errors})`
  );
}

async function main(): Promise<void> {
  for (const [tool, hint] of [
    ["wrk", "wrk"],
    ["ab", "apache2-utils"],
    ["curl", "curl"],
    ["openssl", "openssl"],
  ] as const) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
      throw new Error(`${tool} is not installed (Debian package ${hint}); run bench/run.sh, which installs it`);
    }
  }
  const workDir = mkdtempSync(path.join(os.tmpdir(), "airlock-bench-"));
  progress(`work directory ${workDir}${QUICK ? " (BENCH_QUICK: small sizes, figures not meaningful)" : ""}`);
  const quietWaitSeconds = Number(process.env["BENCH_QUIET_WAIT"] ?? (QUICK ? 0 : 180));
  const busyAtStart = await waitForQuiet(quietWaitSeconds * 1000, 0.05, progress);
  const waitedSeconds = (Date.now() - runStarted) / 1000;
  const loadAtStart = os.loadavg();

  const servers: Partial<Record<Side | "distributionProxy", RunningServer>> = {};
  const stopAll = async (): Promise<void> => {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  };
  const watchdog = setTimeout(() => {
    progress(`run limit of ${RUN_LIMIT_MS / 60_000} minutes reached: stopping`);
    void stopAll().finally(() => process.exit(1));
  }, RUN_LIMIT_MS);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping the servers`);
      void stopAll().finally(() => process.exit(130));
    });
  }

  try {
    servers.airlock = await startAirlock(repoRoot, workDir);
    servers.distribution = await startDistribution(workDir);
    const running = servers as PerSide<RunningServer>;
    const target: PerSide<Target> = { airlock: running.airlock.target, distribution: running.distribution.target };
    for (const side of SIDES) progress(`${LABEL[side]} ready at ${target[side].origin} (pid ${running[side].pid})`);
    // The anchor of the proxy-cache phases: Distribution as a pull-through cache of the one above.
    let proxyFailure: string | undefined;
    try {
      servers.distributionProxy = await startDistribution(workDir, {
        name: "distribution-proxy",
        label: "Distribution proxy",
        proxyRemoteUrl: target.distribution.origin,
        readyTimeoutMs: PROXY_START_LIMIT_MS,
      });
      progress(
        `Distribution proxy (proxy.remoteurl ${target.distribution.origin}) ready at ` +
          `${servers.distributionProxy.target.origin} (pid ${servers.distributionProxy.pid})`,
      );
    } catch (err) {
      // The first line says what happened; the log, why (a panic's line comes before its stack).
      const log = path.join(workDir, "distribution-proxy.log");
      const logged = existsSync(log) ? readFileSync(log, "utf8").split("\n") : [];
      const cause = logged.find((line) => /^panic:|level=(fatal|error)/.test(line));
      proxyFailure = [(err as Error).message.split("\n")[0], cause?.trim()].filter(Boolean).join(" ");
      progress(`Distribution proxy could not start, its proxy rows will read n/a: ${proxyFailure}`);
    }
    const distributionProxy = servers.distributionProxy;
    const startRss = perSide(() => 0);
    for (const side of SIDES) startRss[side] = memoryMiB(running[side].pid).rss;
    const proxyStartRss = distributionProxy ? memoryMiB(distributionProxy.pid).rss : undefined;

    // Between phases (never while wrk or ab runs): how much CPU the rest of the machine took.
    const pids = [...SIDES.map((side) => running[side].pid), ...(distributionProxy ? [distributionProxy.pid] : [])];
    const runSnapshot = cpuSnapshot(pids);
    let phaseSnapshot: CpuSnapshot = runSnapshot;
    const disturbed: string[] = [];
    const phaseDone = (phase: string): void => {
      const now = cpuSnapshot(pids);
      const others = othersBetween(phaseSnapshot, now);
      phaseSnapshot = now;
      if (others.share >= 0.05) {
        disturbed.push(`${phase} ${Math.round(others.share * 100)}%`);
        progress(
          `warning: other processes used ${Math.round(others.share * 100)}% of the CPUs during ${phase} ` +
            `(${others.seconds.toFixed(1)} CPU-s): its figures may be disturbed`,
        );
      }
    };

    const rows: Row[] = [];
    const details: string[] = [];
    const blobBytes = CONFIG.blobMiB * MiB;
    const blobLabel = `${CONFIG.blobMiB} MiB`;

    // --- Large blob pushes ------------------------------------------------------------------
    progress(`generating a ${blobLabel} random blob`);
    const blob = randomBytes(blobBytes);
    const fresh = (): string => {
      randomFillSync(blob, 0, 64); // new content, so every push is a new blob
      return sha256(blob);
    };
    const pushed = perSide<string[]>(() => []);
    const monolithic = perSide<number[]>(() => []);
    const chunked = perSide<number[]>(() => []);
    const cpuBeforePush = perSide(() => 0);
    const clientCpuPush = perSide(() => 0);
    for (const side of SIDES) cpuBeforePush[side] = cpuSeconds(running[side].pid);
    for (let rep = 1; rep <= CONFIG.pushRepeats; rep++) {
      for (const [kind, samples] of [
        ["monolithic (POST + PUT)", monolithic],
        [`chunked (${CONFIG.chunkMiB} MiB PATCHes)`, chunked],
      ] as const) {
        for (const side of SIDES) {
          const digest = fresh();
          flushDisks();
          const clientBefore = ownCpuSeconds();
          const started = performance.now();
          if (samples === monolithic) await pushPostPut(target[side], "bench/blobs", blob, digest);
          else await pushChunked(target[side], "bench/blobs", blob, digest, CONFIG.chunkMiB * MiB);
          const seconds = (performance.now() - started) / 1000;
          clientCpuPush[side] += ownCpuSeconds() - clientBefore;
          samples[side].push(CONFIG.blobMiB / seconds);
          pushed[side].push(digest);
          progress(
            `push ${kind} ${rep}/${CONFIG.pushRepeats} ${LABEL[side]}: ${format(CONFIG.blobMiB / seconds)} MiB/s`,
          );
        }
      }
    }
    const cpuPush = perSide(() => 0);
    for (const side of SIDES) {
      const gib = (pushed[side].length * CONFIG.blobMiB) / 1024;
      cpuPush[side] = (cpuSeconds(running[side].pid) - cpuBeforePush[side]) / gib;
    }
    flushDisks();
    phaseDone("large-blob pushes");

    // Airlock also takes a monolithic upload in one POST; Distribution 2.8 answers such a POST
    // with 202 and an open session (the body is ignored), so this row has Airlock only.
    const singlePost: number[] = [];
    for (let rep = 1; rep <= CONFIG.pushRepeats; rep++) {
      const digest = fresh();
      flushDisks();
      const started = performance.now();
      await pushSinglePost(target.airlock, "bench/blobs", blob, digest);
      singlePost.push(CONFIG.blobMiB / ((performance.now() - started) / 1000));
      progress(`push single POST ${rep}/${CONFIG.pushRepeats} Airlock: ${format(singlePost.at(-1))} MiB/s`);
    }
    flushDisks();
    phaseDone("single-POST pushes");

    rows.push(
      {
        title: `Blob push, monolithic (POST + PUT), ${blobLabel}`,
        unit: "MiB/s",
        better: "higher",
        airlock: median(monolithic.airlock),
        distribution: median(monolithic.distribution),
        target: 1,
      },
      {
        title: `Blob push, chunked (${CONFIG.chunkMiB} MiB PATCHes), ${blobLabel}`,
        unit: "MiB/s",
        better: "higher",
        airlock: median(chunked.airlock),
        distribution: median(chunked.distribution),
        target: 1,
      },
    );
    details.push(
      `Blob push, monolithic (POST + PUT), each run: ${describeSamples(monolithic, "MiB/s")}.`,
      `Blob push, chunked, each run: ${describeSamples(chunked, "MiB/s")}.`,
      `Push client (this Node.js process, bodies sent from memory): ` +
        `${format(clientCpuPush.airlock / ((pushed.airlock.length * CONFIG.blobMiB) / 1024))} CPU-s per GiB to ` +
        `Airlock, ${format(clientCpuPush.distribution / ((pushed.distribution.length * CONFIG.blobMiB) / 1024))} ` +
        `to Distribution.`,
      `Blob push in a single POST ?digest= (Airlock only), each run: ${singlePost.map(format).join(", ")} MiB/s ` +
        `(median ${format(median(singlePost))}).`,
    );

    // --- Large blob pulls -------------------------------------------------------------------
    // Verified pulls hash every byte (as a real client does) and so need about 1 CPU-s per GiB
    // in the client on top of what the server spends; plain pulls drop the bytes, and show how
    // fast each server can send when the client costs little.
    type PullMode = "verified" | "plain";
    const MODES: PullMode[] = ["verified", "plain"];
    const single = { verified: perSide<number[]>(() => []), plain: perSide<number[]>(() => []) };
    const concurrent = { verified: perSide<number[]>(() => []), plain: perSide<number[]>(() => []) };
    const clientCpuPull = { verified: perSide(() => 0), plain: perSide(() => 0) };
    const serverCpuPull = { verified: perSide(() => 0), plain: perSide(() => 0) };
    const pullWall = { verified: perSide(() => 0), plain: perSide(() => 0) };
    const pulledMiB = { verified: perSide(() => 0), plain: perSide(() => 0) };
    const pullOnce = async (side: Side, mode: PullMode, digest: string): Promise<void> => {
      const url = `${target[side].origin}/v2/bench/blobs/blobs/${digest}`;
      const got = await curlGet(url, target[side].headers, { hash: mode === "verified", limitMs: 120_000 });
      if (got.status !== 200 || got.bytes !== blobBytes || (mode === "verified" && got.digest !== digest)) {
        throw new Error(
          `${LABEL[side]} pull of ${digest}: status ${got.status}, ${got.bytes} bytes, digest ${got.digest}`,
        );
      }
      pulledMiB[mode][side] += CONFIG.blobMiB;
    };
    for (let rep = 1; rep <= CONFIG.pullRepeats; rep++) {
      for (const mode of MODES) {
        for (const side of SIDES) {
          const digest = pushed[side].at(-1) ?? "";
          const clientBefore = ownCpuSeconds();
          const serverBefore = cpuSeconds(running[side].pid);
          const wallBefore = performance.now();
          let started = performance.now();
          await pullOnce(side, mode, digest);
          single[mode][side].push(CONFIG.blobMiB / ((performance.now() - started) / 1000));
          started = performance.now();
          await Promise.all(Array.from({ length: CONFIG.concurrentPulls }, () => pullOnce(side, mode, digest)));
          concurrent[mode][side].push(
            (CONFIG.concurrentPulls * CONFIG.blobMiB) / ((performance.now() - started) / 1000),
          );
          clientCpuPull[mode][side] += ownCpuSeconds() - clientBefore;
          serverCpuPull[mode][side] += cpuSeconds(running[side].pid) - serverBefore;
          pullWall[mode][side] += (performance.now() - wallBefore) / 1000;
          progress(
            `pull ${mode} ${rep}/${CONFIG.pullRepeats} ${LABEL[side]}: single ${format(single[mode][side].at(-1))} ` +
              `MiB/s, ${CONFIG.concurrentPulls} concurrent ${format(concurrent[mode][side].at(-1))} MiB/s aggregate`,
          );
        }
      }
    }
    phaseDone("pulls");
    const cpuPull = perSide(() => 0);
    for (const side of SIDES) {
      const seconds = serverCpuPull.verified[side] + serverCpuPull.plain[side];
      cpuPull[side] = seconds / ((pulledMiB.verified[side] + pulledMiB.plain[side]) / 1024);
    }
    const busyShare = (mode: PullMode, side: Side): number =>
      Math.round(
        (100 * (clientCpuPull[mode][side] + serverCpuPull[mode][side])) /
          (pullWall[mode][side] * os.availableParallelism()),
      );
    const perGiB = (mode: PullMode, cpu: PerSide<number>, side: Side): string =>
      format(cpu[side] / (pulledMiB[mode][side] / 1024));
    rows.push(
      {
        title: `Blob pull, single, ${blobLabel}, digest verified`,
        unit: "MiB/s",
        better: "higher",
        airlock: median(single.verified.airlock),
        distribution: median(single.verified.distribution),
        target: 1,
      },
      {
        title: `Blob pull, ${CONFIG.concurrentPulls} concurrent, aggregate, digests verified`,
        unit: "MiB/s",
        better: "higher",
        airlock: median(concurrent.verified.airlock),
        distribution: median(concurrent.verified.distribution),
        target: 1,
      },
      {
        title: `Blob pull, single, ${blobLabel}, bytes dropped (server's pace)`,
        unit: "MiB/s",
        better: "higher",
        airlock: median(single.plain.airlock),
        distribution: median(single.plain.distribution),
        target: 1,
      },
      {
        title: `Blob pull, ${CONFIG.concurrentPulls} concurrent, aggregate, bytes dropped`,
        unit: "MiB/s",
        better: "higher",
        airlock: median(concurrent.plain.airlock),
        distribution: median(concurrent.plain.distribution),
        target: 1,
      },
    );
    for (const mode of MODES) {
      details.push(
        `Blob pull ${mode}, single, each run: ${describeSamples(single[mode], "MiB/s")}.`,
        `Blob pull ${mode}, ${CONFIG.concurrentPulls} concurrent, each run: ` +
          `${describeSamples(concurrent[mode], "MiB/s")}.`,
        `Blob pull ${mode}: CPU-s per GiB, client / server: Airlock ${perGiB(mode, clientCpuPull[mode], "airlock")} / ` +
          `${perGiB(mode, serverCpuPull[mode], "airlock")}, Distribution ` +
          `${perGiB(mode, clientCpuPull[mode], "distribution")} / ${perGiB(mode, serverCpuPull[mode], "distribution")}; ` +
          `client and server together kept ${busyShare(mode, "airlock")}% of the ${os.availableParallelism()} CPUs ` +
          `busy with Airlock, ${busyShare(mode, "distribution")}% with Distribution (near 100%, the machine rather ` +
          `than the server sets the pace).`,
      );
    }

    // --- Small images -----------------------------------------------------------------------
    progress(`generating ${CONFIG.smallImages} small images`);
    const images = Array.from({ length: CONFIG.smallImages }, (_, i) => makeSmallImage(i));
    const smallRate = perSide(() => 0);
    const smallCpu = perSide(() => 0);
    for (const side of SIDES) {
      flushDisks();
      const cpuBefore = cpuSeconds(running[side].pid);
      const result = await pool(images, CONFIG.smallConcurrency, PHASE_LIMIT_MS, (image) =>
        pushSmallImage(target[side], image),
      );
      smallRate[side] = result.done / result.seconds;
      smallCpu[side] = (1000 * (cpuSeconds(running[side].pid) - cpuBefore)) / Math.max(1, result.done);
      progress(
        `small images ${LABEL[side]}: ${result.done} pushed, ${result.failed} failed in ` +
          `${result.seconds.toFixed(1)} s: ${format(smallRate[side])} images/s`,
      );
      if (result.failed > 0) {
        details.push(`Small-image push on ${LABEL[side]}: ${result.failed} failed; first error: ${result.firstError}`);
      }
      if (result.done < images.length && result.failed === 0) {
        details.push(`Small-image push on ${LABEL[side]} stopped at the phase time limit after ${result.done} images.`);
      }
    }
    phaseDone("small-image pushes");
    rows.push({
      title: `Small-image push (${CONFIG.smallImages} images, ${CONFIG.smallConcurrency} at a time)`,
      unit: "images/s",
      better: "higher",
      airlock: smallRate.airlock,
      distribution: smallRate.distribution,
      target: 2,
    });
    details.push(
      `Small image = a config blob (~300 B) and one random layer (1–4.5 KiB), each POST + PUT, then PUT of the ` +
        `OCI manifest by tag: 5 requests per image, into 10 repositories.`,
    );

    // --- Manifest GET and blob HEAD under load ----------------------------------------------
    const first = images[0];
    if (!first) throw new Error("no small image was generated");
    const manifestPath = `/v2/${first.repo}/manifests/${first.tag}`;
    const blobPath = `/v2/${first.repo}/blobs/${first.layerDigest}`;
    const manifestLoad = perSide<LoadResult | undefined>(() => undefined);
    const headLoad = perSide<LoadResult | undefined>(() => undefined);
    for (const side of SIDES) {
      const headers = { ...target[side].headers, Accept: OCI_MANIFEST };
      const check = expectStatus(
        await send(target[side], "GET", manifestPath, { headers }),
        200,
        `${LABEL[side]} manifest GET`,
      );
      if (!check.body.equals(first.manifest)) throw new Error(`${LABEL[side]} served a different manifest`);
      const url = `${target[side].origin}${manifestPath}`;
      const options = { threads: 2, connections: CONFIG.connections, seconds: CONFIG.warmupSeconds };
      await wrk(url, headers, options);
      const result = await wrk(url, headers, { ...options, seconds: CONFIG.loadSeconds });
      manifestLoad[side] = result;
      progress(`manifest GET ${LABEL[side]}: ${describeLoad(result)}`);
    }
    phaseDone("manifest GET load");
    for (const side of SIDES) {
      const check = expectStatus(await send(target[side], "HEAD", blobPath), 200, `${LABEL[side]} blob HEAD`);
      if (check.headers["content-length"] !== String(first.layer.length)) {
        throw new Error(`${LABEL[side]} blob HEAD: Content-Length ${check.headers["content-length"]}`);
      }
      const url = `${target[side].origin}${blobPath}`;
      const options = { connections: CONFIG.connections, seconds: CONFIG.warmupSeconds };
      await abHead(url, target[side].headers, options);
      const result = await abHead(url, target[side].headers, { ...options, seconds: CONFIG.loadSeconds });
      headLoad[side] = result;
      progress(`blob HEAD ${LABEL[side]}: ${describeLoad(result)}`);
    }
    phaseDone("blob HEAD load");
    rows.push(
      {
        title: `Manifest GET by tag (wrk, ${CONFIG.connections} connections, ${CONFIG.loadSeconds} s)`,
        unit: "req/s",
        better: "higher",
        airlock: manifestLoad.airlock?.requestsPerSecond,
        distribution: manifestLoad.distribution?.requestsPerSecond,
        target: 5,
      },
      {
        title: `Blob HEAD (ab -k, ${CONFIG.connections} connections, ${CONFIG.loadSeconds} s)`,
        unit: "req/s",
        better: "higher",
        airlock: headLoad.airlock?.requestsPerSecond,
        distribution: headLoad.distribution?.requestsPerSecond,
        target: 5,
      },
    );
    for (const side of SIDES) {
      const m = manifestLoad[side];
      const h = headLoad[side];
      if (m) details.push(`Manifest GET on ${LABEL[side]}: ${describeLoad(m)}.`);
      if (h) details.push(`Blob HEAD on ${LABEL[side]}: ${describeLoad(h)}.`);
    }

    // --- Tags list of a repository with many tags -------------------------------------------
    const tagNames = Array.from({ length: CONFIG.tags }, (_, i) => `t${String(i).padStart(4, "0")}`);
    const tagPutRate = perSide(() => 0);
    const tagListRate = perSide(() => 0);
    const tagListP50 = perSide(() => 0);
    const tagListP95 = perSide(() => 0);
    for (const side of SIDES) {
      const t = target[side];
      await pushPostPut(t, "bench/tags", first.config, first.configDigest);
      await pushPostPut(t, "bench/tags", first.layer, first.layerDigest);
      const tagged = await pool(tagNames, CONFIG.smallConcurrency, PHASE_LIMIT_MS, (tag) =>
        putManifest(t, "bench/tags", tag, first.manifest),
      );
      if (tagged.failed > 0) throw new Error(`${LABEL[side]} tagging: ${tagged.failed} failed: ${tagged.firstError}`);
      tagPutRate[side] = tagged.done / tagged.seconds;
      const listed = expectStatus(await send(t, "GET", "/v2/bench/tags/tags/list"), 200, "tags list");
      const tags = (JSON.parse(listed.body.toString("utf8")) as { tags?: string[] }).tags ?? [];
      if (tags.length !== tagged.done) {
        throw new Error(`${LABEL[side]} tags list has ${tags.length} tags, ${tagged.done} were pushed`);
      }
      const latencies: number[] = [];
      const deadline = Date.now() + PHASE_LIMIT_MS;
      const started = performance.now();
      for (let i = 0; i < CONFIG.tagListRequests && Date.now() < deadline; i++) {
        const begin = performance.now();
        expectStatus(await send(t, "GET", "/v2/bench/tags/tags/list"), 200, "tags list");
        latencies.push(performance.now() - begin);
      }
      tagListRate[side] = latencies.length / ((performance.now() - started) / 1000);
      tagListP50[side] = percentile(latencies, 50);
      tagListP95[side] = percentile(latencies, 95);
      progress(
        `tags ${LABEL[side]}: ${tagged.done} tag PUTs at ${format(tagPutRate[side])}/s; tags list ` +
          `${format(tagListRate[side])} req/s, p50 ${format(tagListP50[side])} ms, p95 ${format(tagListP95[side])} ms`,
      );
    }
    phaseDone("tags");
    rows.push(
      {
        title: `Tags list of ${CONFIG.tags.toLocaleString("en-US")} tags (${CONFIG.tagListRequests} sequential GETs)`,
        unit: "req/s",
        better: "higher",
        airlock: tagListRate.airlock,
        distribution: tagListRate.distribution,
      },
      {
        title: "Tags list, median latency",
        unit: "ms",
        better: "lower",
        airlock: tagListP50.airlock,
        distribution: tagListP50.distribution,
      },
      {
        title: `Tagging one manifest ${CONFIG.tags.toLocaleString("en-US")} times (PUT, ${CONFIG.smallConcurrency} at a time)`,
        unit: "tags/s",
        better: "higher",
        airlock: tagPutRate.airlock,
        distribution: tagPutRate.distribution,
      },
    );
    details.push(
      `Tags list p95 latency: Airlock ${format(tagListP95.airlock)} ms, Distribution ${format(tagListP95.distribution)} ms.`,
    );

    // --- Proxy cache: misses, hits and manifests by tag through each proxy ---------------------
    const proxy: ProxyPhaseResult = await runProxyPhases({
      airlock: running.airlock,
      upstream: running.distribution,
      distributionProxy: distributionProxy ?? { failure: proxyFailure ?? "not started" },
      blob,
      blobMiB: CONFIG.blobMiB,
      fresh,
      manifestImage: { repo: first.repo, tag: first.tag, manifest: first.manifest },
      direct: {
        single: {
          verified: { airlock: median(single.verified.airlock), distribution: median(single.verified.distribution) },
          plain: { airlock: median(single.plain.airlock), distribution: median(single.plain.distribution) },
        },
        concurrent: {
          verified: {
            airlock: median(concurrent.verified.airlock),
            distribution: median(concurrent.verified.distribution),
          },
          plain: { airlock: median(concurrent.plain.airlock), distribution: median(concurrent.plain.distribution) },
        },
        manifest: {
          airlock: manifestLoad.airlock?.requestsPerSecond,
          distribution: manifestLoad.distribution?.requestsPerSecond,
        },
      },
      config: { ...CONFIG, phaseLimitMs: PHASE_LIMIT_MS },
      progress,
      phaseDone,
      flushDisks,
    });
    rows.push(...proxy.rows);
    details.push(...proxy.details);
    const othersRun = othersBetween(runSnapshot, cpuSnapshot(pids));

    // --- Memory and CPU ---------------------------------------------------------------------
    const peak = perSide(() => 0);
    for (const side of SIDES) peak[side] = memoryMiB(running[side].pid).peak;
    rows.push(
      {
        title: "Server CPU time per small image pushed",
        unit: "ms",
        better: "lower",
        airlock: smallCpu.airlock,
        distribution: smallCpu.distribution,
      },
      {
        title: "Peak memory over the run (VmHWM)",
        unit: "MiB",
        better: "lower",
        airlock: peak.airlock,
        distribution: peak.distribution,
      },
      {
        title: "CPU time per GiB pushed (large-blob pushes)",
        unit: "s/GiB",
        better: "lower",
        airlock: cpuPush.airlock,
        distribution: cpuPush.distribution,
      },
      {
        title: "CPU time per GiB pulled (large-blob pulls)",
        unit: "s/GiB",
        better: "lower",
        airlock: cpuPull.airlock,
        distribution: cpuPull.distribution,
      },
    );
    details.push(
      `Resident memory just after start: Airlock ${format(startRss.airlock)} MiB, Distribution ` +
        `${format(startRss.distribution)} MiB.`,
    );
    if (distributionProxy) {
      details.push(
        `Distribution proxy's memory: ${format(proxyStartRss)} MiB resident just after start, ` +
          `${format(memoryMiB(distributionProxy.pid).peak)} MiB at peak (VmHWM).`,
      );
    }
    const logged = [...SIDES.map((side) => [LABEL[side], running[side].logFile] as const)];
    if (distributionProxy) logged.push(["Distribution proxy", distributionProxy.logFile]);
    for (const [label, logFile] of logged) {
      const lines = readFileSync(logFile, "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "");
      // Distribution in proxy mode always warns at start that it cannot delete repositories.
      const expected = lines.filter((line) => line.includes("does not implement RempositoryRemover")).length;
      details.push(
        `${label} wrote ${lines.length - expected} log line(s) at warn or above during the run` +
          (expected > 0 ? ", besides its start-up warning that a proxy cannot delete repositories." : "."),
      );
    }
    progress(`peak memory: Airlock ${format(peak.airlock)} MiB, Distribution ${format(peak.distribution)} MiB`);
    progress(
      `CPU per GiB pushed: Airlock ${format(cpuPush.airlock)} s, Distribution ${format(cpuPush.distribution)} s`,
    );

    // --- Report -----------------------------------------------------------------------------
    const seconds = (Date.now() - runStarted) / 1000;
    const cpuModel = os.cpus()[0]?.model ?? "unknown";
    const fsType = spawnSync("findmnt", ["-n", "-o", "FSTYPE", "-T", workDir], { encoding: "utf8" }).stdout?.trim();
    const block = renderBlock({
      title: QUICK ? "Run (BENCH_QUICK: small sizes, not meaningful)" : "Run",
      machine: [
        ["Date", new Date().toISOString().replace(/\.\d+Z$/, "Z")],
        [
          "Machine",
          `${os.availableParallelism()} CPUs (nproc), ${cpuModel}, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB ` +
            `memory, Linux ${os.release()}, data on ${fsType || "unknown"}`,
        ],
        ["Airlock", airlockRevision()],
        [
          "Quietness",
          `load average at start ${loadAtStart.map((n) => n.toFixed(2)).join(", ")}, other processes busy ` +
            `${Math.round(busyAtStart * 100)}% just before; during the run they used ` +
            `${othersRun.seconds.toFixed(1)} CPU-s, ${(othersRun.share * 100).toFixed(1)}% of the CPUs over the ` +
            `measured phases` +
            (disturbed.length > 0
              ? ` (phases above 5%: ${disturbed.join(", ")}; their figures may be disturbed)`
              : " (no phase above 5%)"),
        ],
        ["Node.js", process.version],
        ["Distribution", distributionVersion()],
        [
          "Load tools",
          `${(await toolVersion("wrk", ["-v"])).replace(/\s*Copyright.*$/, "")}; ` +
            `${(await toolVersion("ab", ["-V"])).replace(/^This is (ApacheBench, Version [\d.]+).*$/, "$1")}`,
        ],
        [
          "Run time",
          `${Math.round(seconds - waitedSeconds)} s` +
            (waitedSeconds >= 5 ? `, after ${Math.round(waitedSeconds)} s waiting for a quiet machine` : ""),
        ],
      ],
      rows,
      sections: [proxy.section],
      details,
      notes: [
        "Authentication differs: every request to Airlock carries `Authorization: Basic` for the admin user and is " +
          "checked (the server caches verified credentials, so no password hash is computed per request, but the " +
          "account is looked up and authorised every time); Distribution runs without authentication.",
        "Upload method: Distribution 2.8 does not implement the single-POST monolithic upload (a POST with " +
          "`?digest=` answers 202 and opens a session), so the monolithic row is POST then PUT `?digest=` with the " +
          "whole body, for both registries, as Docker clients do. Airlock's single POST is listed under Details.",
        `Each large push uses new content (a new digest); \`sync\` runs before each timed push so that writeback of ` +
          `the previous push does not land in it. Figures are medians of ${CONFIG.pushRepeats} push and ` +
          `${CONFIG.pullRepeats} pull runs of each kind.`,
        "Durability differs: Airlock fsyncs each stored blob part and its SQLite metadata (WAL, synchronous=FULL) " +
          "before answering; Distribution's filesystem driver does not fsync.",
        "Distribution's configuration: filesystem storage, `storage.delete.enabled: true`, in-memory blob " +
          "descriptor cache (as in Debian's default configuration), access log off, log level warn. Airlock: " +
          "`--log-level warn`, defaults otherwise.",
        "The servers run side by side (a third during the proxy phases: Distribution as a pull-through cache), but " +
          "only one is under load at a time, with the upstream it pulls from during the proxy phases; phases " +
          "alternate between them. The clients share the machine's CPUs with the server under test.",
        ...proxy.notes,
        "Clients: pushes, small images and the tags list from this Node.js process (`node:http`, keep-alive); " +
          "large pulls with curl, piped into `openssl dgst -sha256` for the verified rows (a Node.js client spends " +
          "more CPU receiving than the servers spend sending) and into /dev/null for the bytes-dropped rows, which " +
          "show each server's own pace; manifest GET with wrk (2 threads, HTTP/1.1 " +
          "keep-alive); blob HEAD with ApacheBench (`ab -k -i`, one thread, HTTP/1.0 keep-alive), because wrk 4.1 " +
          "never completes a HEAD request (it waits for the body that Content-Length announces). Each wrk and ab " +
          `run follows a ${CONFIG.warmupSeconds} s warm-up that is not counted.`,
      ],
    });
    const resultsFile =
      process.env["BENCH_OUTPUT"] ??
      (QUICK ? path.join(os.tmpdir(), "airlock-bench-RESULTS.quick.md") : path.join(repoRoot, "bench", "RESULTS.md"));
    writeResults(resultsFile, block);
    // The repository's format check covers bench/: lay the tables out as prettier does.
    const prettier = path.join(repoRoot, "node_modules", ".bin", "prettier");
    if (existsSync(prettier))
      spawnSync(prettier, ["--log-level", "warn", "--write", resultsFile], { stdio: "inherit" });
    progress(`wrote ${path.relative(process.cwd(), resultsFile) || resultsFile} in ${Math.round(seconds)} s`);
  } finally {
    clearTimeout(watchdog);
    await stopAll();
    if (KEEP) progress(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
