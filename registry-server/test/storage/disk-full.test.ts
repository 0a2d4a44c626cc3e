// The server process on the filesystem driver with its data directory (blobs and the SQLite
// metadata alike) on a small real filesystem (a 64 MiB tmpfs, or an ext4 image on a loop device
// where tmpfs mounts are refused) that fills up during uploads: the client gets 507 Insufficient
// Storage in the OCI error format, each such answer is logged once at error with the cause, no
// blob becomes visible and no temporary file stays, a chunked upload keeps the chunks it had and
// resumes, health reports the storage unhealthy while there is no room, pulls keep working (their
// audit entries kept until the database can take them), and once space is freed the same server
// takes pushes again without a restart.

import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { closeSync, openSync, readdirSync, rmSync, writeSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OCI_MANIFEST, OciClient, descriptorOf, sha256 } from "../distribution/oci-client.ts";
import { waitUntil } from "../push-load.ts";
import { startServerProcess, type ServerProcess } from "../server-process.ts";
import { mountSmallFilesystem, type SmallFilesystem } from "./small-filesystem.ts";

const FILESYSTEM_MIB = 64;
const MIB = 1024 * 1024;
/** Room left before the uploads: less than the big chunk and blob below need. */
const LEFT_FREE = 3 * MIB;

let disk: SmallFilesystem | undefined;
let server: ServerProcess | undefined;

beforeAll(async () => {
  disk = mountSmallFilesystem(FILESYSTEM_MIB);
  // Two workers: what one learns of the disk, health must tell whichever answers.
  server = await startServerProcess(["workers: 2"], { dataDir: path.join(disk.dir, "data") });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await disk?.remove();
}, 60_000);

interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

function logLines(): LogLine[] {
  return (server?.output() ?? "")
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine);
}

/** Writes zeros into `file` until the filesystem keeps only `leave` bytes free (0: until it is full). */
function fill(file: string, leave: number): void {
  if (!disk) throw new Error("no filesystem");
  const chunk = Buffer.alloc(MIB);
  const fd = openSync(file, "a");
  try {
    // Bounded: the filesystem holds FILESYSTEM_MIB MiB, so at most that many full chunks.
    for (let round = 0; round < FILESYSTEM_MIB * 4 + 16; round++) {
      const room = disk.free() - leave;
      if (room <= 0) return;
      try {
        writeSync(fd, chunk, 0, Math.min(chunk.length, room));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOSPC") return;
        throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Every file below `dir`, as paths relative to it. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

/**
 * A client that sends its whole request before it reads anything, as a simple one does: the
 * answer's status line, or the error the connection ended with.
 */
async function sendThenRead(url: string, path: string, headers: Record<string, string>, body: Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let received = "";
    const done = (outcome: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done(received.split("\r\n")[0] || "no answer within 20 s"), 20_000);
    socket.pause();
    socket.on("error", (error: NodeJS.ErrnoException) => done(`error ${error.code ?? error.message}`));
    const head = Object.entries({ ...headers, Host: `${hostname}:${port}`, "Content-Length": String(body.length) })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    socket.write(`PATCH ${path} HTTP/1.1\r\n${head}\r\n`);
    socket.write(body, () => {
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1");
        if (received.includes("\r\n\r\n")) done(received.split("\r\n")[0] ?? "");
      });
      socket.resume();
    });
  });
}

interface Health {
  status: string;
  components: Array<{ name: string; status: string; error?: string }>;
}

async function health(url: string): Promise<{ status: number; body: Health }> {
  // A connection each: the server hands them to its workers in turn.
  const response = await fetch(`${url}/api/v2.0/health`, {
    headers: { Connection: "close" },
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as Health };
}

/** Pulls an image's manifest and blobs and checks every digest. */
async function pullVerified(client: OciClient, repository: string, tag: string, digest: string): Promise<void> {
  const manifest = await client.request("GET", `/v2/${repository}/manifests/${tag}`, {
    headers: { Accept: OCI_MANIFEST },
  });
  expect(manifest.status).toBe(200);
  const bytes = Buffer.from(await manifest.arrayBuffer());
  expect(sha256(bytes)).toBe(digest);
  const parsed = JSON.parse(bytes.toString("utf8")) as {
    config: { digest: string };
    layers: Array<{ digest: string }>;
  };
  for (const blob of [parsed.config, ...parsed.layers]) {
    const response = await client.request("GET", `/v2/${repository}/blobs/${blob.digest}`);
    expect(response.status).toBe(200);
    expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(blob.digest);
  }
}

/** Pushes a config and `layer` by monolithic POSTs, then the manifest; returns its digest. */
async function pushImage(client: OciClient, repository: string, tag: string, layer: Buffer): Promise<string> {
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", tag }));
  await client.pushBlob(repository, config);
  await client.pushBlob(repository, layer);
  const { response, digest } = await client.pushManifest(
    repository,
    tag,
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptorOf("application/vnd.oci.image.config.v1+json", config),
      layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
    },
    OCI_MANIFEST,
  );
  expect(response.status, await response.clone().text()).toBe(201);
  return digest;
}

