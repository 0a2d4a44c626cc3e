// The server process on S3 (versitygw) while S3 goes away for a few seconds, under 8 clients
// pushing small images: the process stays up; a request that needed the bucket answers 503 with
// Retry-After in its protocol (OCI's UNAVAILABLE for pushes and pulls), never a 500 nor a cut
// connection; health names the storage and why; pushes succeed again once S3 is back, and every
// image acknowledged, and every tag shown, pulls back intact. Then the driver's classification
// itself: what is "unavailable" and what is a refusal that stays as it is.

import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3Client } from "../../src/storage/s3-client.ts";
import { S3Driver } from "../../src/storage/s3-driver.ts";
import { StorageUnavailableError } from "../../src/storage/storage-driver.ts";
import { OciClient, sha256 } from "../distribution/oci-client.ts";
import { PushLoad, tally, verifyPushed, waitUntil } from "../push-load.ts";
import { startServerProcess, type ServerProcess } from "../server-process.ts";
import { freePort } from "../upstream/distribution-server.ts";
import { startVersitygw, type S3TestServer } from "./versitygw-server.ts";

const CLIENTS = 8;
const BUCKET = "outage-blobs";
/** How long S3 stays down. */
const OUTAGE_MS = 4_000;
/** Pushes must be acknowledged again within this long after S3 is back. */
const RECOVERY_TIMEOUT_MS = 30_000;

let s3: S3TestServer | undefined;
let server: ServerProcess | undefined;

beforeAll(async () => {
  s3 = await startVersitygw();
  await s3.createBucket(BUCKET);
  server = await startServerProcess([
    "storage:",
    "  s3:",
    `    bucket: ${BUCKET}`,
    `    endpoint: ${s3.endpoint}`,
    `    region: ${s3.region}`,
    "    forcePathStyle: true",
    "    prefix: airlock",
    `    accessKeyId: ${s3.accessKeyId}`,
    `    secretAccessKey: ${s3.secretAccessKey}`,
  ]);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await s3?.stop();
}, 120_000);

interface Health {
  status: string;
  components: Array<{ name: string; status: string; error?: string }>;
}

async function health(url: string): Promise<{ status: number; body: Health }> {
  const response = await fetch(`${url}/api/v2.0/health`, { signal: AbortSignal.timeout(15_000) });
  return { status: response.status, body: (await response.json()) as Health };
}

