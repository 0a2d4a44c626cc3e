// The benchmark: starts Airlock (one worker per CPU, and again with one worker), CNCF Distribution
// 3 (the anchor) and Distribution 2.8 side by side on loopback, runs every phase against one
// registry at a time (alternating between them, never loading two at once), then the shared
// set-up (three Airlock replicas on PostgreSQL and S3 behind a round-robin balancer), and writes
// bench/RESULTS.md with the targets judged row by row. Progress goes to stderr. Run it
// through bench/run.sh, which installs and builds the tools it needs.
//
// Switches (environment): BENCH_QUICK=1 runs a much smaller version (a smoke test of the script,
// its figures are not meaningful, written to the temporary directory instead of RESULTS.md);
// BENCH_SOAK=1 adds the soak (16 clients, 10 minutes) after the run, BENCH_SOAK=only runs the soak
// alone; BENCH_OUTPUT=FILE writes the results elsewhere; BENCH_KEEP=1 keeps the temporary
// directory (the servers' data and logs); BENCH_QUIET_WAIT=SECONDS bounds the wait for a quiet
// machine at the start (180 by default); BENCH_REPLICAS=0 leaves the replicas' column out.

import { runGcPhase, type GcPhaseResult } from "./lib/gc.ts";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runLargePulls, type PullResult } from "./lib/large-pulls.ts";
import { makeLargeBlob, runLargePushes } from "./lib/large-pushes.ts";
import { toolVersion } from "./lib/load.ts";
import { cpuSnapshot, othersBetween, waitForQuiet, type CpuSnapshot } from "./lib/machine.ts";
import { MemoryWatch } from "./lib/memory.ts";
import type { BenchConfig, PhaseContext, Subject } from "./lib/phase.ts";
import { treeCpuSeconds, treePids } from "./lib/process-tree.ts";
import { runProxyPhases, type ProxyUnderTest } from "./lib/proxy.ts";
import { REPLICAS, startReplicaSetup, type ReplicaSetup } from "./lib/replicas.ts";
import {
  format,
  renderBlock,
  RUN_MARKERS,
  SOAK_MARKERS,
  writeResults,
  type Column,
  type Row,
  type Table,
} from "./lib/report.ts";
import { runRequestLoad } from "./lib/request-load.ts";
import { distributionVersion, startAirlock, startDistribution, type RunningServer } from "./lib/servers.ts";
import { runSmallImages } from "./lib/small-images.ts";
import { runSoak, type SoakOptions } from "./lib/soak.ts";
import { runTagsList } from "./lib/tags-list.ts";
import { atLeastColumn, TARGETS } from "./lib/targets.ts";

const QUICK = process.env["BENCH_QUICK"] === "1";
const KEEP = process.env["BENCH_KEEP"] === "1";
const SOAK = process.env["BENCH_SOAK"] ?? "";
const WITH_REPLICAS = process.env["BENCH_REPLICAS"] !== "0";
/** BENCH_GC=0 leaves out the garbage collection phase. */
const WITH_GC = process.env["BENCH_GC"] !== "0";

const CONFIG: BenchConfig = QUICK
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
      settleSeconds: 3,
      phaseLimitMs: 180_000,
    }
  : {
      blobMiB: 256,
      chunkMiB: 16,
      pushRepeats: 3,
      pullRepeats: 3,
      missRepeats: 3,
      concurrentPulls: 8,
      smallImages: 500,
      smallConcurrency: 8,
      loadSeconds: 10,
      warmupSeconds: 2,
      connections: 16,
      tags: 1000,
      tagListRequests: 200,
      settleSeconds: 30,
      phaseLimitMs: 180_000,
    };

const SOAK_OPTIONS: SoakOptions = QUICK
  ? {
      clients: 16,
      seconds: 40,
      sampleSeconds: 1,
      warmupSeconds: 10,
      seedImages: 5,
      seedLayerBytes: 1024 * 1024,
      pushShare: 0.3,
      flatWithin: 0.1,
    }
  : {
      clients: 16,
      seconds: 600,
      sampleSeconds: 2,
      warmupSeconds: 60,
      seedImages: 20,
      seedLayerBytes: 1024 * 1024,
      pushShare: 0.3,
      flatWithin: 0.1,
    };

