// The soak (issue 11): 16 clients mixing pulls and pushes against Airlock as it runs by default
// for 10 minutes, asking for no error and flat memory. Pulls are of seeded images (manifest by tag,
// compared byte for byte; the layer, its digest checked); pushes are new small images (a config
// and a 4–64 KiB layer, then the manifest by a new tag), so the registry grows as it would in
// use while the disk it needs stays small (a few GiB over 10 minutes). The resident memory of
// the server's whole process tree is sampled every few seconds, charted as a PNG, and judged flat
// when the last third of the samples after the warm-up is within 10% of the first third.

import { createHash, randomInt } from "node:crypto";
import { expectStatus, send, type Target } from "./http.ts";
import { PALETTE, writeLineChart, type Series } from "./line-chart.ts";
import { makeSmallImage, OCI_MANIFEST, pushSmallImage, type SmallImage } from "./oci.ts";
import { median, format, type Row } from "./report.ts";
import type { Subject } from "./phase.ts";
import { treeMemory } from "./process-tree.ts";
import { judged } from "./targets.ts";

export interface SoakOptions {
  clients: number;
  seconds: number;
  sampleSeconds: number;
  /** Samples before this are left out of the flatness check (caches filling, JIT warming up). */
  warmupSeconds: number;
  seedImages: number;
  seedLayerBytes: number;
  /** Share of operations that are pushes; the others are pulls. */
  pushShare: number;
  /** Memory growth allowed between the first and last thirds, as a fraction. */
  flatWithin: number;
}

export interface SoakResult {
  rows: Row[];
  details: string[];
  errors: number;
}

interface Sample {
  seconds: number;
  total: number;
  processes: Map<number, number>;
}

async function pull(t: Target, image: SmallImage): Promise<void> {
  const manifest = expectStatus(
    await send(t, "GET", `/v2/${image.repo}/manifests/${image.tag}`, { headers: { Accept: OCI_MANIFEST } }),
    200,
    "manifest GET",
  );
  if (!manifest.body.equals(image.manifest)) throw new Error(`manifest ${image.tag} differs from the one pushed`);
  const layer = expectStatus(await send(t, "GET", `/v2/${image.repo}/blobs/${image.layerDigest}`), 200, "blob GET");
  const digest = `sha256:${createHash("sha256").update(layer.body).digest("hex")}`;
  if (digest !== image.layerDigest) throw new Error(`blob ${image.layerDigest} came back as ${digest}`);
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? NaN : num / den;
}

