// A repository with many tags: one manifest tagged N times (8 PUTs at a time), then sequential
// GET /tags/list on a keep-alive connection, timed one by one for the latency percentiles.

import { expectStatus, send } from "./http.ts";
import { pushPostPut, putManifest, type SmallImage } from "./oci.ts";
import { percentile, pool, valuesOf, type PhaseContext, type Subject } from "./phase.ts";
import { format, type Column, type Row } from "./report.ts";
import { atMostAnchor, TARGETS } from "./targets.ts";

const REPO = "bench/tags";

export async function runTagsList(
  subjects: Subject[],
  image: SmallImage,
  ctx: PhaseContext,
): Promise<{ rows: Row[]; details: string[] }> {
  const { config, progress } = ctx;
  const tagNames = Array.from({ length: config.tags }, (_, i) => `t${String(i).padStart(4, "0")}`);
  const putRate = new Map<Column, number>();
  const listRate = new Map<Column, number>();
  const p50 = new Map<Column, number>();
  const p95 = new Map<Column, number>();
  const failures: string[] = [];
  for (const subject of subjects) {
    const t = subject.server.target;
    await pushPostPut(t, REPO, image.config, image.configDigest);
    await pushPostPut(t, REPO, image.layer, image.layerDigest);
    const tagged = await pool(tagNames, config.smallConcurrency, config.phaseLimitMs, (tag) =>
      putManifest(t, REPO, tag, image.manifest),
    );
    // A failed PUT is reported, not fatal: the listing and its latency are still worth measuring.
    if (tagged.failed > 0) {
      failures.push(
        `Tagging on ${subject.label}: ${tagged.failed} of ${tagNames.length} PUTs failed; first: ${tagged.firstError}`,
      );
      progress(`tags ${subject.label}: ${tagged.failed} PUTs failed: ${tagged.firstError}`);
    }
    putRate.set(subject.key, tagged.done / tagged.seconds);
    const listed = expectStatus(await send(t, "GET", `/v2/${REPO}/tags/list`), 200, "tags list");
    const tags = (JSON.parse(listed.body.toString("utf8")) as { tags?: string[] }).tags ?? [];
    if (tags.length !== tagged.done) {
      throw new Error(`${subject.label} tags list has ${tags.length} tags, ${tagged.done} were pushed`);
    }
    const latencies: number[] = [];
    const deadline = Date.now() + config.phaseLimitMs;
    const started = performance.now();
    for (let i = 0; i < config.tagListRequests && Date.now() < deadline; i++) {
      const begin = performance.now();
      expectStatus(await send(t, "GET", `/v2/${REPO}/tags/list`), 200, "tags list");
      latencies.push(performance.now() - begin);
    }
    listRate.set(subject.key, latencies.length / ((performance.now() - started) / 1000));
    p50.set(subject.key, percentile(latencies, 50));
    p95.set(subject.key, percentile(latencies, 95));
    progress(
      `tags ${subject.label}: ${tagged.done} tag PUTs at ${format(putRate.get(subject.key))}/s; tags list ` +
        `${format(listRate.get(subject.key))} req/s, p50 ${format(p50.get(subject.key))} ms, ` +
        `p95 ${format(p95.get(subject.key))} ms`,
    );
  }
  ctx.phaseDone("tags");
  const count = config.tags.toLocaleString("en-US");
  return {
    rows: [
      {
        title: `Tags list of ${count} tags, median latency (${config.tagListRequests} sequential GETs)`,
        unit: "ms",
        better: "lower",
        values: valuesOf(subjects, (s) => p50.get(s.key)),
        goal: atMostAnchor(TARGETS.tagsLatency),
      },
      {
        title: `Tags list of ${count} tags, p95 latency`,
        unit: "ms",
        better: "lower",
        values: valuesOf(subjects, (s) => p95.get(s.key)),
      },
      {
        title: `Tagging one manifest ${count} times (PUT, ${config.smallConcurrency} at a time)`,
        unit: "tags/s",
        better: "higher",
        values: valuesOf(subjects, (s) => putRate.get(s.key)),
      },
    ],
    details: [
      ...failures,
      `Tags list rate (sequential GETs on one connection): ` +
        subjects.map((s) => `${s.label} ${format(listRate.get(s.key))} req/s`).join(", ") +
        ".",
    ],
  };
}
