// One server, two worker processes behind its port, on SQLite and the filesystem: the server
// process as operators run it (`workers: 2`). Connections alternate between the workers (each
// request here opens its own, and the logs say which worker answered it), and the server must
// behave as one: pushes through both at once without a database error, an upload whose chunks
// land on both workers, a quota that holds across them, a setting or a failed login seen by the
// other worker at once, /metrics for the whole server, background work scheduled and run once, a
// killed worker replaced while the other serves, and SIGTERM finishing the request in flight.

import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HarborClient, idFromLocation } from "../api/harbor-client.ts";
import { sha256 } from "../distribution/oci-client.ts";
import { tempDir } from "../helpers.ts";
import { PushLoad, tally, verifyPushed } from "../push-load.ts";
import { startServerProcess, type ServerProcess } from "../server-process.ts";
import {
  BASIC,
  childPids,
  eventually,
  freshRequest,
  logEntries,
  metricSum,
  workerOf,
  type Answer,
} from "./cluster-fixture.ts";

const WORKERS = 2;
const data = tempDir("workers");
const database = path.join(data.dir, "metadata", "registry.db");
let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess([`workers: ${WORKERS}`], { dataDir: data.dir });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  data.remove();
}, 30_000);

/** Which worker answered each of `answers` (undefined when the log does not say, a failure). */
async function workersOf(answers: readonly Answer[]): Promise<Array<number | undefined>> {
  // The access log line is written when the response closes, a moment after the client has it.
  await eventually(() => answers.every((answer) => workerOf(server.output(), answer.requestId) !== undefined), 5_000);
  return answers.map((answer) => workerOf(server.output(), answer.requestId));
}

