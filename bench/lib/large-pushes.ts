// Large blob pushes, monolithic (POST then PUT ?digest= with the whole body, as Docker clients
// do: Distribution 2.8 has no single-POST upload) and chunked (PATCHes with Content-Range), each
// of new content, alternating between the servers; plus Airlock's single POST ?digest=. The server
// CPU per GiB pushed is read over each server's whole process tree.

import { randomFillSync } from "node:crypto";
import { ownCpuSeconds } from "./machine.ts";
import { pushChunked, pushPostPut, pushSinglePost, sha256 } from "./oci.ts";
import { describeSamples, flushDisks, valuesOf, type PhaseContext, type Subject } from "./phase.ts";
import { treeCpuSeconds } from "./process-tree.ts";
import { format, median, type Column, type Row } from "./report.ts";
import { atLeastAnchor, atMostAnchor, TARGETS } from "./targets.ts";

export const BLOB_REPO = "bench/blobs";
const MiB = 1024 * 1024;

export interface LargeBlob {
  blob: Buffer;
  /** Changes the blob's first bytes, so that every push is of a new blob; returns its digest. */
  fresh: () => string;
}

export function makeLargeBlob(mib: number): LargeBlob {
  const blob = Buffer.alloc(mib * MiB);
  randomFillSync(blob);
  return {
    blob,
    fresh: () => {
      randomFillSync(blob, 0, 64);
      return sha256(blob);
    },
  };
}

export interface PushResult {
  rows: Row[];
  details: string[];
  /** The last blob pushed to each server: what the pull phase pulls. */
  lastDigest: Map<Column, string>;
}

export async function runLargePushes(
  subjects: Subject[],
  large: LargeBlob,
  ctx: PhaseContext,
  /** Which subjects also get the single-POST runs. */
  singlePostOn: Subject[],
): Promise<PushResult> {
  const { config, progress } = ctx;
  const monolithic = new Map<Column, number[]>(subjects.map((s) => [s.key, []]));
  const chunked = new Map<Column, number[]>(subjects.map((s) => [s.key, []]));
  const serverCpu = new Map<Column, number>();
  const clientCpu = new Map<Column, number>();
  const pushedMiB = new Map<Column, number>();
  const lastDigest = new Map<Column, string>();
  const kinds = [
    ["monolithic (POST + PUT)", monolithic],
    [`chunked (${config.chunkMiB} MiB PATCHes)`, chunked],
  ] as const;
  for (let rep = 1; rep <= config.pushRepeats; rep++) {
    for (const [kind, samples] of kinds) {
      for (const subject of subjects) {
        const t = subject.server.target;
        const digest = large.fresh();
        flushDisks();
        const cpuBefore = treeCpuSeconds(subject.server.roots);
        const clientBefore = ownCpuSeconds();
        const started = performance.now();
        if (samples === monolithic) await pushPostPut(t, BLOB_REPO, large.blob, digest);
        else await pushChunked(t, BLOB_REPO, large.blob, digest, config.chunkMiB * MiB);
        const seconds = (performance.now() - started) / 1000;
        serverCpu.set(
          subject.key,
          (serverCpu.get(subject.key) ?? 0) + treeCpuSeconds(subject.server.roots) - cpuBefore,
        );
        clientCpu.set(subject.key, (clientCpu.get(subject.key) ?? 0) + ownCpuSeconds() - clientBefore);
        pushedMiB.set(subject.key, (pushedMiB.get(subject.key) ?? 0) + config.blobMiB);
        samples.get(subject.key)?.push(config.blobMiB / seconds);
        lastDigest.set(subject.key, digest);
        progress(
          `push ${kind} ${rep}/${config.pushRepeats} ${subject.label}: ${format(config.blobMiB / seconds)} MiB/s`,
        );
      }
    }
  }
  ctx.phaseDone("large-blob pushes");

  // Airlock also takes a monolithic upload in one POST; Distribution 2.8 answers such a POST
  // with 202 and an open session (the body is ignored), so these runs have Airlock only.
  const singlePost = new Map<Column, number[]>(singlePostOn.map((s) => [s.key, []]));
  for (let rep = 1; rep <= config.pushRepeats; rep++) {
    for (const subject of singlePostOn) {
      const digest = large.fresh();
      flushDisks();
      const started = performance.now();
      await pushSinglePost(subject.server.target, BLOB_REPO, large.blob, digest);
      const rate = config.blobMiB / ((performance.now() - started) / 1000);
      singlePost.get(subject.key)?.push(rate);
      progress(`push single POST ${rep}/${config.pushRepeats} ${subject.label}: ${format(rate)} MiB/s`);
    }
  }
  flushDisks();
  ctx.phaseDone("single-POST pushes");

  const perGiB = (cpu: Map<Column, number>, key: Column): number | undefined => {
    const mib = pushedMiB.get(key);
    return mib === undefined ? undefined : (cpu.get(key) ?? 0) / (mib / 1024);
  };
  const blobLabel = `${config.blobMiB} MiB`;
  const rows: Row[] = [
    {
      title: `Blob push, monolithic (POST + PUT), ${blobLabel}`,
      unit: "MiB/s",
      better: "higher",
      values: valuesOf(subjects, (s) => median(monolithic.get(s.key) ?? [])),
      goal: atLeastAnchor(TARGETS.push),
    },
    {
      title: `Blob push, chunked (${config.chunkMiB} MiB PATCHes), ${blobLabel}`,
      unit: "MiB/s",
      better: "higher",
      values: valuesOf(subjects, (s) => median(chunked.get(s.key) ?? [])),
      goal: atLeastAnchor(TARGETS.push),
    },
    {
      title: "Server CPU time per GiB pushed (large-blob pushes, whole process tree)",
      unit: "s/GiB",
      better: "lower",
      values: valuesOf(subjects, (s) => perGiB(serverCpu, s.key)),
      goal: atMostAnchor(TARGETS.pushCpu),
    },
  ];
  const details = [
    `Blob push, monolithic (POST + PUT), each run: ${describeSamples(subjects, monolithic, "MiB/s")}.`,
    `Blob push, chunked, each run: ${describeSamples(subjects, chunked, "MiB/s")}.`,
    `Push client (this Node.js process, bodies sent from memory), CPU-s per GiB: ` +
      subjects.map((s) => `${s.label} ${format(perGiB(clientCpu, s.key))}`).join(", ") +
      ".",
    ...singlePostOn.map(
      (s) =>
        `Blob push in a single POST ?digest= on ${s.label}, each run: ` +
        `${(singlePost.get(s.key) ?? []).map(format).join(", ")} MiB/s (median ${format(median(singlePost.get(s.key) ?? []))}).`,
    ),
  ];
  return { rows, details, lastDigest };
}
