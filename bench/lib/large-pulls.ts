// Large blob pulls with curl: alone, and N clients at once, each run against every server in
// turn. Verified pulls hash every byte with openssl (as a real client checks the digest) and so
// cost the client about 1 CPU-s per GiB on top of the server's; pulls with the bytes dropped cost
// the client little and show each server's own pace. On a small machine the client and the
// server share the CPUs, so the phase reports how busy both kept them.

import * as os from "node:os";
import { curlGet } from "./load.ts";
import { ownCpuSeconds } from "./machine.ts";
import { BLOB_REPO } from "./large-pushes.ts";
import { describeSamples, valuesOf, type PhaseContext, type Subject } from "./phase.ts";
import { treeCpuSeconds } from "./process-tree.ts";
import { format, median, type Column, type Row } from "./report.ts";
import { atLeastAnchor, TARGETS } from "./targets.ts";

export type PullMode = "verified" | "plain";
export const PULL_MODES: PullMode[] = ["verified", "plain"];

/** Medians per mode and server: the figures the proxy and every-core tables compare with. */
export interface PullMedians {
  single: Record<PullMode, Map<Column, number>>;
  concurrent: Record<PullMode, Map<Column, number>>;
}

export interface PullResult {
  rows: Row[];
  details: string[];
  medians: PullMedians;
  /** Client and server together over the CPUs, per mode and server: near 1, the machine set the pace. */
  busy: Record<PullMode, Map<Column, number>>;
}