async function expectInsufficientStorage(response: Response, what: string): Promise<void> {
  const text = await response.text();
  expect(response.status, `${what}: ${text}`).toBe(507);
  const body = JSON.parse(text) as { errors: Array<{ code: string; message: string }> };
  expect(body.errors).toHaveLength(1);
  expect(body.errors[0]?.code).toBe("INSUFFICIENT_STORAGE");
  expect(body.errors[0]?.message).toMatch(/no space left/);
}

describe("the filesystem driver on a disk that fills up", () => {
  it("answers 507 without leaving anything half-visible, and takes pushes again once space returns", async () => {
    if (!disk || !server) throw new Error("the filesystem or the server did not start");
    const { url } = server;
    const client = new OciClient(url);
    const storage = path.join(disk.dir, "data", "storage");
    const figures: Record<string, unknown> = { filesystem: disk.kind };

    // Before: a pushed image, which must stay pullable throughout.
    const before = await pushImage(client, "full/app", "before", randomBytes(256 * 1024));
    await pullVerified(client, "full/app", "before", before);
    expect((await health(url)).status).toBe(200);

    // A chunked upload whose first chunk fits.
    const data = randomBytes(16 * MIB);
    const firstEnd = MIB - 1;
    const started = await client.request("POST", "/v2/full/app/blobs/uploads/");
    expect(started.status).toBe(202);
    const location = started.headers.get("location") ?? "";
    const first = await client.request("PATCH", location, {
      headers: { "Content-Range": `0-${firstEnd}`, "Content-Type": "application/octet-stream" },
      body: data.subarray(0, MIB),
    });
    expect(first.status).toBe(202);
    expect(first.headers.get("range")).toBe(`0-${firstEnd}`);

    const filler = path.join(disk.dir, "filler");
    fill(filler, LEFT_FREE);
    const freeBefore = disk.free();
    figures["freeBeforeBytes"] = freeBefore;
    const partsBefore = filesBelow(storage);

    // The second chunk (5 MiB) does not fit: 507, and the session still holds the first chunk.
    const second = await client.request("PATCH", location, {
      headers: { "Content-Range": `${MIB}-${data.length - 1}`, "Content-Type": "application/octet-stream" },
      body: data.subarray(MIB),
    });
    await expectInsufficientStorage(second, "the chunk that does not fit");
    // A client that reads nothing before it has sent everything gets the answer too (the rest of
    // its body is read away), not a reset connection.
    const simple = await sendThenRead(
      url,
      location,
      {
        Authorization: client.authorization ?? "",
        "Content-Range": `${MIB}-${data.length - 1}`,
        "Content-Type": "application/octet-stream",
      },
      data.subarray(MIB),
    );
    expect(simple).toBe("HTTP/1.1 507 Insufficient Storage");
    const status = await client.request("GET", location);
    expect(status.status).toBe(204);
    expect(status.headers.get("range")).toBe(`0-${firstEnd}`);

    // A monolithic upload that does not fit: 507, and no blob of that digest anywhere.
    const big = randomBytes(12 * MIB);
    const monolithic = await client.request("POST", `/v2/full/app/blobs/uploads/?digest=${sha256(big)}`, {
      headers: { "Content-Type": "application/octet-stream" },
      body: big,
    });
    await expectInsufficientStorage(monolithic, "the blob that does not fit");
    expect((await client.request("HEAD", `/v2/full/app/blobs/${sha256(big)}`)).status).toBe(404);
    expect((await client.request("HEAD", `/v2/full/app/blobs/${sha256(data)}`)).status).toBe(404);

    // Nothing half-written stays: no temporary file, no new part, the space given back.
    expect(filesBelow(storage).sort()).toEqual(partsBefore.sort());
    expect(filesBelow(storage).filter((file) => file.includes("~"))).toEqual([]);
    figures["freeAfterFailuresBytes"] = disk.free();
    expect(disk.free()).toBeGreaterThan(freeBefore - 256 * 1024);

    // Health says so, whichever worker answers; pulls go on.
    for (let probe = 0; probe < 4; probe++) {
      const full = await health(url);
      figures["healthWhileFull"] = full.body.components;
      expect(full.status).toBe(503);
      expect(full.body.components).toContainEqual({
        name: "storage",
        status: "unhealthy",
        error: expect.stringMatching(/ENOSPC/) as unknown,
      });
    }
    const probedBy = new Set(
      logLines()
        .filter((line) => line.msg === "request" && line["route"] === "health" && line["status"] === 503)
        .map((line) => line["worker"]),
    );
    expect(probedBy.size).toBe(2);
    await pullVerified(client, "full/app", "before", before);

    // Now the disk full to the last byte: the metadata database cannot grow either.
    const lastBytes = path.join(disk.dir, "last-bytes");
    fill(lastBytes, 0);
    figures["freeWhenFullBytes"] = disk.free();
    const answers: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const session = await client.request("POST", "/v2/full/other/blobs/uploads/");
      answers.push(session.status);
      if (session.status === 507) await expectInsufficientStorage(session, "a session when the disk is full");
      else expect(session.status).toBe(202);
      const blob = randomBytes(64 * 1024);
      const push = await client.request("POST", `/v2/full/other/blobs/uploads/?digest=${sha256(blob)}`, {
        headers: { "Content-Type": "application/octet-stream" },
        body: blob,
      });
      answers.push(push.status);
      await expectInsufficientStorage(push, "a small blob when the disk is full");
    }
    figures["answersWhenFull"] = answers;
    expect((await health(url)).status).toBe(503);
    await pullVerified(client, "full/app", "before", before);
    // Its audit entry cannot be written now: let a flush (every second) find the database full.
    await sleep(1_500);

    // Space returns: health first, then the same session takes the chunk it refused.
    rmSync(filler);
    rmSync(lastBytes);
    const freedAt = Date.now();
    expect(await waitUntil(async () => (await health(url)).status === 200, 10_000)).toBe(true);
    figures["healthyAfterMs"] = Date.now() - freedAt;
    const resumed = await client.request("PATCH", location, {
      headers: { "Content-Range": `${MIB}-${data.length - 1}`, "Content-Type": "application/octet-stream" },
      body: data.subarray(MIB),
    });
    expect(resumed.status).toBe(202);
    expect(resumed.headers.get("range")).toBe(`0-${data.length - 1}`);
    const closed = await client.request(
      "PUT",
      `${location}${location.includes("?") ? "&" : "?"}digest=${sha256(data)}`,
    );
    expect(closed.status, await closed.clone().text()).toBe(201);
    const fetched = await client.request("GET", `/v2/full/app/blobs/${sha256(data)}`);
    expect(fetched.status).toBe(200);
    expect(sha256(Buffer.from(await fetched.arrayBuffer()))).toBe(sha256(data));
    const after = await pushImage(client, "full/app", "after", big);
    await pullVerified(client, "full/app", "after", after);
    await pullVerified(client, "full/app", "before", before);
    // Every pull is in the audit log, the one made while the database could not grow included.
    const auditedPulls = async (): Promise<number> => {
      const response = await client.request("GET", "/api/v2.0/audit-logs?q=operation%3Dpull&page_size=100");
      const entries = (await response.json()) as Array<{ resource: string }>;
      return entries.filter((entry) => entry.resource.startsWith("full/app:before")).length;
    };
    expect(await waitUntil(async () => (await auditedPulls()) === 4, 15_000)).toBe(true);

    // One error line per 507, each naming the cause; nothing else at error; still the same process.
    const refused = 3 + answers.filter((status) => status === 507).length;
    const errors = logLines().filter((line) => line.level === "error");
    figures["errorLines"] = errors.length;
    figures["refusals"] = refused;
    console.log(`disk full figures: ${JSON.stringify(figures)}`);
    expect(errors.map((line) => JSON.stringify(line).slice(0, 400))).toHaveLength(refused);
    for (const line of errors) {
      expect(line.msg).toMatch(/is full/);
      expect(JSON.stringify(line)).toMatch(/ENOSPC|SQLITE_FULL/);
    }
    expect(server.alive(), `the server ended (${server.exit() ?? ""})`).toBe(true);
  }, 120_000);
});
