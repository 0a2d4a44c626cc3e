// The proxy-miss workload: one registry process (`workers: 1`, filesystem and SQLite, basic
// authentication as admin) run under `node --cpu-prof` with a proxy-cache project on a
// Distribution 3 upstream, beside a Distribution 3 pull-through cache of the same upstream; curl
// pulls MISSES fresh blobs of 256 MiB through each, alternating between the two, each the first
// pull of its digest, alternately digest-verified (curl | openssl) and bytes dropped. Prints each
// pull's throughput, the medians per proxy and mode, the CPU per GiB of each process tree (the
// upstream's too: on two CPUs the four processes of a miss share them) and Airlock's per thread.
// With PROFILE=0 the server runs unprofiled (the sampler costs a few percent), for A/B runs.
//
//   node bench/profiles/profile-proxy-miss.ts OUTPUT_DIR
//   PROFILE=0 MISSES=8 node bench/profiles/profile-proxy-miss.ts OUTPUT_DIR

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { makeLargeBlob } from "../lib/large-pushes.ts";
import { curlGet } from "../lib/load.ts";
import { pushPostPut } from "../lib/oci.ts";
import { flushDisks } from "../lib/phase.ts";
import { treeCpuSeconds } from "../lib/process-tree.ts";
import { createProxyProject, PROXY_PROJECT } from "../lib/proxy.ts";
import { median } from "../lib/report.ts";
import { startAirlock, startDistribution, type RunningServer } from "../lib/servers.ts";
import { startProfiledServer, threadSeconds, type ProfiledServer } from "./profiled-server.ts";

const BLOB_MIB = 256;
const MISSES = Number(process.env["MISSES"] ?? 6);
const REPOSITORY = "profile/miss";
type Mode = "verified" | "dropped";

const repoRoot = path.resolve(import.meta.dirname, "..", "..");
const work = mkdtempSync(path.join(tmpdir(), "airlock-profile-proxy-"));
const upstream = await startDistribution(repoRoot, work, { release: "3", name: "upstream", label: "Distribution 3" });
const distribution = await startDistribution(repoRoot, work, {
  release: "3",
  name: "distribution-proxy",
  label: "Distribution 3 proxy",
  proxyRemoteUrl: upstream.target.origin,
});
let profiled: ProfiledServer | undefined;
let airlock: RunningServer;
if (process.env["PROFILE"] === "0") {
  airlock = await startAirlock(repoRoot, work, { name: "airlock", label: "Airlock", workers: 1 });
} else {
  profiled = await startProfiledServer("profile-proxy-miss.ts");
  airlock = profiled.server;
}
const proxies = [
  {
    server: airlock,
    prefix: `${PROXY_PROJECT}/`,
    rates: { verified: [] as number[], dropped: [] as number[] },
    cpu: 0,
  },
  { server: distribution, prefix: "", rates: { verified: [] as number[], dropped: [] as number[] }, cpu: 0 },
];
try {
  await createProxyProject(airlock.target, upstream.target.origin);
  const large = makeLargeBlob(BLOB_MIB);
  const digests: string[] = [];
  for (let index = 0; index < MISSES * proxies.length; index++) {
    const digest = large.fresh();
    await pushPostPut(upstream.target, REPOSITORY, large.blob, digest);
    digests.push(digest);
  }
  flushDisks();
  let upstreamCpu = 0;
  const threadsBefore = threadSeconds(airlock.roots);
  for (const [index, digest] of digests.entries()) {
    const proxy = proxies[index % proxies.length] as (typeof proxies)[number];
    const mode: Mode = Math.floor(index / proxies.length) % 2 === 0 ? "verified" : "dropped";
    const cpuBefore = [treeCpuSeconds(proxy.server.roots), treeCpuSeconds(upstream.roots)] as const;
    const started = performance.now();
    const target = proxy.server.target;
    const got = await curlGet(`${target.origin}/v2/${proxy.prefix}${REPOSITORY}/blobs/${digest}`, target.headers, {
      hash: mode === "verified",
      limitMs: 120_000,
    });
    const seconds = (performance.now() - started) / 1000;
    if (got.status !== 200 || got.bytes !== large.blob.length || (mode === "verified" && got.digest !== digest)) {
      throw new Error(`${target.label}: pull of ${digest}: status ${got.status}, ${got.bytes} bytes, ${got.digest}`);
    }
    proxy.cpu += treeCpuSeconds(proxy.server.roots) - cpuBefore[0];
    upstreamCpu += treeCpuSeconds(upstream.roots) - cpuBefore[1];
    proxy.rates[mode].push(BLOB_MIB / seconds);
    console.log(`${target.label}, miss ${index + 1} (${mode}): ${(BLOB_MIB / seconds).toFixed(0)} MiB/s`);
  }
  const perProxyGiB = (MISSES * BLOB_MIB) / 1024;
  for (const proxy of proxies) {
    console.log(
      `${proxy.server.target.label}: medians verified ${median(proxy.rates.verified).toFixed(0)} MiB/s, ` +
        `dropped ${median(proxy.rates.dropped).toFixed(0)} MiB/s; CPU ${(proxy.cpu / perProxyGiB).toFixed(2)} s per GiB`,
    );
  }
  console.log(`upstream: CPU ${(upstreamCpu / (perProxyGiB * proxies.length)).toFixed(2)} s per GiB served`);
  const perThread = [...threadSeconds(airlock.roots)]
    .map(([name, total]) => [name, (total - (threadsBefore.get(name) ?? 0)) / perProxyGiB] as const)
    .filter(([, perGiB]) => perGiB >= 0.01)
    .sort((a, b) => b[1] - a[1]);
  console.log(`Airlock per thread, per GiB: ${perThread.map(([name, s]) => `${name} ${s.toFixed(2)} s`).join(", ")}`);
} finally {
  await (profiled ? profiled.stop() : airlock.stop());
  await distribution.stop();
  await upstream.stop();
  rmSync(work, { recursive: true, force: true });
}