describe("the server on S3 through an S3 outage", () => {
  it("stays up, answers 503 with Retry-After while S3 is away, and serves again once it is back", async () => {
    if (!s3 || !server) throw new Error("versitygw or the server did not start");
    const { url } = server;
    const alive = (): boolean => server?.alive() ?? false;
    const client = new OciClient(url);
    // A blob pushed before the outage, pulled during it.
    const before = randomBytes(2_048);
    await client.pushBlob("outage/pull", before);
    const load = new PushLoad(url, { clients: CLIENTS, maxImagesPerClient: 1_000 });
    const figures: Record<string, unknown> = {};
    load.start();
    try {
      expect(
        await waitUntil(() => !alive() || load.acknowledged.length >= 3 * CLIENTS, 60_000),
        `pushes before the outage: ${JSON.stringify(tally(load.outcomes))}\n${server.output().slice(-3000)}`,
      ).toBe(true);

      await s3.pause();
      const pausedAt = Date.now();
      // A push of a blob and a pull of one stored before: 503, OCI's code, Retry-After.
      const pushed = randomBytes(1_024);
      const push = await client.request("POST", `/v2/outage/pull/blobs/uploads/?digest=${sha256(pushed)}`, {
        headers: { "Content-Type": "application/octet-stream" },
        body: pushed,
      });
      expect(push.status).toBe(503);
      expect(push.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(await push.json()).toEqual({
        errors: [{ code: "UNAVAILABLE", message: expect.stringContaining("blob storage") as unknown }],
      });
      const pull = await client.request("GET", `/v2/outage/pull/blobs/${sha256(before)}`);
      expect(pull.status).toBe(503);
      expect(pull.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(pull.headers.get("docker-content-digest")).toBeNull();
      expect(await client.errorCode(pull)).toBe("UNAVAILABLE");
      // Health names the storage, and how it fails.
      const down = await health(url);
      expect(down.status).toBe(503);
      expect(down.body.components).toContainEqual({
        name: "storage",
        status: "unhealthy",
        error: expect.stringMatching(/unreachable \(ECONNREFUSED\)/) as unknown,
      });

      await sleep(Math.max(0, pausedAt + OUTAGE_MS - Date.now()));
      // Every blob write in the outage failed cleanly (after the SDK's own retries).
      const blobWritesWhileDown = load.outcomes.filter(
        (outcome) => outcome.sentAt >= pausedAt && outcome.step !== "manifest",
      );
      figures["blobWritesWhileDown"] = tally(blobWritesWhileDown);
      expect(blobWritesWhileDown.length).toBeGreaterThan(0);
      expect(blobWritesWhileDown.every((outcome) => outcome.status === 503)).toBe(true);
      expect(alive(), `the server ended (${server.exit() ?? ""}) during the outage`).toBe(true);

      await s3.resume();
      const resumedAt = Date.now();
      figures["outageMs"] = resumedAt - pausedAt;
      expect(
        await waitUntil(
          () => !alive() || load.acknowledgedStartedSince(resumedAt).length >= 2 * CLIENTS,
          RECOVERY_TIMEOUT_MS,
        ),
        `pushes after S3 came back: ${JSON.stringify(tally(load.outcomes))}\n${server.output().slice(-3000)}`,
      ).toBe(true);
      figures["firstAckAfterResumeMs"] = firstAckAfter(load, resumedAt);
      expect(await waitUntil(async () => (await health(url)).status === 200, RECOVERY_TIMEOUT_MS)).toBe(true);
      const again = await client.request("GET", `/v2/outage/pull/blobs/${sha256(before)}`);
      expect(again.status).toBe(200);
      expect(Buffer.from(await again.arrayBuffer()).equals(before)).toBe(true);
    } finally {
      await load.stop();
    }

    expect(alive(), `the server ended (${server.exit() ?? ""}):\n${server.output().slice(-3000)}`).toBe(true);
    const counts = tally(load.outcomes);
    const verified = await verifyPushed(url, load, CLIENTS);
    figures["requests"] = counts;
    figures["acknowledgedImages"] = load.acknowledged.length;
    figures["verified"] = { images: verified.images, blobs: verified.blobs, problems: verified.problems.length };
    console.log(`S3 outage figures: ${JSON.stringify(figures)}`);

    // Every failure was a clean 503 with Retry-After: no 500, no other status, no cut connection.
    expect(counts.otherStatuses).toEqual({});
    expect(counts.noAnswer).toEqual({});
    expect(counts.unavailable).toBeGreaterThan(0);
    expect(counts.unavailableWithoutRetryAfter).toBe(0);
    expect(server.output()).not.toContain('"msg":"request failed"');
    expect(verified.problems).toEqual([]);
    expect(verified.images).toBeGreaterThanOrEqual(load.acknowledged.length);
  }, 300_000);
});

describe("the S3 driver's failures", () => {
  function driverFor(endpoint: string, bucket: string): S3Driver {
    if (!s3) throw new Error("versitygw did not start");
    const client = new S3Client({
      region: s3.region,
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      insecure: false,
    });
    return new S3Driver({ client, bucket, prefix: "", partBytes: 5 * 1024 * 1024, maxConcurrentParts: 2 });
  }

  it("reports a server that refuses connections as StorageUnavailableError, on every call", async () => {
    // A port nothing listens on: refused at once.
    const driver = driverFor(`http://127.0.0.1:${await freePort()}`, BUCKET);
    const calls: Array<[string, () => Promise<unknown>]> = [
      ["write", () => driver.write("a/b", Readable.from([Buffer.from("bytes")]))],
      ["read", () => driver.read("a/b")],
      ["readBytes", () => driver.readBytes("a/b", 100)],
      ["stat", () => driver.stat("a/b")],
      ["delete", () => driver.delete("a/b")],
      ["list", async () => driver.list("a")[Symbol.asyncIterator]().next()],
      ["checkBucket", () => driver.checkBucket()],
    ];
    for (const [name, call] of calls) {
      const error = await call().then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error, name).toBeInstanceOf(StorageUnavailableError);
      expect((error as StorageUnavailableError).reason, name).toBe("unreachable (ECONNREFUSED)");
      expect((error as StorageUnavailableError).dependency, name).toBe("storage");
    }
  });

  it("leaves refusals (a missing bucket) and the body's own failures as they are", async () => {
    if (!s3) throw new Error("versitygw did not start");
    const missing = driverFor(s3.endpoint, "no-such-bucket");
    const refused = await missing.write("a/b", Readable.from([Buffer.from("bytes")])).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Error);
    expect(refused).not.toBeInstanceOf(StorageUnavailableError);
    expect((refused as Error).name).toBe("NoSuchBucket");

    // The body fails with a network code of its own (its client went away): not the storage's fault.
    const driver = driverFor(s3.endpoint, BUCKET);
    const aborted = Object.assign(new Error("aborted"), { code: "ECONNRESET" });
    const body = new Readable({
      read() {
        this.destroy(aborted);
      },
    });
    const failed = await driver.write("c/d", body).catch((error: unknown) => error);
    expect(failed).toBe(aborted);
    // And a write that works still works.
    await driver.write("c/e", Readable.from([Buffer.from("stored")]));
    expect(
      createHash("sha256")
        .update(await driver.readBytes("c/e", 100))
        .digest("hex"),
    ).toBe(createHash("sha256").update("stored").digest("hex"));
  });
});

/** Milliseconds from `time` to the first acknowledgement of an image started after it. */
function firstAckAfter(load: PushLoad, time: number): number | undefined {
  const acknowledged = load.acknowledgedStartedSince(time).map((image) => image.acknowledgedAt);
  return acknowledged.length === 0 ? undefined : Math.min(...acknowledged) - time;
}
