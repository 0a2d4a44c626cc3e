// The background work of a server (upload expiry, endpoint health checks, preheat) runs on the job
// system, so two replicas sharing one PostgreSQL database (and, as replicas do, their keys and
// blob storage) schedule it once, run an endpoint's check once, and show one preheat's progress
// whichever of them is asked.

import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HarborClient, idFromLocation } from "../api/harbor-client.ts";
import { ADMIN, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { createTestDatabase, withClient, type TestDatabase } from "../metadata/postgres-database.ts";

describe("background work across two replicas", () => {
  let database: TestDatabase;
  let url: string;
  const shared = tempDir("replicas");
  let upstream: TestRegistry;
  let a: TestRegistry;
  let b: TestRegistry;
  let apiA: HarborClient;
  let apiB: HarborClient;

  beforeAll(async () => {
    database = await createTestDatabase();
    url = (await database.freshSchema()).url;
    upstream = await startTestRegistry();
    const replica = { dataDir: shared.dir, metadata: { postgres: { url, maxConnections: 4 } } };
    a = await startTestRegistry(replica);
    b = await startTestRegistry(replica);
    apiA = new HarborClient(a.url);
    apiB = new HarborClient(b.url);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await upstream?.stop();
    await database?.drop();
    shared.remove();
  });

  const rows = <R>(sql: string, params: unknown[] = []): Promise<R[]> =>
    withClient(url, async (client) => (await client.query(sql, params)).rows as R[]);

  it("keeps one schedule of each background job, not one per replica", async () => {
    const schedules = await rows<{ vendor_type: string; n: string }>(
      "SELECT vendor_type, count(*) AS n FROM job_schedules GROUP BY vendor_type ORDER BY vendor_type",
    );
    expect(schedules.map((s) => [s.vendor_type, Number(s.n)])).toEqual([
      ["REGISTRY_HEALTH", 1],
      ["UPLOAD_EXPIRY", 1],
    ]);
  });

  it("checks a new endpoint once, and both replicas see its status", async () => {
    const created = await apiA.call("POST", "/registries", {
      body: {
        name: "upstream",
        type: "docker-registry",
        url: upstream.url,
        credential: { type: "basic", access_key: ADMIN.username, access_secret: ADMIN.password },
      },
    });
    const id = idFromLocation(created, "/api/v2.0/registries/");
    let status = "";
    for (let i = 0; i < 100 && status !== "healthy"; i++) {
      status = ((await apiB.get(`/registries/${id}`)).json as { status: string }).status;
      if (status !== "healthy") await sleep(50);
    }
    expect(status).toBe("healthy");
    // The check records the endpoint's status before its execution is marked done: wait for that.
    const eventChecks = () =>
      rows<{ attempts: number; status: string }>(
        "SELECT attempts, status FROM job_executions WHERE vendor_type = 'REGISTRY_HEALTH' AND trigger_kind = 'EVENT'",
      );
    let checks = await eventChecks();
    for (let i = 0; i < 100 && checks.some((check) => check.status === "Running"); i++) {
      await sleep(50);
      checks = await eventChecks();
    }
    expect(checks).toEqual([{ attempts: 1, status: "Success" }]);
  });

  it("runs a preheat started on one replica once, its progress readable on the other", async () => {
    await new OciClient(upstream.url).pushImage("team/app", "1.0", { layer: randomBytes(4096).toString("base64") });
    const registryId = ((await apiA.get("/registries")).json as Array<{ id: number }>)[0]?.id;
    expect(
      (await apiA.call("POST", "/projects", { body: { project_name: "hub", registry_id: registryId } })).status,
    ).toBe(201);
    const started = await apiA.call("POST", "/projects/hub/preheat", { body: { images: ["team/app:1.0"] } });
    expect(started.status, started.text).toBe(201);
    const path = (started.headers.get("location") ?? "").replace(/^\/api\/v2\.0/, "");
    let job = { status: "running", images: [] as Array<{ status: string }> };
    for (let i = 0; i < 200 && job.status === "running"; i++) {
      job = (await apiB.get(path)).json as typeof job;
      if (job.status === "running") await sleep(50);
    }
    expect(job.status).toBe("succeeded");
    expect(job.images.map((image) => image.status)).toEqual(["fetched"]);
    expect(((await apiA.get(path)).json as typeof job).status).toBe("succeeded");
    const runs = await rows<{ attempts: number }>("SELECT attempts FROM job_executions WHERE vendor_type = 'PREHEAT'");
    expect(runs).toEqual([{ attempts: 1 }]);
    // And the image is in the shared storage, whichever replica is asked.
    expect((await new OciClient(b.url).request("GET", "/v2/hub/team/app/manifests/1.0")).status).toBe(200);
  });
});