export async function runLargePulls(
  subjects: Subject[],
  digestOf: Map<Column, string>,
  ctx: PhaseContext,
): Promise<PullResult> {
  const { config, progress } = ctx;
  const blobBytes = config.blobMiB * 1024 * 1024;
  const n = config.concurrentPulls;
  const perMode = <T>(make: () => T): Record<PullMode, T> => ({ verified: make(), plain: make() });
  const emptySamples = (): Map<Column, number[]> => new Map(subjects.map((s) => [s.key, []]));
  const single = perMode(emptySamples);
  const concurrent = perMode(emptySamples);
  const clientCpu = perMode(() => new Map<Column, number>());
  const serverCpu = perMode(() => new Map<Column, number>());
  const wall = perMode(() => new Map<Column, number>());
  const pulledMiB = perMode(() => new Map<Column, number>());
  const add = (map: Map<Column, number>, key: Column, value: number): void => {
    map.set(key, (map.get(key) ?? 0) + value);
  };

  const pullOnce = async (subject: Subject, mode: PullMode, digest: string): Promise<void> => {
    const t = subject.server.target;
    const got = await curlGet(`${t.origin}/v2/${BLOB_REPO}/blobs/${digest}`, t.headers, {
      hash: mode === "verified",
      limitMs: 120_000,
    });
    if (got.status !== 200 || got.bytes !== blobBytes || (mode === "verified" && got.digest !== digest)) {
      throw new Error(
        `${subject.label} pull of ${digest}: status ${got.status}, ${got.bytes} bytes, digest ${got.digest}`,
      );
    }
    add(pulledMiB[mode], subject.key, config.blobMiB);
  };

  for (let rep = 1; rep <= config.pullRepeats; rep++) {
    for (const mode of PULL_MODES) {
      for (const subject of subjects) {
        const digest = digestOf.get(subject.key);
        if (digest === undefined) continue;
        const clientBefore = ownCpuSeconds();
        const serverBefore = treeCpuSeconds(subject.server.roots);
        const wallBefore = performance.now();
        let started = performance.now();
        await pullOnce(subject, mode, digest);
        single[mode].get(subject.key)?.push(config.blobMiB / ((performance.now() - started) / 1000));
        started = performance.now();
        await Promise.all(Array.from({ length: n }, () => pullOnce(subject, mode, digest)));
        concurrent[mode].get(subject.key)?.push((n * config.blobMiB) / ((performance.now() - started) / 1000));
        add(clientCpu[mode], subject.key, ownCpuSeconds() - clientBefore);
        add(serverCpu[mode], subject.key, treeCpuSeconds(subject.server.roots) - serverBefore);
        add(wall[mode], subject.key, (performance.now() - wallBefore) / 1000);
        progress(
          `pull ${mode} ${rep}/${config.pullRepeats} ${subject.label}: single ` +
            `${format(single[mode].get(subject.key)?.at(-1))} MiB/s, ${n} concurrent ` +
            `${format(concurrent[mode].get(subject.key)?.at(-1))} MiB/s aggregate`,
        );
      }
    }
  }
  ctx.phaseDone("pulls");

  const cpus = os.availableParallelism();
  const busy = perMode(() => new Map<Column, number>());
  for (const mode of PULL_MODES) {
    for (const subject of subjects) {
      const seconds = wall[mode].get(subject.key);
      if (seconds === undefined || seconds === 0) continue;
      busy[mode].set(
        subject.key,
        ((clientCpu[mode].get(subject.key) ?? 0) + (serverCpu[mode].get(subject.key) ?? 0)) / (seconds * cpus),
      );
    }
  }
  const medians: PullMedians = {
    single: perMode(() => new Map()),
    concurrent: perMode(() => new Map()),
  };
  for (const mode of PULL_MODES) {
    for (const subject of subjects) {
      medians.single[mode].set(subject.key, median(single[mode].get(subject.key) ?? []));
      medians.concurrent[mode].set(subject.key, median(concurrent[mode].get(subject.key) ?? []));
    }
  }
  /** A measured cause for a target missed: the client and the server left the CPUs no room. */
  const saturated = (mode: PullMode): string | undefined => {
    const share = busy[mode].get("airlock");
    return share !== undefined && share >= 0.9
      ? `client and server kept ${Math.round(share * 100)}% of the ${cpus} CPUs busy: the machine set the pace`
      : undefined;
  };
  const blobLabel = `${config.blobMiB} MiB`;
  const row = (title: string, kind: "single" | "concurrent", mode: PullMode): Row => {
    const why = saturated(mode);
    return {
      title,
      unit: "MiB/s",
      better: "higher",
      values: valuesOf(subjects, (s) => medians[kind][mode].get(s.key)),
      goal: atLeastAnchor(TARGETS.pull),
      ...(why !== undefined && { why }),
    };
  };
  const pulledGiB = (key: Column): number =>
    ((pulledMiB.verified.get(key) ?? 0) + (pulledMiB.plain.get(key) ?? 0)) / 1024;
  const rows: Row[] = [
    row(`Blob pull, single, ${blobLabel}, digest verified`, "single", "verified"),
    row(`Blob pull, ${n} concurrent, aggregate, digests verified`, "concurrent", "verified"),
    row(`Blob pull, single, ${blobLabel}, bytes dropped (server's pace)`, "single", "plain"),
    row(`Blob pull, ${n} concurrent, aggregate, bytes dropped`, "concurrent", "plain"),
    {
      title: "Server CPU time per GiB pulled (large-blob pulls, whole process tree)",
      unit: "s/GiB",
      better: "lower",
      values: valuesOf(subjects, (s) =>
        pulledGiB(s.key) === 0
          ? undefined
          : ((serverCpu.verified.get(s.key) ?? 0) + (serverCpu.plain.get(s.key) ?? 0)) / pulledGiB(s.key),
      ),
    },
  ];
  const details: string[] = [];
  for (const mode of PULL_MODES) {
    const perGiB = (cpu: Map<Column, number>, key: Column): string => {
      const mib = pulledMiB[mode].get(key);
      return mib ? format((cpu.get(key) ?? 0) / (mib / 1024)) : "n/a";
    };
    details.push(
      `Blob pull ${mode}, single, each run: ${describeSamples(subjects, single[mode], "MiB/s")}.`,
      `Blob pull ${mode}, ${n} concurrent, each run: ${describeSamples(subjects, concurrent[mode], "MiB/s")}.`,
      `Blob pull ${mode}: CPU-s per GiB, client / server, and how busy both kept the ${cpus} CPUs: ` +
        subjects
          .map(
            (s) =>
              `${s.label} ${perGiB(clientCpu[mode], s.key)} / ${perGiB(serverCpu[mode], s.key)}, ` +
              `${Math.round((busy[mode].get(s.key) ?? 0) * 100)}%`,
          )
          .join("; ") +
        " (near 100%, the machine rather than the server sets the pace).",
    );
  }
  return { rows, details, medians, busy };
}
