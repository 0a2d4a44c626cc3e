// Where an idle server's memory is: starts Airlock as the benchmark does (filesystem and SQLite,
// or as a replica of the benchmark's replicas' column: blobs in versitygw over TLS with
// AIRLOCK_STORAGE=s3, metadata in a throwaway PostgreSQL cluster with AIRLOCK_METADATA=postgres;
// `workers` from AIRLOCK_WORKERS, 2 by default, the compile cache on), pushes PUSH_IMAGES small
// images (none by default), waits until each process has collected its garbage (20 s, or
// WAIT_MS), then prints each process's resident set
// by mapping: the node binary's code and read-only data, anonymous memory (V8's heap, thread
// arenas), malloc's main heap. Run it twice after a source change: the first run fills the
// compile cache, without which every process also holds Node's TypeScript stripper.
//
//   node bench/profiles/idle-memory.ts
//   AIRLOCK_STORAGE=s3 AIRLOCK_WORKERS=1 PUSH_IMAGES=20 node bench/profiles/idle-memory.ts

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { setTimeout } from "node:timers/promises";
import { treePids } from "../lib/process-tree.ts";
import { makeSmallImage, pushSmallImage } from "../lib/oci.ts";
import { startPostgresCluster, type PostgresCluster } from "../lib/postgres-cluster.ts";
import { s3StorageLines, startS3Server, type S3Server } from "../lib/s3-server.ts";
import { startAirlock } from "../lib/servers.ts";

/** Mappings shown per process, largest first. */
const SHOWN = 8;

/** Resident KiB of each mapping of a process, keyed by permissions and path ("[anon]" for none). */
function residentByMapping(pid: number): Map<string, number> {
  const resident = new Map<string, number>();
  let mapping = "";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) mapping = `${header[1]} ${header[2] || "[anon]"}`;
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) resident.set(mapping, (resident.get(mapping) ?? 0) + Number(rss[1]));
  }
  return resident;
}

const repoRoot = path.resolve(import.meta.dirname, "..", "..");
const work = mkdtempSync(path.join(tmpdir(), "airlock-idle-memory-"));
const workers = Number(process.env["AIRLOCK_WORKERS"] ?? 2);
const s3: S3Server | undefined =
  process.env["AIRLOCK_STORAGE"] === "s3" ? await startS3Server(repoRoot, work, "idle", { tls: true }) : undefined;
const postgres: PostgresCluster | undefined =
  process.env["AIRLOCK_METADATA"] === "postgres" ? await startPostgresCluster() : undefined;
const configLines = [
  ...(postgres ? ["metadata:", "  postgres:", `    url: ${JSON.stringify(postgres.url)}`] : []),
  ...(s3 ? s3StorageLines(s3) : []),
];
const server = await startAirlock(repoRoot, work, {
  name: "airlock",
  label: "Airlock",
  workers,
  configLines,
});
try {
  // With PUSH_IMAGES=n, n small images pushed (and their blobs stored) before the wait.
  for (let index = 0; index < Number(process.env["PUSH_IMAGES"] ?? 0); index++) {
    await pushSmallImage(server.target, makeSmallImage(index, "library/idle", 64 * 1024));
  }
  await setTimeout(Number(process.env["WAIT_MS"] ?? 20_000));
  for (const pid of treePids(server.roots)) {
    const resident = residentByMapping(pid);
    const total = [...resident.values()].reduce((sum, kib) => sum + kib, 0);
    const role = pid === server.roots[0] ? "primary" : "worker";
    console.log(`${role} ${pid}: ${(total / 1024).toFixed(1)} MiB resident`);
    for (const [mapping, kib] of [...resident].sort((a, b) => b[1] - a[1]).slice(0, SHOWN)) {
      console.log(`  ${(kib / 1024).toFixed(1).padStart(6)} MiB  ${mapping}`);
    }
  }
} finally {
  await server.stop();
  await s3?.stop();
  await postgres?.stop();
  rmSync(work, { recursive: true, force: true });
}
