// Three replicas as an installation runs them: three server processes (the third with two workers
// of its own) on one PostgreSQL database (a throwaway cluster) and one S3 bucket (versitygw),
// sharing their keys as a mounted secret would, behind a round-robin TCP balancer started here.
// An image pushed one chunk per replica pulls back intact from each; tokens, deleted projects,
// refreshed robot secrets, sealed upstream secrets and settings changed on one replica hold on
// the others (at once, or within the settings' two seconds); the background work (upload expiry,
// endpoint health checks, preheat) runs once across them; and a replica killed in the middle of
// a chunk costs the client one retry through the balancer, the upload resuming where the
// database says it stands.

import { randomBytes } from "node:crypto";
import { cpSync } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateSecretBox } from "../../src/auth/secret-box.ts";
import { loadOrCreateSigningKey } from "../../src/auth/token-service.ts";
import { HarborClient, idFromLocation, projectPermissions, type RobotCreated } from "../api/harbor-client.ts";
import { descriptorOf, OCI_MANIFEST, OciClient, sha256 } from "../distribution/oci-client.ts";
import { ADMIN, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { startThrowawayCluster, type ThrowawayCluster } from "../metadata/postgres-cluster.ts";
import { withClient } from "../metadata/postgres-database.ts";
import { startServerProcess, type ServerProcess } from "../server-process.ts";
import { startVersitygw, type S3TestServer } from "../storage/versitygw-server.ts";
import { eventually, freshRequest, logEntries, type Answer } from "./cluster-fixture.ts";
import { startRoundRobinBalancer, type RoundRobinBalancer } from "./round-robin-balancer.ts";

const BUCKET = "replicas";
/** Workers of each replica: the third runs two, as a replica on a bigger machine would. */
const WORKERS = [1, 1, 2];
/** How long a replica may act on settings another one changed (system-settings.ts). */
const SETTINGS_BOUND_MS = 2_000;

let postgres: ThrowawayCluster | undefined;
let s3: S3TestServer | undefined;
let upstream: TestRegistry | undefined;
let balancer: RoundRobinBalancer | undefined;
const replicas: ServerProcess[] = [];
const dirs: Array<{ remove: () => void }> = [];

beforeAll(async () => {
  postgres = await startThrowawayCluster();
  s3 = await startVersitygw();
  await s3.createBucket(BUCKET);
  upstream = await startTestRegistry();
  // The keys every replica must share (dataDir/auth/): made once, copied as a mounted secret is.
  const keys = tempDir("replica-keys");
  dirs.push(keys);
  await loadOrCreateSigningKey(path.join(keys.dir, "auth"));
  await loadOrCreateSecretBox(path.join(keys.dir, "auth"));
  const config = (workers: number): string[] => [
    `workers: ${workers}`,
    "metadata:",
    "  postgres:",
    `    url: ${postgres?.url ?? ""}`,
    "    maxConnections: 4",
    "storage:",
    "  s3:",
    `    bucket: ${BUCKET}`,
    `    endpoint: ${s3?.endpoint ?? ""}`,
    `    region: ${s3?.region ?? ""}`,
    "    forcePathStyle: true",
    `    accessKeyId: ${s3?.accessKeyId ?? ""}`,
    `    secretAccessKey: ${s3?.secretAccessKey ?? ""}`,
  ];
  // Started together: the schema is migrated once, under PostgreSQL's advisory lock.
  const started = await Promise.all(
    WORKERS.map(async (workers, index) => {
      const data = tempDir(`replica-${index}`);
      dirs.push(data);
      cpSync(path.join(keys.dir, "auth"), path.join(data.dir, "auth"), { recursive: true });
      return startServerProcess(config(workers), { dataDir: data.dir });
    }),
  );
  replicas.push(...started);
  balancer = await startRoundRobinBalancer(
    replicas.map((replica) => ({ host: "127.0.0.1", port: Number(new URL(replica.url).port) })),
  );
}, 180_000);

afterAll(async () => {
  await balancer?.close();
  await Promise.all(replicas.map((replica) => replica.stop()));
  await upstream?.stop();
  await s3?.stop();
  await postgres?.remove();
  for (const dir of dirs) dir.remove();
}, 120_000);

function via(): string {
  if (!balancer) throw new Error("the balancer did not start");
  return balancer.url;
}

function replica(index: number): ServerProcess {
  const found = replicas[index];
  if (!found) throw new Error(`replica ${index} did not start`);
  return found;
}

/** Which replica logged request `requestId`, once one has. */
async function replicaOf(answer: Answer): Promise<number | undefined> {
  const find = (): number =>
    replicas.findIndex((each) =>
      logEntries(each.output()).some((entry) => entry["msg"] === "request" && entry["requestId"] === answer.requestId),
    );
  await eventually(() => find() >= 0, 5_000);
  const index = find();
  return index >= 0 ? index : undefined;
}

function rows<R>(sql: string, params: unknown[] = []): Promise<R[]> {
  return withClient(postgres?.url ?? "", async (client) => (await client.query(sql, params)).rows as R[]);
}

const json = (body: unknown): { body: string; headers: Record<string, string> } => ({
  body: JSON.stringify(body),
  headers: { "Content-Type": "application/json" },
});

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

/** Pulls `reference` of `repository` from `base` and checks the manifest and every blob's digest. */
async function pullAndCheck(base: string, repository: string, reference: string, digest: string): Promise<void> {
  const manifest = await freshRequest(base, "GET", `/v2/${repository}/manifests/${reference}`, {
    headers: { Accept: OCI_MANIFEST },
  });
  expect(manifest.status).toBe(200);
  expect(sha256(manifest.body)).toBe(digest);
  const parsed = JSON.parse(manifest.body.toString("utf8")) as {
    config: { digest: string };
    layers: Array<{ digest: string }>;
  };
  for (const blob of [parsed.config, ...parsed.layers]) {
    const pulled = await freshRequest(base, "GET", `/v2/${repository}/blobs/${blob.digest}`);
    expect(pulled.status).toBe(200);
    expect(sha256(pulled.body)).toBe(blob.digest);
  }
}

describe("three replicas on PostgreSQL and S3 behind a round-robin balancer", () => {
  it("pulls back intact, from every replica, an image whose chunks each went to another one", async () => {
    expect((await freshRequest(via(), "POST", "/api/v2.0/projects", json({ project_name: "team" }))).status).toBe(201);
    const chunks = [randomBytes(96 * 1024), randomBytes(64 * 1024), randomBytes(80 * 1024)];
    const layer = Buffer.concat(chunks);
    const started = await freshRequest(via(), "POST", "/v2/team/app/blobs/uploads/", { label: "chunked" });
    expect(started.status).toBe(202);
    let location = String(started.headers.location);
    let offset = 0;
    const chunkAnswers: Answer[] = [];
    for (const chunk of chunks) {
      const answer = await freshRequest(via(), "PATCH", location, {
        label: "chunked",
        body: chunk,
        headers: {
          "Content-Type": "application/octet-stream",
          "Content-Range": `${offset}-${offset + chunk.length - 1}`,
        },
      });
      expect(answer.status, answer.body.toString()).toBe(202);
      offset += chunk.length;
      location = String(answer.headers.location);
      chunkAnswers.push(answer);
    }
    const closed = await freshRequest(
      via(),
      "PUT",
      `${location}${location.includes("?") ? "&" : "?"}digest=${sha256(layer)}`,
    );
    expect(closed.status, closed.body.toString()).toBe(201);
    const chunkReplicas = await Promise.all(chunkAnswers.map((answer) => replicaOf(answer)));
    expect([...chunkReplicas].sort()).toEqual([0, 1, 2]);

    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux" }));
    expect(
      (
        await freshRequest(via(), "POST", `/v2/team/app/blobs/uploads/?digest=${sha256(config)}`, {
          body: config,
          headers: { "Content-Type": "application/octet-stream" },
        })
      ).status,
    ).toBe(201);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: descriptorOf("application/vnd.oci.image.config.v1+json", config),
        layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar", layer)],
      }),
    );
    const put = await freshRequest(via(), "PUT", "/v2/team/app/manifests/1.0", {
      body: manifest,
      headers: { "Content-Type": OCI_MANIFEST },
    });
    expect(put.status, put.body.toString()).toBe(201);
    for (const index of [0, 1, 2]) await pullAndCheck(replica(index).url, "team/app", "1.0", sha256(manifest));
  });

  it("accepts on every replica a token another one issued", async () => {
    const issued = await freshRequest(
      replica(0).url,
      "GET",
      "/service/token?service=airlock&scope=repository:team/app:pull",
    );
    expect(issued.status).toBe(200);
    const { token } = JSON.parse(issued.body.toString("utf8")) as { token: string };
    for (const index of [1, 2]) {
      const pulled = await freshRequest(replica(index).url, "GET", "/v2/team/app/manifests/1.0", {
        headers: { Authorization: `Bearer ${token}`, Accept: OCI_MANIFEST },
      });
      expect(pulled.status).toBe(200);
    }
  });

  it("forgets at once on the others a project one replica deleted", async () => {
    const api = new HarborClient(replica(0).url);
    await api.createProject("brief", false);
    await api.createUser("dev", "Developer-pass-1");
    await api.addMember("brief", "dev", 2);
    /** The actions a token from replica `index` grants the developer on brief/app. */
    const granted = async (index: number): Promise<string[]> => {
      const answer = await freshRequest(
        replica(index).url,
        "GET",
        "/service/token?service=airlock&scope=repository:brief/app:pull,push",
        { headers: { Authorization: basic("dev", "Developer-pass-1") } },
      );
      expect(answer.status).toBe(200);
      const { token } = JSON.parse(answer.body.toString("utf8")) as { token: string };
      const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as {
        access: Array<{ actions: string[] }>;
      };
      return claims.access.flatMap((entry) => entry.actions).sort();
    };
    // The others look the project up (and would keep it, had they a cache).
    for (const index of [1, 2]) {
      expect((await freshRequest(replica(index).url, "GET", "/api/v2.0/projects/brief")).status).toBe(200);
      expect(await granted(index)).toEqual(["pull", "push"]);
    }
    expect((await freshRequest(replica(0).url, "DELETE", "/api/v2.0/projects/brief")).status).toBe(200);
    for (const index of [1, 2]) {
      expect((await freshRequest(replica(index).url, "GET", "/api/v2.0/projects/brief")).status).toBe(404);
      expect(await granted(index)).toEqual([]);
    }
  });

  it("refuses at once on the others a robot secret one replica refreshed, and takes the new one", async () => {
    const api = new HarborClient(replica(0).url);
    const robot: RobotCreated = await api.createRobot({
      name: "ci",
      level: "project",
      duration: -1,
      permissions: projectPermissions("team", [["repository", "pull"]]),
    });
    const check = async (index: number, secret: string): Promise<number> =>
      (await freshRequest(replica(index).url, "GET", "/v2/", { headers: { Authorization: basic(robot.name, secret) } }))
        .status;
    // Verified on each (and remembered there for minutes, against the hash it matched).
    for (const index of [1, 2])
      expect([await check(index, robot.secret), await check(index, robot.secret)]).toEqual([200, 200]);
    const refreshed = await api.call("PATCH", `/robots/${robot.id}`, { body: { secret: "Refreshed1Secret" } });
    expect(refreshed.status).toBe(200);
    for (const index of [1, 2]) {
      expect(await check(index, robot.secret)).toBe(401);
      expect(await check(index, "Refreshed1Secret")).toBe(200);
    }
  });

  it("applies on the others within two seconds a setting one replica changed", async () => {
    const push = async (index: number): Promise<number> =>
      (await freshRequest(replica(index).url, "POST", "/v2/team/settings/blobs/uploads/")).status;
    for (const index of [0, 1, 2]) expect(await push(index)).toBe(202);
    const changed = await freshRequest(replica(0).url, "PUT", "/api/v2.0/configurations", json({ read_only: true }));
    expect(changed.status).toBe(200);
    const changedAt = Date.now();
    try {
      expect(await push(0)).toBe(403);
      for (const index of [1, 2]) {
        expect(await eventually(async () => (await push(index)) === 403, SETTINGS_BOUND_MS + 3_000)).toBe(true);
        expect(Date.now() - changedAt).toBeLessThanOrEqual(SETTINGS_BOUND_MS + 500);
      }
    } finally {
      await freshRequest(replica(0).url, "PUT", "/api/v2.0/configurations", json({ read_only: false }));
    }
    const revertedAt = Date.now();
    for (const index of [1, 2]) {
      expect(await eventually(async () => (await push(index)) === 202, SETTINGS_BOUND_MS + 3_000)).toBe(true);
    }
    // Past the bound, every copy (each worker of the third replica keeps one) is writable again.
    await sleep(Math.max(0, revertedAt + SETTINGS_BOUND_MS + 100 - Date.now()));
    for (let round = 0; round < 4; round++) {
      expect(await push(2)).toBe(202);
    }
  });

  it("opens on the others an upstream secret one replica sealed, and follows its rotation at once", async () => {
    const apis = [0, 1, 2].map((index) => new HarborClient(replica(index).url));
    const created = await apis[0]?.call("POST", "/registries", {
      body: {
        name: "sealed",
        type: "docker-registry",
        url: upstream?.url,
        credential: { type: "basic", access_key: ADMIN.username, access_secret: ADMIN.password },
      },
    });
    expect(created?.status, created?.text).toBe(201);
    const id = idFromLocation(created ?? ({} as never), "/api/v2.0/registries/");
    const ping = async (index: number): Promise<number> =>
      (await apis[index]?.call("POST", "/registries/ping", { body: { id } }))?.status ?? 0;
    expect([await ping(1), await ping(2)]).toEqual([200, 200]);
    // Rotated on one replica (to a wrong secret): the others use the new one at once.
    expect(
      (await apis[2]?.call("PUT", `/registries/${id}`, { body: { access_secret: "wrong-password" } }))?.status,
    ).toBe(200);
    expect([await ping(0), await ping(1)]).toEqual([400, 400]);
    // An update that keeps the secret has to open it: another replica, the same key.
    expect((await apis[1]?.call("PUT", `/registries/${id}`, { body: { access_secret: ADMIN.password } }))?.status).toBe(
      200,
    );
    expect((await apis[0]?.call("PUT", `/registries/${id}`, { body: { description: "kept" } }))?.status).toBe(200);
    expect([await ping(0), await ping(2)]).toEqual([200, 200]);
  });

  it("runs the background work once across the replicas and their workers", async () => {
    const schedules = await rows<{ vendor_type: string; n: string }>(
      "SELECT vendor_type, count(*) AS n FROM job_schedules GROUP BY vendor_type ORDER BY vendor_type",
    );
    expect(schedules.map((row) => [row.vendor_type, Number(row.n)])).toEqual([
      ["REGISTRY_HEALTH", 1],
      ["UPLOAD_EXPIRY", 1],
    ]);

    // An endpoint created through the balancer is checked once, not by every replica.
    const created = await new HarborClient(via()).call("POST", "/registries", {
      body: {
        name: "checked-once",
        type: "docker-registry",
        url: upstream?.url,
        credential: { type: "basic", access_key: ADMIN.username, access_secret: ADMIN.password },
      },
    });
    expect(created.status, created.text).toBe(201);
    const id = idFromLocation(created, "/api/v2.0/registries/");
    const checks = (): Promise<Array<{ status: string; attempts: number }>> =>
      rows(
        `SELECT status, attempts FROM job_executions
           WHERE vendor_type = 'REGISTRY_HEALTH' AND trigger_kind = 'EVENT' AND (parameters->>'registry_id')::int = $1`,
        [id],
      );
    expect(await eventually(async () => (await checks()).some((run) => run.status === "Success"), 20_000)).toBe(true);

    // The upload sweep made due now: one replica's worker runs it, once.
    await rows(
      // Whole milliseconds, as the server writes them: its compare-and-set compares a JavaScript Date.
      "UPDATE job_schedules SET next_run_at = date_trunc('milliseconds', now()) WHERE vendor_type = 'UPLOAD_EXPIRY'",
    );
    const sweeps = (): Promise<Array<{ status: string; attempts: number }>> =>
      rows("SELECT status, attempts FROM job_executions WHERE vendor_type = 'UPLOAD_EXPIRY'");
    expect(await eventually(async () => (await sweeps()).some((run) => run.status === "Success"), 20_000)).toBe(true);

    // A preheat asked of one replica runs once; every replica shows its progress.
    await new OciClient(upstream?.url ?? "").pushImage("team/cached", "1.0", {
      layer: randomBytes(4096).toString("base64"),
    });
    const hub = await new HarborClient(via()).call("POST", "/projects", {
      body: { project_name: "hub", registry_id: id },
    });
    expect(hub.status, hub.text).toBe(201);
    const preheat = await freshRequest(
      via(),
      "POST",
      "/api/v2.0/projects/hub/preheat",
      json({ images: ["team/cached:1.0"] }),
    );
    expect(preheat.status, preheat.body.toString()).toBe(201);
    const jobPath = String(preheat.headers.location);
    for (const index of [0, 1, 2]) {
      let last = "";
      const done = await eventually(async () => {
        const job = await freshRequest(replica(index).url, "GET", jobPath);
        last = `${job.status} ${job.body.toString("utf8")}`;
        return (
          job.status === 200 && (JSON.parse(job.body.toString("utf8")) as { status: string }).status === "succeeded"
        );
      }, 20_000);
      expect(done, `preheat progress on replica ${index}: ${last}`).toBe(true);
    }

    // Every replica polls the queue and the schedules every 2 s: time enough to run anything twice.
    await sleep(5_000);
    expect(await checks()).toEqual([{ status: "Success", attempts: 1 }]);
    expect(await sweeps()).toEqual([{ status: "Success", attempts: 1 }]);
    expect(await rows("SELECT status, attempts FROM job_executions WHERE vendor_type = 'PREHEAT'")).toEqual([
      { status: "Success", attempts: 1 },
    ]);
  }, 60_000);

  // Last: it leaves two replicas.
  it("resumes through the balancer an upload whose replica was killed in the middle of a chunk", async () => {
    const before = [randomBytes(64 * 1024)];
    const layer = Buffer.concat([...before, randomBytes(256 * 1024)]);
    const started = await freshRequest(via(), "POST", "/v2/team/resumed/blobs/uploads/");
    expect(started.status).toBe(202);
    const first = await freshRequest(via(), "PATCH", String(started.headers.location), {
      body: before[0],
      headers: { "Content-Type": "application/octet-stream", "Content-Range": `0-${(before[0]?.length ?? 0) - 1}` },
    });
    expect(first.status).toBe(202);
    const location = String(first.headers.location);
    const offset = before[0]?.length ?? 0;
    const rest = layer.subarray(offset);

    // The next chunk streams slowly; the replica that took it is killed halfway through.
    const connections = balancer?.assignments.length ?? 0;
    const { promise: cut, request } = slowPatch(via(), location, rest, offset);
    expect(await eventually(() => (balancer?.assignments[connections] ?? undefined) !== undefined, 5_000)).toBe(true);
    const victim = balancer?.assignments[connections] ?? 0;
    await sleep(300);
    process.kill(replica(victim).pid, "SIGKILL");
    const outcome = await cut;
    expect(outcome, "the chunk in flight fails with the connection").toBe("failed");
    request.destroy();
    expect(await eventually(() => !replica(victim).alive(), 5_000)).toBe(true);

    // The client's retry, as the specification has it: ask where the upload stands, go on from there.
    const status = await freshRequest(via(), "GET", location);
    expect(status.status).toBe(204);
    expect(status.headers.range).toBe(`0-${offset - 1}`);
    const retried = await freshRequest(via(), "PATCH", location, {
      body: rest,
      headers: { "Content-Type": "application/octet-stream", "Content-Range": `${offset}-${layer.length - 1}` },
    });
    expect(retried.status, retried.body.toString()).toBe(202);
    const closed = await freshRequest(
      via(),
      "PUT",
      `${String(retried.headers.location)}${String(retried.headers.location).includes("?") ? "&" : "?"}digest=${sha256(layer)}`,
    );
    expect(closed.status, closed.body.toString()).toBe(201);
    const survivors = [0, 1, 2].filter((index) => index !== victim);
    for (const index of survivors) {
      const pulled = await freshRequest(replica(index).url, "GET", `/v2/team/resumed/blobs/${sha256(layer)}`);
      expect(pulled.status).toBe(200);
      expect(sha256(pulled.body)).toBe(sha256(layer));
    }
    // Through the balancer too, which now skips the dead replica.
    for (let round = 0; round < 3; round++) {
      expect((await freshRequest(via(), "GET", `/v2/team/resumed/blobs/${sha256(layer)}`)).status).toBe(200);
    }
  }, 60_000);
});

/** A PATCH of `body` sent in small pieces over a few seconds; resolves "failed" if the connection breaks. */
function slowPatch(
  base: string,
  location: string,
  body: Buffer,
  offset: number,
): { promise: Promise<"answered" | "failed">; request: http.ClientRequest } {
  const request = http.request(new URL(location, base), {
    method: "PATCH",
    agent: false,
    headers: {
      Authorization: basic(ADMIN.username, ADMIN.password),
      "Content-Type": "application/octet-stream",
      "Content-Length": String(body.length),
      "Content-Range": `${offset}-${offset + body.length - 1}`,
    },
  });
  const promise = new Promise<"answered" | "failed">((resolve) => {
    request.on("response", (res) => {
      res.resume();
      resolve("answered");
    });
    request.on("error", () => resolve("failed"));
  });
  void (async () => {
    const piece = 16 * 1024;
    for (let at = 0; at < body.length && !request.destroyed; at += piece) {
      request.write(body.subarray(at, at + piece));
      await sleep(200);
    }
    if (!request.destroyed) request.end();
  })();
  return { promise, request };
}
