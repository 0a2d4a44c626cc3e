// Online garbage collection is safe (gc/README.md): two server processes sharing one PostgreSQL
// database and one blob storage — the filesystem, then S3 (versitygw) — take 8 clients pushing,
// pulling and deleting images that share layers for 15 seconds while both run garbage
// collection in a loop, with a grace period of under two seconds so that it really collects
// during the load. Afterwards every image acknowledged and not deleted pulls back intact from
// both, no blob is left that no manifest references, and storage holds exactly the objects the
// database names. Then a server killed in the middle of a run: once restarted, the run is taken
// over and ends, and nothing referenced was lost.
//
// 15 seconds of load are plenty: in 30, the clients pushed 558-778 images and the servers ran GC
// 86-114 times (CI, 2026-12-07); in 15 on a machine busy compiling Go, 108-116 images and 28-31
// runs; 50 and 10 are asserted below.

import { readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OciClient } from "../distribution/oci-client.ts";
import { tempDir } from "../helpers.ts";
import { createTestDatabase, withClient, type TestDatabase } from "../metadata/postgres-database.ts";
import { startServerProcess, type ServerProcess } from "../server-process.ts";
import { startVersitygw, type S3TestServer } from "../storage/versitygw-server.ts";
import { GcLoad, pullImage, runGc, type GcRun } from "./gc-load.ts";

const LOAD_MS = 15_000;
const CLIENTS = 8;
/** Harbor's time window, in hours: 1.8 seconds. */
const TIME_WINDOW_HOURS = 0.0005;
const TIME_WINDOW_MS = TIME_WINDOW_HOURS * 3_600_000;
const BUCKET = "gc-safety";
const LEASE_SECONDS = 10;

interface Backend {
  readonly name: string;
  /** The storage lines of the servers' configuration. */
  config(): string[];
  /** Every object path under blobs/parts/, relative to the storage root. */
  objects(): string[];
}

function listFiles(root: string, under: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(path.join(root, dir));
    } catch {
      return;
    }
    for (const entry of entries) {
      const relative = `${dir}/${entry}`;
      if (statSync(path.join(root, relative)).isDirectory()) walk(relative);
      else if (!entry.startsWith(".")) found.push(relative);
    }
  };
  walk(under);
  return found;
}

