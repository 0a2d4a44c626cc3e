// The small-request workload of the reads-*.cpuprofile.gz files: one registry process
// (`workers: 1`, filesystem and SQLite, basic authentication as admin) run under `node --cpu-prof`,
// one small image pushed, then manifest GETs by tag (wrk, 2 threads, 16 connections) and blob
// HEADs (ab -k, 16 connections), 10 s each after a 2 s warm-up, as the benchmark runs them.
// Prints each load's rate and the server's CPU per request, per thread.
//
//   node bench/profiles/profile-reads.ts OUTPUT_DIR
//   node bench/profiles/flame-graph.ts OUTPUT_DIR/CPU.*.cpuprofile reads.svg --top 30

import { abHead, wrk, type LoadResult } from "../lib/load.ts";
import { makeSmallImage, OCI_MANIFEST, pushSmallImage } from "../lib/oci.ts";
import { startProfiledServer, threadSeconds } from "./profiled-server.ts";

const CONNECTIONS = 16;
const WARMUP_SECONDS = 2;
const LOAD_SECONDS = 10;

const profiled = await startProfiledServer("profile-reads.ts");
const server = profiled.server;
const target = server.target;

/** Runs a load twice (warm-up, then measured) and prints its rate and the server's CPU per request. */
async function measure(name: string, load: (seconds: number) => Promise<LoadResult>): Promise<void> {
  await load(WARMUP_SECONDS);
  const before = threadSeconds(server.roots);
  const result = await load(LOAD_SECONDS);
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${name}: ${result.non2xx} non-2xx responses, ${result.errors} errors`);
  }
  const perRequest = [...threadSeconds(server.roots)]
    .map(([thread, total]) => [thread, ((total - (before.get(thread) ?? 0)) / result.requests) * 1e6] as const)
    .filter(([, us]) => us >= 0.5)
    .sort((a, b) => b[1] - a[1]);
  console.log(
    `${name}: ${result.requestsPerSecond.toFixed(0)} req/s; server CPU per request: ` +
      perRequest.map(([thread, us]) => `${thread} ${us.toFixed(1)} µs`).join(", "),
  );
}

try {
  const image = makeSmallImage(0, "profile/reads", 2048);
  await pushSmallImage(target, image);
  const manifestUrl = `${target.origin}/v2/${image.repo}/manifests/${image.tag}`;
  const blobUrl = `${target.origin}/v2/${image.repo}/blobs/${image.layerDigest}`;
  const manifestHeaders = { ...target.headers, Accept: OCI_MANIFEST };
  await measure("manifest GET", (seconds) =>
    wrk(manifestUrl, manifestHeaders, { threads: 2, connections: CONNECTIONS, seconds }),
  );
  await measure("blob HEAD", (seconds) => abHead(blobUrl, target.headers, { connections: CONNECTIONS, seconds }));
} finally {
  await profiled.stop();
}