function readDatabase<T>(sql: string): T[] {
  const db = new DatabaseSync(database, { readOnly: true, timeout: 5_000 });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

describe("a server with two worker processes", () => {
  it("hands connections to both workers, logs which one answered, and /metrics counts them all", async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 10; i++) answers.push(await freshRequest(server.url, "GET", "/v2/", { label: "ping" }));
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
    const served = await workersOf(answers);
    expect(new Set(served)).toEqual(new Set([1, 2]));

    // Whichever worker takes the scrape, it counts the other's requests too.
    for (let scrape = 0; scrape < 2; scrape++) {
      const metrics = await freshRequest(server.url, "GET", "/metrics", { headers: { Authorization: "" } });
      expect(metrics.status).toBe(200);
      const text = metrics.body.toString("utf8");
      expect(metricSum(text, "airlock_http_requests_total", { route: "base", status: "200" })).toBe(10);
      expect(metricSum(text, "airlock_cluster_workers")).toBe(WORKERS);
      // Every process's memory: the primary's and both workers'.
      expect(metricSum(text, "airlock_process_resident_memory_bytes")).toBeGreaterThan(3 * 20 * 1024 * 1024);
    }
    // The primary logs as worker 0, after both workers said they listen.
    const entries = logEntries(server.output());
    const listening = entries.find((entry) => entry["msg"] === "listening");
    expect(listening).toMatchObject({ worker: 0, workers: WORKERS });
    expect(
      entries
        .filter((entry) => entry["msg"] === "worker listening")
        .map((entry) => entry["worker"])
        .sort(),
    ).toEqual([1, 2]);
  });

  it("takes concurrent pushes through both workers without a database error, and pulls them back", async () => {
    const clients = 8;
    const load = new PushLoad(server.url, { clients, maxImagesPerClient: 6 });
    load.start();
    // Each client ends by itself after its images; a failure ends nothing, so the count is bounded.
    await eventually(
      () => load.outcomes.length >= clients * 6 * 3 || tally(load.outcomes).succeeded < load.outcomes.length,
      60_000,
    );
    await load.stop();
    const counts = tally(load.outcomes);
    expect(counts, JSON.stringify(counts)).toMatchObject({
      attempted: clients * 6 * 3,
      succeeded: clients * 6 * 3,
      unavailable: 0,
      otherStatuses: {},
      noAnswer: {},
    });
    const verified = await verifyPushed(server.url, load, clients);
    expect(verified.problems).toEqual([]);
    expect(verified.images).toBe(clients * 6);
    const manifestPuts = logEntries(server.output()).filter(
      (entry) => entry["msg"] === "request" && entry["route"] === "manifest_put",
    );
    expect(new Set(manifestPuts.map((entry) => entry["worker"]))).toEqual(new Set([1, 2]));
    expect(server.output()).not.toMatch(/SQLITE_BUSY|database is locked/);
  });

  it("continues an upload on the other worker: each chunk on a new connection, the blob intact", async () => {
    const chunks = [randomBytes(3000), randomBytes(5000), randomBytes(4000), randomBytes(2000)];
    const whole = Buffer.concat(chunks);
    const repository = "chunks/app";
    const started = await freshRequest(server.url, "POST", `/v2/${repository}/blobs/uploads/`, { label: "chunk" });
    expect(started.status).toBe(202);
    let location = String(started.headers.location);
    const answers = [started];
    let offset = 0;
    for (const chunk of chunks.slice(0, -1)) {
      const patched = await freshRequest(server.url, "PATCH", location, {
        label: "chunk",
        body: chunk,
        headers: {
          "Content-Type": "application/octet-stream",
          "Content-Range": `${offset}-${offset + chunk.length - 1}`,
        },
      });
      expect(patched.status, patched.body.toString()).toBe(202);
      offset += chunk.length;
      expect(patched.headers.range).toBe(`0-${offset - 1}`);
      location = String(patched.headers.location);
      answers.push(patched);
    }
    const last = chunks.at(-1) ?? Buffer.alloc(0);
    const closed = await freshRequest(
      server.url,
      "PUT",
      `${location}${location.includes("?") ? "&" : "?"}digest=${sha256(whole)}`,
      {
        label: "chunk",
        body: last,
        headers: {
          "Content-Type": "application/octet-stream",
          "Content-Range": `${offset}-${offset + last.length - 1}`,
        },
      },
    );
    expect(closed.status, closed.body.toString()).toBe(201);
    answers.push(closed);
    const served = await workersOf(answers);
    expect(new Set(served), `workers of POST, PATCH…, PUT: ${served.join(",")}`).toEqual(new Set([1, 2]));

    const pulled = await freshRequest(server.url, "GET", `/v2/${repository}/blobs/${sha256(whole)}`);
    expect(pulled.status).toBe(200);
    expect(sha256(pulled.body)).toBe(sha256(whole));
  });

  it("holds a project's quota against pushes racing through both workers", async () => {
    const api = new HarborClient(server.url);
    const created = await api.call("POST", "/projects", { body: { project_name: "quota", storage_limit: 8192 } });
    expect(created.status, created.text).toBe(201);
    const projectId = idFromLocation(created, "/api/v2.0/projects/");
    const blobs = Array.from({ length: 16 }, () => randomBytes(1024));
    const answers = await Promise.all(
      blobs.map((blob) =>
        freshRequest(server.url, "POST", `/v2/quota/app/blobs/uploads/?digest=${sha256(blob)}`, {
          label: "quota",
          body: blob,
          headers: { "Content-Type": "application/octet-stream" },
        }),
      ),
    );
    const accepted = answers.filter((answer) => answer.status === 201);
    const refused = answers.filter((answer) => answer.status === 403);
    expect(accepted.length + refused.length, answers.map((answer) => answer.status).join(",")).toBe(16);
    expect(accepted).toHaveLength(8);
    for (const answer of refused) expect(answer.body.toString()).toContain("DENIED");
    // The racing pushes went through both workers (which of them won is the race's).
    expect(new Set(await workersOf(answers))).toEqual(new Set([1, 2]));
    const quota = await api.call("GET", `/quotas?reference=project&reference_id=${projectId}`);
    expect((quota.json as Array<{ used: { storage: number } }>)[0]?.used.storage).toBe(8192);
  });

  it("applies a setting changed through one worker on the next request to either", async () => {
    const push = (label: string): Promise<Answer> =>
      freshRequest(server.url, "POST", "/v2/settings/app/blobs/uploads/", { label });
    // Both workers read the settings (and keep them two seconds).
    const before = [await push("settings"), await push("settings")];
    expect(before.map((answer) => answer.status)).toEqual([202, 202]);
    expect(new Set(await workersOf(before))).toEqual(new Set([1, 2]));
    const changed = await freshRequest(server.url, "PUT", "/api/v2.0/configurations", {
      body: JSON.stringify({ read_only: true }),
      headers: { "Content-Type": "application/json" },
    });
    expect(changed.status).toBe(200);
    try {
      const during = [await push("read-only"), await push("read-only"), await push("read-only")];
      expect(during.map((answer) => answer.status)).toEqual([403, 403, 403]);
      expect(new Set(await workersOf(during))).toEqual(new Set([1, 2]));
    } finally {
      await freshRequest(server.url, "PUT", "/api/v2.0/configurations", {
        body: JSON.stringify({ read_only: false }),
        headers: { "Content-Type": "application/json" },
      });
    }
    const after = [await push("settings"), await push("settings")];
    expect(after.map((answer) => answer.status)).toEqual([202, 202]);
  });

  it("counts failed logins for the whole server, whichever worker saw them", async () => {
    const guess = (n: number): Promise<Answer> =>
      freshRequest(server.url, "GET", "/v2/", {
        label: "guess",
        headers: { Authorization: `Basic ${Buffer.from(`mallory:guess-${n}`).toString("base64")}` },
      });
    // The limit is 10 failures of one account from one address a minute: 5 on each worker.
    const failures: Answer[] = [];
    for (let n = 0; n < 10; n++) failures.push(await guess(n));
    expect(failures.map((answer) => answer.status)).toEqual(Array(10).fill(401));
    expect(new Set(await workersOf(failures))).toEqual(new Set([1, 2]));
    const refused = [await guess(10), await guess(11)];
    expect(refused.map((answer) => answer.status)).toEqual([429, 429]);
    expect(new Set(await workersOf(refused))).toEqual(new Set([1, 2]));
  });

  it("keeps one schedule per background job and runs a due one once", async () => {
    const schedules = readDatabase<{ vendor_type: string; n: number }>(
      "SELECT vendor_type, count(*) AS n FROM job_schedules GROUP BY vendor_type ORDER BY vendor_type",
    );
    expect(schedules.map((row) => [row.vendor_type, row.n])).toEqual([
      ["REGISTRY_HEALTH", 1],
      ["UPLOAD_EXPIRY", 1],
    ]);
    const writer = new DatabaseSync(database, { timeout: 5_000 });
    try {
      writer.prepare("UPDATE job_schedules SET next_run_at = 0 WHERE vendor_type = 'UPLOAD_EXPIRY'").run();
    } finally {
      writer.close();
    }
    const runs = (): Array<{ status: string; attempts: number }> =>
      readDatabase("SELECT status, attempts FROM job_executions WHERE vendor_type = 'UPLOAD_EXPIRY'");
    expect(await eventually(() => runs().some((run) => run.status === "Success"), 15_000)).toBe(true);
    // Both workers poll every 2 s: long enough for either to have run it again, had it been able to.
    await sleep(5_000);
    expect(runs()).toEqual([{ status: "Success", attempts: 1 }]);
  });

  it("replaces a worker that dies while the other one serves", async () => {
    const workers = childPids(server.pid);
    expect(workers).toHaveLength(WORKERS);
    process.kill(workers[0] ?? 0, "SIGKILL");
    expect(await eventually(() => /"msg":"worker died: restarting it"/.test(server.output()), 5_000)).toBe(true);
    const meanwhile: Answer[] = [];
    for (let i = 0; i < 6; i++) meanwhile.push(await freshRequest(server.url, "GET", "/v2/", { label: "meanwhile" }));
    expect(meanwhile.map((answer) => answer.status)).toEqual(Array(6).fill(200));
    expect(new Set(await workersOf(meanwhile)).size).toBe(1);

    expect(await eventually(() => /"msg":"worker restarted"/.test(server.output()), 20_000)).toBe(true);
    const replaced = childPids(server.pid);
    expect(replaced).toHaveLength(WORKERS);
    expect(replaced).not.toContain(workers[0]);
    const after: Answer[] = [];
    for (let i = 0; i < 4; i++) after.push(await freshRequest(server.url, "GET", "/v2/", { label: "after" }));
    expect(new Set(await workersOf(after))).toEqual(new Set([1, 2]));
    const metrics = (await freshRequest(server.url, "GET", "/metrics")).body.toString("utf8");
    expect(metricSum(metrics, "airlock_cluster_worker_restarts_total")).toBe(1);
    expect(metricSum(metrics, "airlock_cluster_workers")).toBe(WORKERS);
  }, 40_000);

  it("stops on SIGTERM once the request in flight is answered, the database checkpointed", async () => {
    const started = await freshRequest(server.url, "POST", "/v2/slow/app/blobs/uploads/");
    expect(started.status).toBe(202);
    const body = randomBytes(64 * 1024);
    // A chunk sent slowly: SIGTERM comes while its body is still arriving.
    const answer = new Promise<number>((resolve, reject) => {
      const req = httpRequest(new URL(String(started.headers.location), server.url), body.length, resolve, reject);
      void (async () => {
        for (let offset = 0; offset < body.length; offset += 8 * 1024) {
          req.write(body.subarray(offset, offset + 8 * 1024));
          await sleep(150);
        }
        req.end();
      })();
    });
    await sleep(300);
    const exit = server.stop();
    expect(await answer).toBe(202);
    expect(await exit).toBe(0);
    const entries = logEntries(server.output());
    expect(
      entries
        .filter((entry) => entry["msg"] === "worker stopped")
        .map((entry) => entry["worker"])
        .sort(),
    ).toEqual([1, 2]);
    expect(entries.at(-1)).toMatchObject({ worker: 0, msg: "shutdown complete" });
    // The last connection to close checkpointed the WAL into the file and removed it.
    expect(existsSync(`${database}-wal`)).toBe(false);
  }, 30_000);
});

/** A PATCH whose body the caller writes, on a connection of its own. */
function httpRequest(
  url: URL,
  length: number,
  resolve: (status: number) => void,
  reject: (error: Error) => void,
): http.ClientRequest {
  const req = http.request(
    url,
    {
      method: "PATCH",
      agent: false,
      headers: { Authorization: BASIC, "Content-Type": "application/octet-stream", "Content-Length": String(length) },
      timeout: 20_000,
    },
    (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    },
  );
  req.on("error", reject);
  return req;
}