export async function runSoak(
  subject: Subject,
  options: SoakOptions,
  chartFile: string,
  progress: (message: string) => void,
): Promise<SoakResult> {
  const t = subject.server.target;
  progress(`soak: seeding ${options.seedImages} images of ${format(options.seedLayerBytes / 1024)} KiB layers`);
  const seeds = Array.from({ length: options.seedImages }, (_, i) =>
    makeSmallImage(i, "soak/pull", options.seedLayerBytes),
  );
  for (const image of seeds) await pushSmallImage(t, image);

  const counts = { pulls: 0, pushes: 0 };
  const errors = new Map<string, number>();
  const firstErrors: string[] = [];
  const samples: Sample[] = [];
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const sample = (): void => {
    const memory = treeMemory(subject.server.roots);
    samples.push({
      seconds: elapsed(),
      total: memory.rss,
      processes: new Map(memory.processes.map((p) => [p.pid, p.rss])),
    });
  };
  sample();
  const sampler = setInterval(sample, options.sampleSeconds * 1000);
  const reporter = setInterval(() => {
    const last = samples.at(-1);
    const errorCount = [...errors.values()].reduce((s, n) => s + n, 0);
    progress(
      `soak ${Math.round(elapsed())}/${options.seconds} s: ${counts.pulls} pulls, ${counts.pushes} pushes, ` +
        `${errorCount} errors, resident ${format(last?.total)} MiB`,
    );
  }, 30_000);
  const deadline = Date.now() + options.seconds * 1000;
  let nextImage = options.seedImages;
  const client = async (index: number): Promise<void> => {
    // Bounded by the deadline: each operation has its own time limit (lib/http.ts).
    while (Date.now() < deadline) {
      const pushing = Math.random() < options.pushShare;
      try {
        if (pushing) {
          const image = makeSmallImage(nextImage++, `soak/push-${index % 4}`, randomInt(4096, 65_537));
          await pushSmallImage(t, image);
          counts.pushes++;
        } else {
          await pull(t, seeds[randomInt(seeds.length)] as SmallImage);
          counts.pulls++;
        }
      } catch (err) {
        const kind = pushing ? "push" : "pull";
        errors.set(kind, (errors.get(kind) ?? 0) + 1);
        if (firstErrors.length < 5) firstErrors.push(`${kind}: ${(err as Error).message.slice(0, 200)}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.clients }, (_, i) => client(i)));
  } finally {
    clearInterval(sampler);
    clearInterval(reporter);
  }
  sample();
  const seconds = elapsed();
  const errorCount = [...errors.values()].reduce((s, n) => s + n, 0);

  // Flatness: the samples after the warm-up, in thirds.
  const steady = samples.filter((s) => s.seconds >= options.warmupSeconds);
  const third = Math.max(1, Math.floor(steady.length / 3));
  const firstThird = median(steady.slice(0, third).map((s) => s.total));
  const lastThird = median(steady.slice(-third).map((s) => s.total));
  const growth = lastThird / firstThird - 1;
  const perMinute = slope(steady.map((s) => [s.seconds / 60, s.total]));
  const flat = Number.isFinite(growth) && growth <= options.flatWithin;

  // The chart: the whole tree, and each process on its own (a primary and its workers).
  const pids = [...new Set(samples.flatMap((s) => [...s.processes.keys()]))];
  const series: Series[] = [
    {
      label: "whole tree",
      colour: PALETTE[0] as Series["colour"],
      points: samples.map((s) => [s.seconds / 60, s.total]),
      width: 3,
    },
  ];
  if (pids.length > 1) {
    pids.forEach((pid, index) => {
      series.push({
        label: index === 0 ? "primary" : `worker ${index}`,
        colour: PALETTE[1 + (index % (PALETTE.length - 1))] as Series["colour"],
        points: samples.filter((s) => s.processes.has(pid)).map((s) => [s.seconds / 60, s.processes.get(pid) ?? 0]),
      });
    });
  }
  writeLineChart(chartFile, {
    title:
      `Airlock soak: resident memory, ${options.clients} clients, ` +
      (seconds >= 120 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds)} s`),
    xLabel: "minutes",
    yLabel: "MiB",
    series,
  });

  const totals = samples.map((s) => s.total);
  const rows: Row[] = [
    {
      title: `Operations (${options.clients} clients, ${Math.round(seconds)} s)`,
      unit: "ops/s",
      better: "higher",
      values: { airlock: (counts.pulls + counts.pushes) / seconds },
    },
    {
      title: "Errors (failed requests, wrong content)",
      unit: "count",
      better: "lower",
      values: { airlock: errorCount },
      goal: judged("0", { met: errorCount === 0, reason: `${errorCount}` }),
    },
    {
      title: `Resident memory, whole process tree, median of the first third after ${options.warmupSeconds} s`,
      unit: "MiB",
      better: "lower",
      values: { airlock: firstThird },
    },
    {
      title: "Resident memory, whole process tree, median of the last third",
      unit: "MiB",
      better: "lower",
      values: { airlock: lastThird },
      goal: judged(`flat: ≤ +${Math.round(options.flatWithin * 100)}%`, {
        met: Number.isFinite(growth) ? flat : undefined,
        reason: `${growth >= 0 ? "+" : ""}${(growth * 100).toFixed(1)}%, trend ${perMinute >= 0 ? "+" : ""}${format(perMinute)} MiB/min`,
      }),
    },
  ];
  const details = [
    `${counts.pulls.toLocaleString("en-US")} pulls (manifest by tag and its ${format(options.seedLayerBytes / 1024)} KiB ` +
      `layer, digest checked) and ${counts.pushes.toLocaleString("en-US")} pushes of new small images ` +
      `(${Math.round(options.pushShare * 100)}% of the operations) by ${options.clients} clients in ${Math.round(seconds)} s.`,
    `Resident memory of the whole tree: ${format(Math.min(...totals))} to ${format(Math.max(...totals))} MiB over ` +
      `${samples.length} samples (every ${options.sampleSeconds} s); ${pids.length} process(es).`,
    ...(errorCount > 0
      ? [`Errors by kind: ${[...errors].map(([k, n]) => `${k} ${n}`).join(", ")}; first: ${firstErrors.join(" | ")}.`]
      : []),
  ];
  progress(
    `soak done: ${counts.pulls} pulls, ${counts.pushes} pushes, ${errorCount} errors; memory ` +
      `${format(firstThird)} → ${format(lastThird)} MiB (${(growth * 100).toFixed(1)}%)`,
  );
  return { rows, details, errors: errorCount };
}
