// Harbor's garbage collection API on the embedded registry (SQLite, filesystem): the schedule
// (Harbor's checks, an empty body when there is none, None removes it), a dry run that reports
// what would be freed and deletes nothing, a run that frees the blobs of a deleted image and of
// an untagged one (their storage objects included) while the images still tagged pull back whole,
// the history, one run, its log, and who may ask.

import { mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OciClient } from "../distribution/oci-client.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { expectError, HarborClient, idFromLocation } from "../api/harbor-client.ts";
import { pullImage, runGc } from "./gc-load.ts";

const USER = { username: "someone", password: "Someone-pass-1" };

function objectsUnder(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (!entry.startsWith(".")) found.push(full);
    }
  };
  walk(root);
  return found;
}

describe("garbage collection API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let oci: OciClient;
  let parts: () => string[];

  beforeAll(async () => {
    // No grace periods: what is unreferenced now goes now (a test's choice, never a default).
    registry = await startTestRegistry({ gc: { timeWindowHours: 0, readGraceSeconds: 0 } });
    api = new HarborClient(registry.url);
    oci = new OciClient(registry.url);
    await api.createProject("team", false);
    await api.createUser(USER.username, USER.password);
    parts = () => objectsUnder(path.join(registry.dataDir, "storage", "blobs", "parts"));
  });
  afterAll(() => registry.stop());

  it("keeps a schedule as Harbor does", async () => {
    const none = await api.get("/system/gc/schedule");
    expect(none.status).toBe(200);
    expect(none.text).toBe("");
    expectError(
      await api.call("POST", "/system/gc/schedule", { body: { schedule: { type: "Custom" } } }),
      400,
      "BAD_REQUEST",
      /empty cron string for gc schedule/,
    );
    const weekly = await api.call("POST", "/system/gc/schedule", {
      body: { schedule: { type: "Weekly" }, parameters: { delete_untagged: true, workers: 3 } },
    });
    expect(weekly.status, weekly.text).toBe(201);
    const schedule = (await api.get("/system/gc/schedule")).json as {
      schedule: { type: string; cron: string };
      job_parameters: string;
    };
    expect(schedule.schedule).toMatchObject({ type: "Weekly", cron: "0 0 0 * * 0" });
    expect(JSON.parse(schedule.job_parameters)).toMatchObject({ delete_untagged: true, workers: 3, time_window: 0 });
    expect((await api.call("PUT", "/system/gc/schedule", { body: { schedule: { type: "None" } } })).status).toBe(200);
    expect((await api.get("/system/gc/schedule")).text).toBe("");
    expect((await api.get("/system/gc", USER)).status).toBe(403);
    expect(
      (await api.call("POST", "/system/gc/schedule", { body: { schedule: { type: "Manual" } }, auth: USER })).status,
    ).toBe(403);
  });

  it("reports in a dry run what it would free, then frees it, keeping what is tagged", async () => {
    const kept = await oci.pushImage("team/app", "kept", { layer: "kept layer" });
    const gone = await oci.pushImage("team/app", "gone", { layer: "x".repeat(10_000) });
    const untagged = await oci.pushImage("team/app", "untagged", { layer: "y".repeat(20_000) });
    expect((await oci.request("DELETE", `/v2/team/app/manifests/${gone.digest}`)).status).toBe(202);
    expect((await oci.request("DELETE", "/v2/team/app/manifests/untagged")).status).toBe(202);
    const before = parts();
    await sleep(20);

    const dry = await runGc(registry.url, { delete_untagged: true, dry_run: true });
    expect(dry.status).toBe("Success");
    // The deleted image's layer (10,000 bytes) and the untagged one's (20,000 bytes): the config
    // is shared by the three images, and the kept one still needs it.
    expect(dry.attributes).toMatchObject({ purged_blobs: 2, purged_manifests: 1, freed_space: 30_000 });
    expect(parts()).toEqual(before);
    expect((await oci.request("HEAD", `/v2/team/app/manifests/${untagged.digest}`)).status).toBe(200);

    const run = await runGc(registry.url, { delete_untagged: true });
    expect(run.status).toBe("Success");
    expect(run.attributes).toMatchObject({
      purged_blobs: 2,
      purged_manifests: 1,
      freed_space: 30_000,
      purged_objects: 2,
    });
    expect(parts()).toHaveLength(before.length - 2);
    expect((await oci.request("HEAD", `/v2/team/app/manifests/${untagged.digest}`)).status).toBe(404);
    const layerOfGone = JSON.parse(gone.bytes.toString("utf8")) as { layers: Array<{ digest: string }> };
    expect((await oci.request("HEAD", `/v2/team/app/blobs/${layerOfGone.layers[0]?.digest}`)).status).toBe(404);
    const keptManifest = JSON.parse(kept.bytes.toString("utf8")) as {
      config: { digest: string };
      layers: Array<{ digest: string }>;
    };
    expect(
      await pullImage(oci, {
        repository: "team/app",
        reference: "kept",
        digest: kept.digest,
        blobs: [keptManifest.config.digest, ...keptManifest.layers.map((layer) => layer.digest)],
      }),
    ).toEqual([]);

    // The history, newest first, one run and its log.
    const history = await api.get("/system/gc");
    expect(history.headers.get("x-total-count")).toBe("2");
    expect((history.json as Array<{ id: number; job_name: string }>).map((each) => each.id)).toEqual([run.id, dry.id]);
    const one = (await api.get(`/system/gc/${run.id}`)).json as { job_name: string; job_status: string };
    expect(one).toMatchObject({ job_name: "GARBAGE_COLLECTION", job_status: "Success" });
    const log = await api.get(`/system/gc/${run.id}/log`);
    expect(log.text).toMatch(/2 blobs and 1 manifests were deleted/);
    expect(log.text).toMatch(/delete_untagged: true, dry_run: false/);
    expect((await api.get("/system/gc/99999")).status).toBe(404);
  });

  it("frees a blob that was uploaded and never used", async () => {
    const digest = await oci.pushBlob("team/app", "nobody references me");
    expect((await runGc(registry.url, {})).attributes).toMatchObject({ purged_blobs: 1 });
    expect((await oci.request("HEAD", `/v2/team/app/blobs/${digest}`)).status).toBe(404);
  });

  it("removes storage objects nothing records once they are an hour old, and no sooner", async () => {
    const dir = path.join(registry.dataDir, "storage", "blobs", "parts", "ff");
    mkdirSync(dir, { recursive: true });
    const old = path.join(dir, "ffffffff-0000-4000-8000-000000000001");
    const fresh = path.join(dir, "ffffffff-0000-4000-8000-000000000002");
    writeFileSync(old, "left by a crash");
    writeFileSync(fresh, "being recorded");
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    // The time window is 0 here: the hour still holds for what nothing records.
    const run = await runGc(registry.url, {});
    expect(run.attributes).toMatchObject({ purged_objects: 1 });
    expect(parts()).not.toContain(old);
    expect(parts()).toContain(fresh);
  });

  it("leaves untagged artifacts when asked to", async () => {
    const pushed = await oci.pushImage("team/app", "later-untagged", { layer: "z".repeat(5_000) });
    expect((await oci.request("DELETE", "/v2/team/app/manifests/later-untagged")).status).toBe(202);
    const run = await runGc(registry.url, { delete_untagged: false });
    expect(run.attributes).toMatchObject({ purged_manifests: 0, purged_blobs: 0 });
    expect((await oci.request("HEAD", `/v2/team/app/manifests/${pushed.digest}`)).status).toBe(200);
    const created = await api.call("POST", "/system/gc/schedule", { body: { schedule: { type: "Manual" } } });
    expect(idFromLocation(created, "/api/v2.0/system/gc/")).toBeGreaterThan(run.id);
  });
});