/** A Distribution in proxy mode gets this long to answer /v2/, else its proxy cells read n/a. */
const PROXY_START_LIMIT_MS = 15_000;
/** The whole run is abandoned past this (the soak adds its own length). */
const RUN_LIMIT_MS = 30 * 60_000;

const repoRoot = path.resolve(import.meta.dirname, "..");
const runStarted = Date.now();
const cpus = os.availableParallelism();
/** "Every core": Airlock's default is one worker per CPU; at least 2, so that the comparison means something. */
const WORKERS = Math.max(2, cpus);

const LABELS: Record<Column, string> = {
  airlock: `Airlock, ${WORKERS} workers`,
  airlock1: "Airlock, 1 worker",
  replicas: `Airlock ×${REPLICAS}, PostgreSQL + S3`,
  d3: "Distribution 3",
  d28: "Distribution 2.8",
};

function progress(message: string): void {
  const elapsed = ((Date.now() - runStarted) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${elapsed}s] ${message}\n`);
}

/** The commit the server ran from, and whether registry-server/ had changes not committed. */
function airlockRevision(): string {
  const git = (...args: string[]): string =>
    spawnSync("git", ["-C", repoRoot, ...args], { encoding: "utf8" }).stdout?.trim() ?? "";
  const commit = git("rev-parse", "--short", "HEAD") || "unknown commit";
  const dirty = git("status", "--porcelain", "--", "registry-server") !== "";
  return `registry-server at ${commit}${dirty ? " with uncommitted changes in registry-server/" : ""}`;
}

/** Rows of several runs of one phase (the single servers, then the replicas) merged by title. */
function mergeRows(...lists: Row[][]): Row[] {
  const merged: Row[] = [];
  for (const list of lists) {
    for (const row of list) {
      const same = merged.find((r) => r.title === row.title);
      if (same) same.values = { ...same.values, ...row.values };
      else merged.push({ ...row, values: { ...row.values } });
    }
  }
  return merged;
}

/** Log lines at warn or above, less the ones a Distribution proxy always writes at start. */
function logLines(label: string, files: string[]): string {
  const lines = files.flatMap((file) =>
    existsSync(file)
      ? readFileSync(file, "utf8")
          .split("\n")
          .filter((line) => line.trim() !== "")
      : [],
  );
  // 2.8 spells it "RempositoryRemover".
  const expected = lines.filter((line) => /does not implement Rem?positoryRemover/.test(line));
  return (
    `${label} wrote ${lines.length - expected.length} log line(s) at warn or above` +
    (expected.length > 0 ? ", besides its start-up warning that a proxy cannot delete repositories." : ".")
  );
}

function startFailure(err: unknown, logFile: string): string {
  // The first line says what happened; the log, why (a panic's line comes before its stack).
  const logged = existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n") : [];
  const cause = logged.find((line) => /^panic:|level=(fatal|error)/.test(line));
  return [(err as Error).message.split("\n")[0], cause?.trim()].filter(Boolean).join(" ");
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

  const started: { stop: () => Promise<void> }[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(started.splice(0).map((server) => server.stop().catch(() => undefined)));
  };
  const soakMs = SOAK === "" ? 0 : SOAK_OPTIONS.seconds * 1000 + 5 * 60_000;
  const watchdog = setTimeout(
    () => {
      progress(`run limit of ${Math.round((RUN_LIMIT_MS + soakMs) / 60_000)} minutes reached: stopping`);
      void stopAll().finally(() => process.exit(1));
    },
    (SOAK === "only" ? 0 : RUN_LIMIT_MS) + soakMs,
  );
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping the servers`);
      void stopAll().finally(() => process.exit(130));
    });
  }
  const output = (name: string, quickName: string): string =>
    QUICK ? path.join(os.tmpdir(), quickName) : path.join(repoRoot, "bench", name);
  const resultsFile = process.env["BENCH_OUTPUT"] ?? output("RESULTS.md", "airlock-bench-RESULTS.quick.md");

  try {
    // Node's compile cache holds each module stripped and compiled, keyed by its contents and the
    // process's V8 flags, and is written when a process exits: after a change to the server, every
    // process of the run would miss it and load the TypeScript stripper (10-30 MiB more each, the
    // idle figures with them). A server started and stopped with each set of flags fills it first.
    for (const workers of new Set([WORKERS, 1])) {
      const warm = await startAirlock(repoRoot, workDir, { name: `warm-up-${workers}`, label: "warm-up", workers });
      await warm.stop();
    }
    const airlock = await startAirlock(repoRoot, workDir, { name: "airlock", label: LABELS.airlock, workers: WORKERS });
    started.push(airlock);
    progress(`${LABELS.airlock} ready at ${airlock.target.origin} (${treePids(airlock.roots).length} processes)`);
    if (SOAK !== "only")
      await runBenchmark(workDir, airlock, started, resultsFile, busyAtStart, waitedSeconds, loadAtStart);
    if (SOAK !== "") await runSoakPhase(airlock, resultsFile);
  } finally {
    clearTimeout(watchdog);
    await stopAll();
    if (KEEP) progress(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

async function runBenchmark(
  workDir: string,
  airlock: RunningServer,
  started: { stop: () => Promise<void> }[],
  resultsFile: string,
  busyAtStart: number,
  waitedSeconds: number,
  loadAtStart: number[],
): Promise<void> {
  const phaseStarted = Date.now();
  const airlock1 = await startAirlock(repoRoot, workDir, { name: "airlock-1", label: LABELS.airlock1, workers: 1 });
  started.push(airlock1);
  const d3 = await startDistribution(repoRoot, workDir, { release: "3", name: "distribution-3", label: LABELS.d3 });
  started.push(d3);
  const d28 = await startDistribution(repoRoot, workDir, {
    release: "2.8",
    name: "distribution-2.8",
    label: LABELS.d28,
  });
  started.push(d28);
  const subjects: Subject[] = [
    { key: "airlock", label: LABELS.airlock, server: airlock },
    { key: "airlock1", label: LABELS.airlock1, server: airlock1 },
    { key: "d3", label: LABELS.d3, server: d3 },
    { key: "d28", label: LABELS.d28, server: d28 },
  ];
  for (const s of subjects)
    progress(`${s.label} ready at ${s.server.target.origin} (pid ${s.server.roots.join(", ")})`);
  // The anchors of the proxy-cache phases: each Distribution as a pull-through cache of Distribution 3.
  const proxies: ProxyUnderTest[] = [{ key: "airlock", label: "Airlock", kind: "airlock", server: airlock }];
  for (const [key, release, label] of [
    ["d3", "3", LABELS.d3],
    ["d28", "2.8", LABELS.d28],
  ] as const) {
    const name = `distribution-${release}-proxy`;
    try {
      const server = await startDistribution(repoRoot, workDir, {
        release,
        name,
        label: `${label} proxy`,
        proxyRemoteUrl: d3.target.origin,
        readyTimeoutMs: PROXY_START_LIMIT_MS,
      });
      started.push(server);
      proxies.push({ key, label, kind: "distribution", server });
      progress(`${label} proxy (proxy.remoteurl ${d3.target.origin}) ready at ${server.target.origin}`);
    } catch (err) {
      const failure = startFailure(err, path.join(workDir, `${name}.log`));
      proxies.push({ key, label, kind: "distribution", server: { failure } });
      progress(`${label} proxy could not start, its proxy cells will read n/a: ${failure}`);
    }
  }
  const proxyRoots = proxies.flatMap((p) => ("failure" in p.server ? [] : p.server.roots));

  // All the run's processes, for the quietness check (the replicas join later).
  let replicaSetup: ReplicaSetup | undefined;
  const allRoots = (): number[] => [
    ...subjects.flatMap((s) => s.server.roots),
    ...proxyRoots,
    ...(replicaSetup ? [...replicaSetup.server.roots, ...Object.values(replicaSetup.infrastructure)] : []),
  ];
  const runSnapshot = cpuSnapshot(allRoots());
  let phaseSnapshot: CpuSnapshot = runSnapshot;
  const disturbed: string[] = [];
  const ctx: PhaseContext = {
    config: CONFIG,
    progress,
    phaseDone: (phase) => {
      const now = cpuSnapshot(allRoots());
      const others = othersBetween(phaseSnapshot, now);
      phaseSnapshot = now;
      if (others.share >= 0.05) {
        disturbed.push(`${phase} ${Math.round(others.share * 100)}%`);
        progress(
          `warning: other processes used ${Math.round(others.share * 100)}% of the CPUs during ${phase} ` +
            `(${others.seconds.toFixed(1)} CPU-s): its figures may be disturbed`,
        );
      }
    },
  };

  // Idle memory once everything is up and has settled; then sampled for the whole run. Settled:
  // each Airlock process collects its start-up garbage at its first quiet look at its event loop
  // (every 5 s, idle-collector.ts), so 15 s after the last server answered; 2 s until 2dec853.
  await new Promise((resolve) => setTimeout(resolve, QUICK ? 2_000 : 15_000));
  const measured: Subject[] = [...subjects];
  const memory = new MemoryWatch(() => measured);
  memory.start();
  const notes: string[] = [];
  const workersSeen = memory.processCount("airlock");
  if (workersSeen < 2) {
    notes.push(
      `${LABELS.airlock} ran as ${workersSeen} process: the server did not take the \`workers\` setting ` +
        "(AIRLOCK_WORKERS), so its column repeats the one-worker figures.",
    );
    progress(`warning: ${LABELS.airlock} runs as ${workersSeen} process (no workers setting?)`);
  }

  // --- The single servers ------------------------------------------------------------------------
  progress(`generating a ${CONFIG.blobMiB} MiB random blob`);
  const large = makeLargeBlob(CONFIG.blobMiB);
  memory.phase("large pushes");
  const pushes = await runLargePushes(subjects, large, ctx, [subjects[0] as Subject]);
  memory.phase("large pulls");
  const pulls = await runLargePulls(subjects, pushes.lastDigest, ctx);
  memory.phase("small images");
  const small = await runSmallImages(subjects, ctx);
  memory.phase("manifest GET and blob HEAD");
  const requests = await runRequestLoad(subjects, small.first, ctx);
  memory.phase("tags");
  const tags = await runTagsList(subjects, small.first, ctx);
  const directManifest = new Map<Column, number>();
  for (const [key, result] of requests.manifest) directManifest.set(key, result.requestsPerSecond);
  memory.phase("proxy");
  const proxy = await runProxyPhases({
    proxies,
    upstream: d3,
    large,
    manifestImage: { repo: small.first.repo, tag: small.first.tag, manifest: small.first.manifest },
    direct: { pulls: pulls.medians, manifest: directManifest },
    ctx,
  });
  const lastLoad = Date.now();

  // --- The replicas ------------------------------------------------------------------------------
  let replicaParts: { rows: Row[][]; details: string[] } = { rows: [], details: [] };
  let replicaPulls: PullResult | undefined;
  if (WITH_REPLICAS) {
    try {
      progress(`starting ${REPLICAS} Airlock replicas on PostgreSQL and S3 (versitygw) behind a balancer`);
      replicaSetup = await startReplicaSetup(repoRoot, workDir);
      started.push(replicaSetup.server);
      const replicas: Subject = { key: "replicas", label: LABELS.replicas, server: replicaSetup.server };
      progress(`${LABELS.replicas} ready at ${replicas.server.target.origin}`);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      memory.addIdle(replicas);
      measured.push(replicas);
      const infraCpuBefore = Object.values(replicaSetup.infrastructure).map((pid) => treeCpuSeconds([pid]));
      memory.phase("replicas' large pushes");
      const rPushes = await runLargePushes([replicas], large, ctx, []);
      memory.phase("replicas' large pulls");
      replicaPulls = await runLargePulls([replicas], rPushes.lastDigest, ctx);
      memory.phase("replicas' small images");
      const rSmall = await runSmallImages([replicas], ctx);
      memory.phase("replicas' manifest GET and blob HEAD");
      const rRequests = await runRequestLoad([replicas], rSmall.first, ctx);
      memory.phase("replicas' tags");
      const rTags = await runTagsList([replicas], rSmall.first, ctx);
      const infraCpu = Object.entries(replicaSetup.infrastructure).map(
        ([name, pid], i) => `${name} ${format(treeCpuSeconds([pid]) - (infraCpuBefore[i] ?? 0))}`,
      );
      replicaParts = {
        rows: [rPushes.rows, replicaPulls.rows, rSmall.rows, rRequests.rows, rTags.rows],
        details: [
          ...[rPushes, replicaPulls, rSmall, rRequests, rTags].flatMap((part) => part.details),
          `Besides the replicas, over their phases: CPU-s of ${infraCpu.join(", ")} (the balancer is a Node.js ` +
            "process piping bytes; PostgreSQL counts its postmaster and backends).",
        ],
      };
    } catch (err) {
      notes.push(`The replicas' column could not be measured: ${(err as Error).message.split("\n")[0]}.`);
      progress(`replicas failed, their column will read n/a: ${(err as Error).message}`);
    }
  }

  // --- Memory after the load ------------------------------------------------------------------------
  memory.phase("settling");
  const quietFor = (Date.now() - lastLoad) / 1000;
  if (quietFor < CONFIG.settleSeconds) {
    await new Promise((resolve) => setTimeout(resolve, (CONFIG.settleSeconds - quietFor) * 1000));
  }
  for (const subject of subjects) memory.readSettled(subject);
  const replicaSubject = measured.find((s) => s.key === "replicas");
  if (replicaSubject) {
    await new Promise((resolve) => setTimeout(resolve, CONFIG.settleSeconds * 1000));
    memory.readSettled(replicaSubject);
  }
  memory.stop();
  const memoryReport = memory.report(CONFIG.settleSeconds);
  const othersRun = othersBetween(runSnapshot, cpuSnapshot(allRoots()));

  // --- Garbage collection (servers of its own, started and stopped per backend) ----------------
  const gc: GcPhaseResult = WITH_GC
    ? await runGcPhase(repoRoot, workDir, ctx, { artifacts: QUICK ? 100 : 1_000, layerMiB: QUICK ? 16 : 256 })
    : { rows: [], details: [] };

  // --- Report ------------------------------------------------------------------------------------
  const [rp = [], rpl = [], rs = [], rr = [], rt = []] = replicaParts.rows;
  const mainRows = [
    ...mergeRows(pushes.rows, rp),
    ...mergeRows(pulls.rows, rpl),
    ...mergeRows(small.rows, rs),
    ...mergeRows(requests.rows, rr),
    ...mergeRows(tags.rows, rt),
  ];
  const columns = (keys: Column[]): Table["columns"] => keys.map((key) => ({ key, label: LABELS[key] }));
  const allColumns = columns(["airlock", "airlock1", "replicas", "d3", "d28"]);
  const anchorRatio = { of: "airlock" as const, over: "d3" as const, label: "Ratio (A/D3)" };
  const find = (title: string): Row | undefined => mainRows.find((row) => row.title.startsWith(title));
  const everyCore = (title: string, row: Row | undefined, goal: boolean): Row => ({
    title,
    unit: row?.unit ?? "",
    better: "higher",
    values: { airlock: row?.values.airlock, airlock1: row?.values.airlock1 },
    ...(goal && {
      goal: atLeastColumn("airlock", "airlock1", TARGETS.everyCore, `≥ ${TARGETS.everyCore}× 1 worker`),
    }),
  });
  const n = CONFIG.concurrentPulls;
  const everyCoreRows: Row[] = [
    everyCore("Manifest GET by tag", find("Manifest GET by tag (wrk"), true),
    everyCore(
      `Blob pull, ${n} concurrent, digests verified`,
      find(`Blob pull, ${n} concurrent, aggregate, digests`),
      true,
    ),
    everyCore(`Blob pull, ${n} concurrent, bytes dropped`, find(`Blob pull, ${n} concurrent, aggregate, bytes`), true),
    everyCore(
      "Blob pull, single, bytes dropped (one stream: one worker serves it)",
      find(`Blob pull, single, ${CONFIG.blobMiB} MiB, bytes`),
      false,
    ),
    everyCore("Blob HEAD", find("Blob HEAD"), false),
    everyCore("Small-image push", find("Small-image push"), false),
  ];
  const seconds = (Date.now() - phaseStarted) / 1000;
  const cpuModel = os.cpus()[0]?.model ?? "unknown";
  const fsType = spawnSync("findmnt", ["-n", "-o", "FSTYPE", "-T", workDir], { encoding: "utf8" }).stdout?.trim();
  const logs = [
    logLines(LABELS.airlock, airlock.logFiles),
    logLines(LABELS.airlock1, airlock1.logFiles),
    logLines(LABELS.d3, d3.logFiles),
    logLines(LABELS.d28, d28.logFiles),
    ...proxies.flatMap((p) =>
      p.kind === "distribution" && !("failure" in p.server) ? [logLines(`${p.label} proxy`, p.server.logFiles)] : [],
    ),
    ...(replicaSetup ? [logLines(LABELS.replicas, replicaSetup.server.logFiles)] : []),
  ];
  const block = renderBlock(
    {
      title: QUICK ? "Run (BENCH_QUICK: small sizes, not meaningful)" : "Run",
      machine: [
        ["Date", new Date().toISOString().replace(/\.\d+Z$/, "Z")],
        [
          "Machine",
          `${cpus} CPUs (nproc), ${cpuModel}, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB memory, Linux ` +
            `${os.release()}, data on ${fsType || "unknown"}`,
        ],
        ["Airlock", airlockRevision()],
        [
          "Quietness",
          `load average at start ${loadAtStart.map((v) => v.toFixed(2)).join(", ")}, other processes busy ` +
            `${Math.round(busyAtStart * 100)}% just before; during the run they used ` +
            `${othersRun.seconds.toFixed(1)} CPU-s, ${(othersRun.share * 100).toFixed(1)}% of the CPUs over the ` +
            `measured phases` +
            (disturbed.length > 0
              ? ` (phases above 5%: ${disturbed.join(", ")}; their figures may be disturbed)`
              : " (no phase above 5%)"),
        ],
        ["Node.js", process.version],
        ["Distribution 3", distributionVersion(repoRoot, "3")],
        ["Distribution 2.8", distributionVersion(repoRoot, "2.8")],
        [
          "Load tools",
          `${(await toolVersion("wrk", ["-v"])).replace(/\s*Copyright.*$/, "")}; ` +
            `${(await toolVersion("ab", ["-V"])).replace(/^This is (ApacheBench, Version [\d.]+).*$/, "$1")}`,
        ],
        [
          "Run time",
          `${Math.round(seconds)} s` +
            (waitedSeconds >= 5 ? `, after ${Math.round(waitedSeconds)} s waiting for a quiet machine` : ""),
        ],
      ],
      tables: [
        {
          table: {
            intro: [
              `Ratio = ${LABELS.airlock} (Airlock as it runs by default: one worker per CPU) over Distribution 3, ` +
                "the anchor. On throughput rows (higher is better) a ratio above 1 means Airlock is faster; on the " +
                "CPU, latency and memory rows (marked *lower is better*) a ratio below 1 means Airlock uses less. " +
                "Targets are issue 11's; a verdict's reason is the measured ratio, and for a target missed, a " +
                "measured cause when the run has one. In the proxy rows each column is that set-up's pull-through " +
                `cache; the replicas' column (three replicas behind a round-robin balancer) has no target.`,
            ],
            columns: allColumns,
            ratio: anchorRatio,
            rows: [...mainRows, ...proxy.rows],
          },
        },
        {
          title: "Every core",
          table: {
            intro: [
              `The same phases with ${WORKERS} workers and with one, in the same run. The issue asks throughput ` +
                `with ${WORKERS} workers at ≥ ${TARGETS.everyCore}× one worker for manifest GETs and pulls; the ` +
                "client (wrk, curl) runs on the same CPUs.",
            ],
            columns: columns(["airlock1", "airlock"]),
            ratio: { of: "airlock", over: "airlock1", label: `Ratio (${WORKERS}/1)` },
            rows: everyCoreRows,
          },
        },
        ...(gc.rows.length > 0
          ? [
              {
                title: "Garbage collection",
                table: {
                  intro: [
                    "Seconds to collect everything the deleted images held (*lower is better*), on fresh servers: " +
                      "Airlock online through its API, Distribution 3 offline with `garbage-collect`, its only " +
                      "safe mode. See Details for what each run includes.",
                  ],
                  columns: columns(["airlock", "d3"]),
                  ratio: anchorRatio,
                  rows: gc.rows,
                },
              },
            ]
          : []),
        {
          title: "Memory",
          table: {
            intro: [
              "Resident memory (RSS) read from /proc over every process of each set-up's tree: Airlock's primary " +
                "and its workers, each replica. The issue asks ≤ 80 MiB per process when idle, a peak ≤ 1.5× " +
                "Distribution 3's, and memory back near idle after the load.",
            ],
            columns: allColumns,
            ratio: anchorRatio,
            rows: memoryReport.rows,
          },
        },
      ],
      sections: [proxy.section],
      details: [
        ...pushes.details,
        ...pulls.details,
        ...small.details,
        ...requests.details,
        ...tags.details,
        ...proxy.details,
        ...replicaParts.details,
        ...gc.details,
        ...memoryReport.details,
        ...logs,
      ],
      notes: [
        ...notes,
        "Authentication differs: every request to Airlock carries `Authorization: Basic` for the admin user and is " +
          "checked (the server caches verified credentials, so no password hash is computed per request, but the " +
          "account is looked up and authorised every time); Distribution runs without authentication.",
        "Upload method: Distribution 2.8 does not implement the single-POST monolithic upload (a POST with " +
          "`?digest=` answers 202 and opens a session), so the monolithic row is POST then PUT `?digest=` with the " +
          "whole body, for every registry, as Docker clients do. Airlock's single POST is listed under Details.",
        `Each large push uses new content (a new digest); \`sync\` runs before each timed push so that writeback of ` +
          `the previous push does not land in it. Figures are medians of ${CONFIG.pushRepeats} push and ` +
          `${CONFIG.pullRepeats} pull runs of each kind.`,
        "Durability: Airlock fsyncs each stored blob part and its metadata (SQLite's write-ahead log, synced " +
          "in the thread pool after each commit; PostgreSQL's commit for the replicas) before answering; " +
          "Distribution fsyncs nothing, its writeback runs later in the kernel's threads, not charged to it.",
        "Distribution's configuration, the same for 3 and 2.8: filesystem storage, `storage.delete.enabled: true`, " +
          "in-memory blob descriptor cache, no authentication, access log off, log level warn. Distribution 3.1.2 " +
          "is built from its Go module (`cmd/registry`) by `scripts/tools/go-tools.sh distribution`; it traces every " +
          "request with OpenTelemetry (sampling ratio 1, not configurable in 3.1.2), and runs with " +
          "`OTEL_TRACES_EXPORTER=none`, as its documentation advises when no collector runs, so the spans are made " +
          "but not sent. Distribution 2.8 is Debian's docker-registry package.",
        `Airlock: \`--log-level warn\`, defaults otherwise; its default is one worker per CPU (the \`workers\` ` +
          `setting), here ${WORKERS}, and the one-worker column sets \`AIRLOCK_WORKERS=1\`.`,
        `The replicas' column: ${REPLICAS} Airlock processes (one worker each, so as not to run more server ` +
          "processes than a 2-CPU machine has CPUs many times over) with `metadata.postgres` on one throwaway " +
          "PostgreSQL cluster (Debian's initdb and pg_ctl, default settings, fsync on) and `storage.s3` on one " +
          "versitygw bucket (posix backend, the S3 server the tests use; over TLS with a certificate made for the " +
          "run, as S3 is reached in production: parts then go unsigned, see the README), behind a round-robin TCP balancer " +
          "(bench/lib/round-robin-balancer.ts, a Node.js process: each connection goes to the next replica). Its " +
          "phases run after the single servers', with the same sizes; its CPU figures are the replicas' alone.",
        "The servers run side by side, but only one is under load at a time (with the upstream it pulls from " +
          "during the proxy phases); phases alternate between them. The clients share the machine's CPUs with the " +
          "server under test.",
        ...proxy.notes,
        "Clients: pushes, small images and the tags list from this Node.js process (`node:http`, keep-alive); " +
          "large pulls with curl, piped into `openssl dgst -sha256` for the verified rows (a Node.js client spends " +
          "more CPU receiving than the servers spend sending) and into /dev/null for the bytes-dropped rows, which " +
          "show each server's own pace; manifest GET with wrk (2 threads, HTTP/1.1 keep-alive); blob HEAD with " +
          "ApacheBench (`ab -k -i`, one thread, HTTP/1.0 keep-alive), because wrk 4.1 never completes a HEAD " +
          `request (it waits for the body that Content-Length announces). Each wrk and ab run follows a ` +
          `${CONFIG.warmupSeconds} s warm-up that is not counted.`,
      ],
    },
    RUN_MARKERS,
  );
  writeAndFormat(resultsFile, block, RUN_MARKERS);
  progress(`wrote ${path.relative(process.cwd(), resultsFile) || resultsFile} (run ${Math.round(seconds)} s)`);
}

async function runSoakPhase(airlock: RunningServer, resultsFile: string): Promise<void> {
  const chartFile = QUICK
    ? path.join(os.tmpdir(), "airlock-bench-soak-memory.quick.png")
    : path.join(repoRoot, "bench", "soak-memory.png");
  const subject: Subject = { key: "airlock", label: LABELS.airlock, server: airlock };
  const soakStarted = Date.now();
  const soak = await runSoak(subject, SOAK_OPTIONS, chartFile, progress);
  const block = renderBlock(
    {
      title: QUICK ? "Soak (BENCH_QUICK: shortened, not meaningful)" : "Soak",
      machine: [
        ["Date", new Date().toISOString().replace(/\.\d+Z$/, "Z")],
        ["Airlock", `${airlockRevision()}, ${LABELS.airlock} (${treePids(airlock.roots).length} processes)`],
        ["Run time", `${Math.round((Date.now() - soakStarted) / 1000)} s`],
      ],
      tables: [
        {
          table: {
            intro: [
              `${SOAK_OPTIONS.clients} clients mixing pulls and pushes against ${LABELS.airlock}; the issue asks ` +
                `for no error and flat memory over 10 minutes (this run: ${SOAK_OPTIONS.seconds} s). Memory is the ` +
                `resident set of the whole process tree, sampled every ${SOAK_OPTIONS.sampleSeconds} s, charted in ` +
                `[${path.basename(chartFile)}](${path.basename(chartFile)}).`,
            ],
            columns: [{ key: "airlock", label: LABELS.airlock }],
            rows: soak.rows,
          },
        },
      ],
      details: soak.details,
      notes: [],
    },
    SOAK_MARKERS,
  );
  writeAndFormat(resultsFile, block, SOAK_MARKERS);
  progress(`soak: wrote ${path.basename(chartFile)} and its section of ${path.basename(resultsFile)}`);
}

function writeAndFormat(file: string, block: string, markers: typeof RUN_MARKERS): void {
  writeResults(file, block, markers);
  // The repository's format check covers bench/: lay the tables out as prettier does.
  const prettier = path.join(repoRoot, "node_modules", ".bin", "prettier");
  if (existsSync(prettier)) spawnSync(prettier, ["--log-level", "warn", "--write", file], { stdio: "inherit" });
}

main().catch((err: unknown) => {
  progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
