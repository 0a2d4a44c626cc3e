// The shared set-up of issue 11 as one column: three Airlock replicas with their metadata in one
// PostgreSQL database and their blobs in one S3 bucket, behind a round-robin balancer, all on
// loopback and started by the run: a throwaway PostgreSQL cluster, versitygw for S3 (over TLS, as
// S3 is reached in production, with the run's own CA), the replicas (one worker each: three
// processes already outnumber the CPUs of a small machine) and the balancer as a process of its
// own. The client sees one registry, the balancer's address.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { newAgent, type Target } from "./http.ts";
import { startPostgresCluster, type PostgresCluster } from "./postgres-cluster.ts";
import { s3StorageLines, startS3Server, type S3Server } from "./s3-server.ts";
import { startAirlock, stopper, waitReady, type RunningServer } from "./servers.ts";

export const REPLICAS = 3;

export interface ReplicaSetup {
  /** The replicas as one server: the balancer's address, the three replicas' processes. */
  server: RunningServer;
  /** The processes that serve them and are not Airlock, for their CPU time and memory. */
  infrastructure: { postgres: number; s3: number; balancer: number };
  postgres: PostgresCluster;
  s3: S3Server;
}

/** Starts the balancer script as a child process and waits for the port it prints. */
async function startBalancerProcess(
  workDir: string,
  backends: string[],
): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const script = path.join(import.meta.dirname, "round-robin-balancer.ts");
  const child = spawn(process.execPath, [script, "127.0.0.1:0", ...backends], {
    cwd: workDir,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("the balancer did not start in 10 s")), 10_000);
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const match = /^listening (\d+)$/m.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the balancer exited with ${code}`));
    });
  });
  child.stdout.resume();
  return { port, pid: child.pid ?? 0, stop: stopper(child) };
}

export async function startReplicaSetup(repoRoot: string, workDir: string): Promise<ReplicaSetup> {
  const dir = path.join(workDir, "replicas");
  mkdirSync(path.join(dir, "s3"), { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const postgres = await startPostgresCluster();
    stops.push(postgres.stop);
    const s3 = await startS3Server(repoRoot, path.join(dir, "s3"), "airlock", { tls: true });
    stops.push(s3.stop);
    const configLines = ["metadata:", "  postgres:", `    url: ${JSON.stringify(postgres.url)}`, ...s3StorageLines(s3)];
    const password = randomBytes(18).toString("base64url");
    const start = (name: string, label: string): Promise<RunningServer> =>
      startAirlock(repoRoot, dir, { name, label, workers: 1, configLines, password, readyTimeoutMs: 60_000 });
    // Node's compile cache (run.ts warms it for the filesystem servers) has not seen the modules of
    // PostgreSQL and S3 yet, and is written when a process exits: a replica started and stopped
    // first fills it, so that the measured ones do not each load the TypeScript stripper, which
    // the image's compiled server never does (by hand, one replica after twenty small pushes:
    // 120 MiB with a cold cache, 98 with a warm one). It also creates the schema.
    const warmUp = await start("replica-warm-up", "warm-up");
    await warmUp.stop();
    // The first one starts alone; the others then start together, as a rollout would.
    const first = await start("replica-1", "Airlock replica 1");
    stops.push(first.stop);
    const replicas = [first];
    const others = Array.from({ length: REPLICAS - 1 }, (_, i) =>
      start(`replica-${i + 2}`, `Airlock replica ${i + 2}`),
    );
    for (const replica of await Promise.all(others)) {
      replicas.push(replica);
      stops.push(replica.stop);
    }
    const balancer = await startBalancerProcess(
      dir,
      replicas.map((replica) => new URL(replica.target.origin).host),
    );
    stops.push(balancer.stop);
    const target: Target = {
      label: "Airlock replicas",
      origin: `http://127.0.0.1:${balancer.port}`,
      headers: first.target.headers,
      agent: newAgent(),
    };
    await waitReady(target, () => false, path.join(dir, "replica-1.log"), 10_000);
    return {
      server: {
        target,
        roots: replicas.flatMap((replica) => replica.roots),
        logFiles: replicas.flatMap((replica) => replica.logFiles),
        dataDir: first.dataDir,
        stop: stopAll,
      },
      infrastructure: { postgres: postgres.pid, s3: s3.pid, balancer: balancer.pid },
      postgres,
      s3,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
