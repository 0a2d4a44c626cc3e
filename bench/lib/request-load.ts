// Small requests under load: manifest GET by tag with wrk (HTTP/1.1 keep-alive, 2 threads) and
// blob HEAD with ApacheBench (`ab -k -i`: wrk 4.1 never completes a HEAD, it waits for the body
// that Content-Length announces), each after an uncounted warm-up, against one server at a time.

import { expectStatus, send } from "./http.ts";
import { abHead, wrk, type LoadResult } from "./load.ts";
import { OCI_MANIFEST, type SmallImage } from "./oci.ts";
import { valuesOf, type PhaseContext, type Subject } from "./phase.ts";
import { format, type Column, type Row } from "./report.ts";
import { atLeastAnchor, TARGETS } from "./targets.ts";

export function describeLoad(result: LoadResult): string {
  const latency = result.p50Ms !== undefined ? `, p50 ${format(result.p50Ms)} ms, p99 ${format(result.p99Ms)} ms` : "";
  return (
    `${format(result.requestsPerSecond)} req/s (${result.requests.toLocaleString("en-US")} requests` +
    `${latency}, non-2xx ${result.non2xx}, errors ${result.errors})`
  );
}

export interface RequestLoadResult {
  rows: Row[];
  details: string[];
  manifest: Map<Column, LoadResult>;
}

export async function runRequestLoad(
  subjects: Subject[],
  image: SmallImage,
  ctx: PhaseContext,
): Promise<RequestLoadResult> {
  const { config, progress } = ctx;
  const manifestPath = `/v2/${image.repo}/manifests/${image.tag}`;
  const blobPath = `/v2/${image.repo}/blobs/${image.layerDigest}`;
  const manifest = new Map<Column, LoadResult>();
  const head = new Map<Column, LoadResult>();
  for (const subject of subjects) {
    const t = subject.server.target;
    const headers = { ...t.headers, Accept: OCI_MANIFEST };
    const check = expectStatus(await send(t, "GET", manifestPath, { headers }), 200, `${subject.label} manifest GET`);
    if (!check.body.equals(image.manifest)) throw new Error(`${subject.label} served a different manifest`);
    const options = { threads: 2, connections: config.connections, seconds: config.warmupSeconds };
    await wrk(`${t.origin}${manifestPath}`, headers, options);
    const result = await wrk(`${t.origin}${manifestPath}`, headers, { ...options, seconds: config.loadSeconds });
    manifest.set(subject.key, result);
    progress(`manifest GET ${subject.label}: ${describeLoad(result)}`);
  }
  ctx.phaseDone("manifest GET load");
  for (const subject of subjects) {
    const t = subject.server.target;
    const check = expectStatus(await send(t, "HEAD", blobPath), 200, `${subject.label} blob HEAD`);
    if (check.headers["content-length"] !== String(image.layer.length)) {
      throw new Error(`${subject.label} blob HEAD: Content-Length ${check.headers["content-length"]}`);
    }
    const options = { connections: config.connections, seconds: config.warmupSeconds };
    await abHead(`${t.origin}${blobPath}`, t.headers, options);
    const result = await abHead(`${t.origin}${blobPath}`, t.headers, { ...options, seconds: config.loadSeconds });
    head.set(subject.key, result);
    progress(`blob HEAD ${subject.label}: ${describeLoad(result)}`);
  }
  ctx.phaseDone("blob HEAD load");
  const details: string[] = [];
  for (const subject of subjects) {
    const m = manifest.get(subject.key);
    const h = head.get(subject.key);
    if (m) details.push(`Manifest GET on ${subject.label}: ${describeLoad(m)}.`);
    if (h) details.push(`Blob HEAD on ${subject.label}: ${describeLoad(h)}.`);
  }
  return {
    rows: [
      {
        title: `Manifest GET by tag (wrk, ${config.connections} connections, ${config.loadSeconds} s)`,
        unit: "req/s",
        better: "higher",
        values: valuesOf(subjects, (s) => manifest.get(s.key)?.requestsPerSecond),
        goal: atLeastAnchor(TARGETS.manifestGet),
      },
      {
        title: `Blob HEAD (ab -k, ${config.connections} connections, ${config.loadSeconds} s)`,
        unit: "req/s",
        better: "higher",
        values: valuesOf(subjects, (s) => head.get(s.key)?.requestsPerSecond),
        goal: atLeastAnchor(TARGETS.blobHead),
      },
    ],
    details,
    manifest,
  };
}
