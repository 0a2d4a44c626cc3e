// The server process on PostgreSQL while its database restarts and then stays down a few seconds,
// under 8 clients pushing small images: the process stays up; a request the database could not
// serve answers 503 in its protocol with Retry-After (OCI's UNAVAILABLE on /v2, Harbor's JSON on
// /api/v2.0), never a 500 nor a cut connection; health names the database while it is down;
// pushes succeed again once it is back; every image acknowledged, and every tag shown, pulls
// back intact. The database is a throwaway cluster of this test's own, never the shared one.

import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetadataUnavailableError } from "../../src/metadata/metadata-store.ts";
import { openPostgresStore } from "../../src/metadata/postgres/store.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { ADMIN } from "../helpers.ts";
import { PushLoad, tally, verifyPushed, waitUntil } from "../push-load.ts";
import { startServerProcess, type ServerProcess } from "../server-process.ts";
import { startThrowawayCluster, type ThrowawayCluster } from "./postgres-cluster.ts";
import { withClient } from "./postgres-database.ts";

const CLIENTS = 8;
/** Fast restarts before the outage. */
const RESTARTS = 2;
/** How long the database stays stopped. */
const OUTAGE_MS = 4_000;
/** Pushes must be acknowledged again within this long after the database is back. */
const RECOVERY_TIMEOUT_MS = 30_000;

let cluster: ThrowawayCluster | undefined;
let server: ServerProcess | undefined;

beforeAll(async () => {
  cluster = await startThrowawayCluster();
  server = await startServerProcess(["metadata:", "  postgres:", `    url: ${cluster.url}`, "    maxConnections: 10"]);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await cluster?.remove();
}, 120_000);

interface Health {
  status: string;
  components: Array<{ name: string; status: string; error?: string }>;
}

async function health(url: string): Promise<{ status: number; body: Health }> {
  const response = await fetch(`${url}/api/v2.0/health`, { signal: AbortSignal.timeout(15_000) });
  return { status: response.status, body: (await response.json()) as Health };
}

