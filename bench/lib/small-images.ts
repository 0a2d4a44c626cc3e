// Small-image pushes: many tiny images (a config blob, one 1–4.5 KiB layer, an OCI manifest by
// tag; 5 requests each) pushed by 8 clients at once into 10 repositories. Request handling and
// metadata writes set the pace here, not bytes. The same images go to every server.

import { makeSmallImage, pushSmallImage, type SmallImage } from "./oci.ts";
import { flushDisks, pool, valuesOf, type PhaseContext, type Subject } from "./phase.ts";
import { treeCpuSeconds } from "./process-tree.ts";
import { format, type Column, type Row } from "./report.ts";
import { atLeastAnchor, TARGETS } from "./targets.ts";

export interface SmallImageResult {
  rows: Row[];
  details: string[];
  /** The first image, which every server now holds: the manifest, HEAD and tags phases use it. */
  first: SmallImage;
}

export async function runSmallImages(subjects: Subject[], ctx: PhaseContext): Promise<SmallImageResult> {
  const { config, progress } = ctx;
  progress(`generating ${config.smallImages} small images`);
  const images = Array.from({ length: config.smallImages }, (_, i) =>
    makeSmallImage(i, `bench/small-${i % 10}`, 1024 + (i % 8) * 512),
  );
  const first = images[0];
  if (!first) throw new Error("no small image was generated");
  const rate = new Map<Column, number>();
  const cpuPerImage = new Map<Column, number>();
  const details: string[] = [];
  for (const subject of subjects) {
    flushDisks();
    const cpuBefore = treeCpuSeconds(subject.server.roots);
    const result = await pool(images, config.smallConcurrency, config.phaseLimitMs, (image) =>
      pushSmallImage(subject.server.target, image),
    );
    rate.set(subject.key, result.done / result.seconds);
    cpuPerImage.set(
      subject.key,
      (1000 * (treeCpuSeconds(subject.server.roots) - cpuBefore)) / Math.max(1, result.done),
    );
    progress(
      `small images ${subject.label}: ${result.done} pushed, ${result.failed} failed in ` +
        `${result.seconds.toFixed(1)} s: ${format(rate.get(subject.key))} images/s`,
    );
    if (result.failed > 0) {
      details.push(`Small-image push on ${subject.label}: ${result.failed} failed; first error: ${result.firstError}`);
    }
    if (result.done < images.length && result.failed === 0) {
      details.push(`Small-image push on ${subject.label} stopped at the phase time limit after ${result.done} images.`);
    }
    // The first image must be complete everywhere: the next phases read it.
    if (result.done === 0) throw new Error(`${subject.label}: no small image could be pushed: ${result.firstError}`);
  }
  ctx.phaseDone("small-image pushes");
  details.push(
    `Small image = a config blob (~300 B) and one random layer (1–4.5 KiB), each POST + PUT, then PUT of the ` +
      `OCI manifest by tag: 5 requests per image, into 10 repositories.`,
  );
  return {
    rows: [
      {
        title: `Small-image push (${config.smallImages} images, ${config.smallConcurrency} at a time)`,
        unit: "images/s",
        better: "higher",
        values: valuesOf(subjects, (s) => rate.get(s.key)),
        goal: atLeastAnchor(TARGETS.smallImages),
      },
      {
        title: "Server CPU time per small image pushed (whole process tree)",
        unit: "ms",
        better: "lower",
        values: valuesOf(subjects, (s) => cpuPerImage.get(s.key)),
      },
    ],
    details,
    first,
  };
}