describe.each(["filesystem", "S3 (versitygw)"])("online garbage collection, two servers, PostgreSQL and %s", (kind) => {
  let database: TestDatabase;
  let url: string;
  let s3: S3TestServer | undefined;
  const data = tempDir("gc-safety");
  let backend: Backend;
  const servers: ServerProcess[] = [];
  let configLines: string[];

  const server = (index: number): ServerProcess => {
    const found = servers[index];
    if (!found) throw new Error(`server ${index} did not start`);
    return found;
  };
  const rows = <R>(sql: string): Promise<R[]> =>
    withClient(url, async (client) => (await client.query(sql)).rows as R[]);

  beforeAll(async () => {
    database = await createTestDatabase();
    url = (await database.freshSchema()).url;
    if (kind === "filesystem") {
      backend = {
        name: kind,
        config: () => [],
        objects: () => listFiles(path.join(data.dir, "storage"), "blobs/parts"),
      };
    } else {
      s3 = await startVersitygw();
      await s3.createBucket(BUCKET);
      const s3Server = s3;
      backend = {
        name: kind,
        config: () => [
          "storage:",
          "  s3:",
          `    bucket: ${BUCKET}`,
          `    endpoint: ${s3Server.endpoint}`,
          `    region: ${s3Server.region}`,
          "    forcePathStyle: true",
          `    accessKeyId: ${s3Server.accessKeyId}`,
          `    secretAccessKey: ${s3Server.secretAccessKey}`,
        ],
        // The posix backend keeps bucket "gc" as a directory: its files are the objects.
        objects: () => listFiles(path.join(s3Server.root, BUCKET), "blobs/parts"),
      };
    }
    configLines = [
      "metadata:",
      "  postgres:",
      `    url: ${url}`,
      "    maxConnections: 6",
      "gc:",
      `  timeWindowHours: ${TIME_WINDOW_HOURS}`,
      "  readGraceSeconds: 1",
      // A killed server's run is taken over once its lease runs out: 10 s rather than 30.
      "jobs:",
      `  leaseSeconds: ${LEASE_SECONDS}`,
      ...backend.config(),
    ];
    // One data directory for both, as replicas share their keys (and, on the filesystem, blobs).
    servers.push(await startServerProcess(configLines, { dataDir: data.dir }));
    servers.push(await startServerProcess(configLines, { dataDir: data.dir }));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((each) => each.stop()));
    await s3?.stop();
    await database?.drop();
    data.remove();
  }, 60_000);

  /**
   * Runs until every blob the database knows is referenced and no doomed part waits, then checks
   * that storage holds what the database names. Runs alternate between the servers, more than
   * two when need be: the claims of the pulls just made are written by each server's next flush
   * (every 5 s, at the flush's time), so a blob of an untagged image deleted by one run may be
   * claimed too recently for that run and go only in a later one, its parts within the read grace.
   */
  async function collectAndCheckClean(): Promise<void> {
    await sleep(TIME_WINDOW_MS + 1_100);
    const waiting = async (): Promise<number> =>
      Number(
        (
          await rows<{ n: string }>(
            `SELECT (SELECT count(*) FROM blobs b WHERE NOT EXISTS
                       (SELECT 1 FROM manifest_blob_refs r WHERE r.blob_digest = b.digest))
                  + (SELECT count(*) FROM gc_doomed_parts) AS n`,
          )
        )[0]?.n ?? 0,
      );
    // One run on each server at least; 1.1 s apart, so that a run deletes the last one's doomed.
    let runs = 0;
    for (const deadline = Date.now() + 30_000; runs < 25 && Date.now() < deadline;) {
      expect((await runGc(server(runs % 2).url, { delete_untagged: true })).status).toBe("Success");
      runs += 1;
      if (runs >= 2 && (await waiting()) === 0) break;
      await sleep(1_100);
    }
    console.log(`${backend.name}: clean after ${runs} GC runs`);

    const unreferenced = await rows<{ digest: string }>(
      "SELECT digest FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM manifest_blob_refs r WHERE r.blob_digest = b.digest)",
    );
    expect(unreferenced).toEqual([]);
    const named = new Set<string>();
    for (const row of await rows<{ parts: string | Array<{ path: string }> }>(
      "SELECT parts FROM blobs UNION ALL SELECT parts FROM uploads",
    )) {
      const parts = typeof row.parts === "string" ? (JSON.parse(row.parts) as Array<{ path: string }>) : row.parts;
      for (const part of parts) named.add(part.path);
    }
    const stored = backend.objects();
    expect(stored.filter((object) => !named.has(object))).toEqual([]);
    expect([...named].filter((object) => !stored.includes(object))).toEqual([]);
    expect(await rows("SELECT path FROM gc_doomed_parts")).toEqual([]);
  }

  it("keeps every referenced blob while 8 clients push, pull and delete and both servers collect", async () => {
    const load = new GcLoad(servers.map((each) => each.url));
    const runs: GcRun[] = [];
    const collecting = async (index: number): Promise<void> => {
      const deadline = Date.now() + LOAD_MS;
      while (Date.now() < deadline) {
        runs.push(await runGc(server(index).url, { delete_untagged: true, workers: 2 }));
        await sleep(200);
      }
    };
    load.start(CLIENTS, 10_000);
    await Promise.all([collecting(0), collecting(1)]);
    await load.stop();

    expect(load.report.problems).toEqual([]);
    expect(runs.filter((run) => run.status !== "Success")).toEqual([]);
    const purged = runs.reduce((sum, run) => sum + Number(run.attributes["purged_blobs"] ?? 0), 0);
    const untagged = runs.reduce((sum, run) => sum + Number(run.attributes["purged_manifests"] ?? 0), 0);
    // It collected during the load, from deleted images and untagged ones alike.
    expect(runs.length).toBeGreaterThanOrEqual(10);
    expect(purged).toBeGreaterThan(50);
    expect(untagged).toBeGreaterThan(5);
    expect(load.report.pushed).toBeGreaterThan(50);
    expect(load.report.deleted).toBeGreaterThan(10);

    for (const each of servers) {
      const client = new OciClient(each.url);
      const problems: string[] = [];
      for (const image of load.live.values()) problems.push(...(await pullImage(client, image)));
      expect(problems).toEqual([]);
    }
    await collectAndCheckClean();
    const client = new OciClient(server(1).url);
    for (const image of load.live.values()) expect(await pullImage(client, image)).toEqual([]);
    console.log(
      `${backend.name}: ${load.report.pushed} pushed, ${load.report.pulled} pulled, ${load.report.deleted} deleted, ` +
        `${load.report.untagged} untagged, ${load.report.blobUnknown} manifest pushes refused for a blob gone; ` +
        `${runs.length} GC runs purged ${purged} blobs and ${untagged} untagged manifests`,
    );
  }, 180_000);

  it("takes over a run whose server was killed in the middle, losing nothing referenced", async () => {
    // Garbage enough for a run to take a while: 150 images pushed, then deleted; 20 kept.
    const load = new GcLoad([server(0).url]);
    load.start(4, 50);
    await load.finished();
    expect(load.report.problems).toEqual([]);
    const client = new OciClient(server(0).url);
    const kept = [...load.live.values()].slice(0, 20);
    for (const image of [...load.live.values()].slice(20)) {
      expect((await client.request("DELETE", `/v2/${image.repository}/manifests/${image.digest}`)).status).toBe(202);
    }
    await sleep(TIME_WINDOW_MS + 100);
    const count = async (): Promise<number> =>
      Number((await rows<{ n: string }>("SELECT count(*) AS n FROM blobs"))[0]?.n ?? 0);
    const before = await count();

    const started = await client.request("POST", "/api/v2.0/system/gc/schedule", {
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ schedule: { type: "Manual" }, parameters: { workers: 1 } }),
    });
    expect(started.status).toBe(201);
    const id = Number((started.headers.get("location") ?? "").split("/").pop());
    // Kill whichever server runs it as soon as it has deleted something and before it is done.
    let victim: number | undefined;
    for (let round = 0; round < 2_000 && victim === undefined; round++) {
      const [execution] = await rows<{ status: string; owner: string | null }>(
        `SELECT status, owner FROM job_executions WHERE id = ${id}`,
      );
      if (execution?.status === "Running" && (await count()) < before) {
        victim = servers.findIndex((each) => execution.owner?.includes(`:${each.pid}:`));
        process.kill(server(victim < 0 ? 0 : victim).pid, "SIGKILL");
      }
      await sleep(5);
    }
    expect(victim, `garbage: ${before} blobs, ${load.live.size} images live`).toBeDefined();
    const index = victim !== undefined && victim >= 0 ? victim : 0;
    await server(index).stop();
    servers[index] = await startServerProcess(configLines, { dataDir: data.dir });

    // The lease runs out and a server claims it again: a second attempt that ends well.
    const killedAt = Date.now();
    let status = "";
    for (let round = 0; round < 600 && status !== "Success"; round++) {
      status = (await rows<{ status: string }>(`SELECT status FROM job_executions WHERE id = ${id}`))[0]?.status ?? "";
      if (status !== "Success") await sleep(100);
    }
    expect(status).toBe("Success");
    console.log(`GC taken over and done ${Date.now() - killedAt} ms after the kill (lease ${LEASE_SECONDS} s)`);
    const [attempts] = await rows<{ attempts: number }>(`SELECT attempts FROM job_executions WHERE id = ${id}`);
    expect(attempts?.attempts).toBeGreaterThanOrEqual(2);
    for (const each of servers) {
      const reader = new OciClient(each.url);
      for (const image of kept) expect(await pullImage(reader, image)).toEqual([]);
    }
    await collectAndCheckClean();
  }, 180_000);
});