describe("the server on PostgreSQL through a database restart and outage", () => {
  it("stays up, answers 503 while the database is away, and serves again once it is back", async () => {
    if (!cluster || !server) throw new Error("the cluster or the server did not start");
    const { url } = server;
    const alive = (): boolean => server?.alive() ?? false;
    const load = new PushLoad(url, { clients: CLIENTS, maxImagesPerClient: 1_000 });
    const figures: Record<string, unknown> = {};
    load.start();
    try {
      expect(
        await waitUntil(() => !alive() || load.acknowledged.length >= 3 * CLIENTS, 60_000),
        `pushes before any fault: ${JSON.stringify(tally(load.outcomes))}\n${server.output().slice(-3000)}`,
      ).toBe(true);

      // 1. Fast restarts under load: every session is terminated (transactions midway among them),
      // the port refuses for a moment. Twice, so that more transactions are caught midway.
      const restarts: Array<{ restartMs: number; firstAckAfterMs: number | undefined; unavailable: number }> = [];
      for (let round = 0; round < RESTARTS; round++) {
        const restartAt = Date.now();
        await cluster.restart();
        const restartedAt = Date.now();
        expect(
          await waitUntil(
            () => !alive() || load.acknowledgedStartedSince(restartedAt).length >= 2 * CLIENTS,
            RECOVERY_TIMEOUT_MS,
          ),
          `pushes after restart ${round + 1}: ${JSON.stringify(tally(load.outcomes))}\n${server.output().slice(-3000)}`,
        ).toBe(true);
        restarts.push({
          restartMs: restartedAt - restartAt,
          firstAckAfterMs: firstAckAfter(load, restartedAt),
          unavailable: load.outcomes.filter((outcome) => outcome.doneAt >= restartAt && outcome.status === 503).length,
        });
        expect(server.alive(), `the server ended (${server.exit() ?? ""}) after restart ${round + 1}`).toBe(true);
      }
      figures["restarts"] = restarts;

      // 2. Stopped for a few seconds.
      await cluster.stop();
      const stoppedAt = Date.now();
      const down = await health(url);
      expect(down.status).toBe(503);
      expect(down.body.components).toContainEqual({
        name: "database",
        status: "unhealthy",
        error: expect.stringMatching(/unreachable|connection|not serving/) as unknown,
      });
      expect(down.body.components).toContainEqual({ name: "storage", status: "healthy" });
      // Each API in its own format, with Retry-After.
      const registryReply = await new OciClient(url).request("GET", "/v2/_catalog");
      expect(registryReply.status).toBe(503);
      expect(registryReply.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(await registryReply.json()).toEqual({
        errors: [{ code: "UNAVAILABLE", message: expect.stringContaining("metadata database") as unknown }],
      });
      const basic = Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64");
      const managementReply = await fetch(`${url}/api/v2.0/projects`, { headers: { Authorization: `Basic ${basic}` } });
      expect(managementReply.status).toBe(503);
      expect(managementReply.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(await managementReply.json()).toEqual({
        errors: [{ code: "SERVICE_UNAVAILABLE", message: expect.stringContaining("metadata database") as unknown }],
      });
      await sleep(Math.max(0, stoppedAt + OUTAGE_MS - Date.now()));
      const unavailableWhileDown = load.outcomes.filter(
        (outcome) => outcome.sentAt >= stoppedAt && outcome.status === 503,
      ).length;
      expect(unavailableWhileDown).toBeGreaterThan(0);
      expect(load.acknowledged.filter((image) => image.acknowledgedAt > stoppedAt + 500)).toEqual([]);
      expect(server.alive(), `the server ended (${server.exit() ?? ""}) while the database was stopped`).toBe(true);

      await cluster.start();
      const startedAt = Date.now();
      figures["outageMs"] = startedAt - stoppedAt;
      expect(
        await waitUntil(
          () => !alive() || load.acknowledgedStartedSince(startedAt).length >= CLIENTS,
          RECOVERY_TIMEOUT_MS,
        ),
        `pushes after the start:\n${server.output().slice(-3000)}`,
      ).toBe(true);
      figures["firstAckAfterStartMs"] = firstAckAfter(load, startedAt);
      expect(await waitUntil(async () => (await health(url)).status === 200, RECOVERY_TIMEOUT_MS)).toBe(true);
      figures["unavailableWhileStopped"] = unavailableWhileDown;
    } finally {
      await load.stop();
    }

    expect(server.alive(), `the server ended (${server.exit() ?? ""}):\n${server.output().slice(-3000)}`).toBe(true);
    const counts = tally(load.outcomes);
    const verified = await verifyPushed(url, load, CLIENTS);
    figures["requests"] = counts;
    figures["acknowledgedImages"] = load.acknowledged.length;
    figures["verified"] = { images: verified.images, blobs: verified.blobs, problems: verified.problems.length };
    console.log(`PostgreSQL outage figures: ${JSON.stringify(figures)}`);

    // Every failure was a clean 503 with Retry-After: no 500, no other status, no cut connection.
    expect(counts.otherStatuses).toEqual({});
    expect(counts.noAnswer).toEqual({});
    expect(counts.unavailable).toBeGreaterThan(0);
    expect(counts.unavailableWithoutRetryAfter).toBe(0);
    expect(server.output()).not.toContain('"msg":"request failed"');
    // Nothing half-written: every tag shown pulls whole, and every acknowledged image is there.
    expect(verified.problems).toEqual([]);
    expect(verified.images).toBeGreaterThanOrEqual(load.acknowledged.length);
  }, 300_000);
});

describe("the PostgreSQL store when its database goes away", () => {
  // The server of the test above is done with: its background work (job claims, upload expiry)
  // opens transactions of its own, and one idle in its transaction at the wrong moment would be
  // the backend terminated below instead of this store's.
  beforeAll(async () => {
    await server?.stop();
    server = undefined;
  }, 120_000);

  const digest = `sha256:${"a".repeat(64)}`;
  const record = { repository: "library/app", digest, mediaType: "application/vnd.oci.image.manifest.v1+json" };
  const manifest = { ...record, size: 2, createdAt: new Date(1) };

  it("fails a transaction whose connection is cut midway, without an unheard error event", async () => {
    if (!cluster) throw new Error("the cluster did not start");
    const store = await openPostgresStore({ url: cluster.url, maxConnections: 3 });
    try {
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const cut = store.transaction(async (tx) => {
        await tx.repositories.exists("library/app");
        entered();
        // Held open, idle in its transaction, while its connection is terminated.
        await gate;
        await tx.manifests.put(manifest, Buffer.from("{}"), { blobs: [], manifests: [] });
      });
      await inside;
      const terminated = await withClient(cluster.url, async (admin) =>
        admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = 'airlock-registry' AND state = 'idle in transaction'`,
        ),
      );
      expect(terminated.rowCount).toBe(1);
      // The termination reaches the client (an `error` event on it) before the work goes on.
      await sleep(300);
      release();
      const failure = await cut.catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(MetadataUnavailableError);
      expect((failure as MetadataUnavailableError).outcomeUnknown).toBe(false);
      // Nothing of it landed, and the store goes on.
      expect(await store.manifests.get("library/app", digest)).toBeUndefined();
      await store.manifests.put(manifest, Buffer.from("{}"), { blobs: [], manifests: [] });
      expect(await store.manifests.get("library/app", digest)).toEqual(manifest);
    } finally {
      await store.close();
    }
  });

  it("reports reads, writes and pings as MetadataUnavailableError while it is stopped, and works once back", async () => {
    if (!cluster) throw new Error("the cluster did not start");
    const store = await openPostgresStore({ url: cluster.url, maxConnections: 3 });
    try {
      await store.manifests.put(manifest, Buffer.from("{}"), { blobs: [], manifests: [] });
      await store.ping(5_000);
      await cluster.stop();
      try {
        for (const attempt of [
          () => store.repositories.exists("library/app"),
          () => store.tags.put("library/app", "v1", digest, new Date()),
          () => store.transaction((tx) => tx.repositories.exists("library/app")),
          () => store.ping(5_000),
        ]) {
          const failure = await attempt().catch((error: unknown) => error);
          expect(failure).toBeInstanceOf(MetadataUnavailableError);
          expect((failure as MetadataUnavailableError).reason).toBe("unreachable (ECONNREFUSED)");
        }
      } finally {
        await cluster.start();
      }
      await store.ping(5_000);
      expect(await store.repositories.exists("library/app")).toBe(true);
      // A statement's own failure stays what it is.
      const refused = await store.tags
        .put("library/app", "v1", `sha256:${"b".repeat(64)}`, new Date())
        .catch((error: unknown) => error);
      expect(refused).not.toBeInstanceOf(MetadataUnavailableError);
    } finally {
      await store.close();
    }
  });
});

/** Milliseconds from `time` to the first acknowledgement of an image started after it. */
function firstAckAfter(load: PushLoad, time: number): number | undefined {
  const acknowledged = load.acknowledgedStartedSince(time).map((image) => image.acknowledgedAt);
  return acknowledged.length === 0 ? undefined : Math.min(...acknowledged) - time;
}
