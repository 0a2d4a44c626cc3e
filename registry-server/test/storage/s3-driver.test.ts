// The S3 driver against a real S3 server (versitygw, posix backend): the shared contract, then
// what only an object store has: multipart uploads read back by ranges, a failed multipart upload
// leaving neither an object nor a pending upload, memory that stays bounded while a large object
// streams in, the key prefix, and TLS with a private CA.

// The AWS SDK is the witness: an S3 client independent of ours reads what the driver wrote.
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
} from "@aws-sdk/client-s3";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Readable, Writable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { LookupFunction } from "node:net";
import { S3Client, type S3ConnectionOptions } from "../../src/storage/s3-client.ts";
import { S3Driver } from "../../src/storage/s3-driver.ts";
import { ObjectNotFoundError, StorageUnavailableError } from "../../src/storage/storage-driver.ts";
import { bodyThatFails, listPaths, readAll, storageDriverContract } from "../contracts/storage-driver-contract.ts";
import { selfSignedCertificate, tempDir } from "../helpers.ts";
import { isCompletion, isPartUpload, isPutObject, payloadHashes, startRecordingRelay } from "./recording-relay.ts";
import { startVersitygw, type S3TestServer } from "./versitygw-server.ts";

const MiB = 1024 * 1024;
/** S3's smallest part: the tests use it so that a few tens of MiB make many parts. */
const SMALL_PARTS = 5 * MiB;

let server: S3TestServer;
let bucketCount = 0;

beforeAll(async () => {
  server = await startVersitygw();
});
afterAll(async () => {
  await server?.stop();
});

/** A fresh bucket per driver: tests never see each other's objects. */
async function newBucket(): Promise<string> {
  const bucket = `test-${++bucketCount}-${randomBytes(3).toString("hex")}`;
  await server.createBucket(bucket);
  return bucket;
}

function makeDriver(
  bucket: string,
  options: { prefix?: string; partBytes?: number; maxConcurrentParts?: number; client?: S3Client } = {},
): S3Driver {
  return new S3Driver({
    client: options.client ?? rootClient(),
    bucket,
    prefix: options.prefix ?? "",
    partBytes: options.partBytes ?? SMALL_PARTS,
    maxConcurrentParts: options.maxConcurrentParts ?? 3,
  });
}

storageDriverContract("s3 (versitygw)", async () => {
  const driver = makeDriver(await newBucket());
  return { driver, cleanup: async () => undefined };
});

storageDriverContract("s3 (versitygw) under a key prefix", async () => {
  const driver = makeDriver(await newBucket(), { prefix: "registry/v1" });
  return { driver, cleanup: async () => undefined };
});

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Pending multipart uploads in a bucket: a failed write must leave none. */
async function pendingUploads(bucket: string): Promise<string[]> {
  const listed = await server.client().send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (listed.Uploads ?? []).map((upload) => upload.Key ?? "");
}

/** Every key in a bucket, whatever the driver's prefix. */
async function allKeys(bucket: string): Promise<string[]> {
  const listed = await server.client().send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((object) => object.Key ?? "");
}

describe("s3 driver on a real S3 server", () => {
  it("writes a 40 MiB object in many parts and reads it back whole and by ranges", async () => {
    const bucket = await newBucket();
    const driver = makeDriver(bucket);
    const data = randomBytes(40 * MiB + 123);
    // Odd-sized chunks, so that part boundaries fall inside chunks.
    const chunks = Array.from({ length: Math.ceil(data.length / 777_777) }, (_, i) =>
      data.subarray(i * 777_777, (i + 1) * 777_777),
    );
    expect(await driver.write("big/object", Readable.from(chunks))).toBe(data.length);
    expect((await driver.stat("big/object"))?.size).toBe(data.length);
    // A multipart object's ETag is "<md5 of the part md5s>-<part count>": 40 MiB in 5 MiB parts is 9.
    const head = await server.client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "big/" }));
    expect(head.Contents?.[0]?.ETag).toMatch(/-9"?$/);

    expect(sha256(await readAll(await driver.read("big/object")))).toBe(sha256(data));
    const ranges = [
      { offset: 0, length: 1 },
      { offset: SMALL_PARTS - 10, length: 20 }, // across the first part boundary
      { offset: 17 * MiB + 5, length: 9 * MiB }, // across two boundaries
      { offset: data.length - 1000, length: 1000 }, // the end, in the short last part
    ];
    for (const range of ranges) {
      const part = await readAll(await driver.read("big/object", range));
      expect(part.equals(data.subarray(range.offset, range.offset + range.length))).toBe(true);
    }
    expect(await pendingUploads(bucket)).toEqual([]);
  });

  it("writes an object of exactly one part size with one PutObject", async () => {
    const bucket = await newBucket();
    const driver = makeDriver(bucket);
    const data = randomBytes(SMALL_PARTS);
    expect(await driver.write("one/part", Readable.from([data]))).toBe(data.length);
    const listed = await server.client().send(new ListObjectsV2Command({ Bucket: bucket }));
    // A PutObject's ETag is the plain MD5 of the content.
    expect(listed.Contents?.[0]?.ETag?.replaceAll('"', "")).toBe(createHash("md5").update(data).digest("hex"));
    expect((await driver.readBytes("one/part", data.length)).equals(data)).toBe(true);
  });

  it("leaves no object and no pending multipart upload when the body fails after several parts", async () => {
    const bucket = await newBucket();
    // The control: the server does list an upload left pending.
    const control = await server.client().send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "control" }));
    expect(await pendingUploads(bucket)).toEqual(["control"]);
    await server
      .client()
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: "control", UploadId: control.UploadId }));

    const client = new CountingClient(rootOptions());
    const driver = makeDriver(bucket, { client });
    await driver.writeBytes("fail/old", Buffer.from("previous"));
    const failure = new Error("client went away after 23 MiB");
    await expect(driver.write("fail/new", bodyThatFails(randomBytes(23 * MiB), failure))).rejects.toBe(failure);
    await expect(driver.write("fail/old", bodyThatFails(randomBytes(12 * MiB)))).rejects.toBeInstanceOf(Error);
    // Both failures came after parts were stored (4 of 5 MiB, then 2), and both were aborted.
    expect(client.sent("createMultipartUpload")).toBe(2);
    expect(client.sent("uploadPart")).toBeGreaterThanOrEqual(4);
    expect(client.sent("abortMultipartUpload")).toBe(2);
    expect(client.sent("completeMultipartUpload")).toBe(0);

    expect(await pendingUploads(bucket)).toEqual([]);
    expect(await allKeys(bucket)).toEqual(["fail/old"]);
    await expect(driver.read("fail/new")).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect((await driver.readBytes("fail/old", 100)).toString()).toBe("previous");
  });

  it("aborts the multipart upload when a part upload fails, and rejects with that error", async () => {
    const bucket = await newBucket();
    const driver = makeDriver(bucket);
    // A client whose part uploads fail after the first: the upload must be aborted all the same.
    const client = new FailingPartsClient(rootOptions(), 2);
    const failing = makeDriver(bucket, { client });
    await expect(failing.write("refused/object", Readable.from([randomBytes(18 * MiB)]))).rejects.toThrow(
      /injected part failure/,
    );
    expect(await pendingUploads(bucket)).toEqual([]);
    expect(await listPaths(driver, "refused")).toEqual([]);
  });

  it("keeps memory bounded while writing a large object", async () => {
    const bucket = await newBucket();
    const driver = makeDriver(bucket, { partBytes: SMALL_PARTS, maxConcurrentParts: 2 });
    const total = 96 * MiB;
    // Generated as it is read, so that the body itself holds nothing: what grows is the driver's.
    const chunk = randomBytes(256 * 1024);
    let sent = 0;
    let peak = 0;
    const baseline = liveMemory();
    const body = new Readable({
      read() {
        // Every 2 MiB: what is still reachable then (a full collection first, so that the garbage
        // of earlier parts and of the tests before does not count).
        if (sent % (2 * MiB) === 0) peak = Math.max(peak, liveMemory() - baseline);
        if (sent >= total) {
          this.push(null);
          return;
        }
        sent += chunk.length;
        this.push(Buffer.from(chunk));
      },
    });
    expect(await driver.write("memory/object", body)).toBe(total);
    // Parts in flight (2) plus the one filling, 15 MiB, and slack for the client: far below the
    // object's 96 MiB (with 30 parts allowed in flight it measures over 100 MiB).
    expect(peak).toBeLessThan(40 * MiB);
    expect((await driver.stat("memory/object"))?.size).toBe(total);
  });

  it("keeps its objects under the key prefix", async () => {
    const bucket = await newBucket();
    const driver = makeDriver(bucket, { prefix: "airlock" });
    await driver.writeBytes("blobs/a", Buffer.from("1"));
    expect(await allKeys(bucket)).toEqual(["airlock/blobs/a"]);
    expect(await listPaths(driver, "blobs")).toEqual(["blobs/a"]);
    expect(await listPaths(makeDriver(bucket), "airlock")).toEqual(["airlock/blobs/a"]);
  });

  it("refuses a prefix that is no valid path, and parts smaller than S3 allows", () => {
    expect(() => makeDriver("b", { prefix: "/x" })).toThrow();
    expect(() => makeDriver("b", { prefix: "a/../b" })).toThrow();
    expect(() => makeDriver("b", { partBytes: MiB })).toThrow(/at least/);
  });

  it("reports a missing bucket as an error, not as a missing object", async () => {
    const driver = makeDriver("no-such-bucket");
    await expect(driver.read("x/y")).rejects.not.toBeInstanceOf(ObjectNotFoundError);
    await expect(driver.checkBucket()).rejects.toBeInstanceOf(Error);
    await driver.checkBucket().catch(() => undefined);
  });
});

describe("s3 driver's copyTo", () => {
  /** A destination that keeps each chunk it is given (the object itself) and a copy of its bytes. */
  function keepingSink(options: { highWaterMark?: number; delayMs?: number; failAfter?: number } = {}): {
    sink: Writable;
    given: Buffer[];
    bytes: () => Buffer;
  } {
    const given: Buffer[] = [];
    const copies: Buffer[] = [];
    const sink = new Writable({
      highWaterMark: options.highWaterMark ?? 16 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        given.push(chunk);
        copies.push(Buffer.from(chunk));
        if (options.failAfter !== undefined && given.length > options.failAfter) {
          callback(new Error("client went away"));
          return;
        }
        if (options.delayMs === undefined) callback();
        else setTimeout(callback, options.delayMs);
      },
    });
    return { sink, given, bytes: () => Buffer.concat(copies) };
  }

  it("frees each chunk once the destination has taken it", async () => {
    const driver = makeDriver(await newBucket());
    const data = randomBytes(3 * MiB + 17);
    await driver.writeBytes("copy/object", data);
    const { sink, given, bytes } = keepingSink();

    expect(await driver.copyTo("copy/object", sink)).toBe(data.length);
    expect(bytes().equals(data)).toBe(true);
    expect(given.length).toBeGreaterThan(10);
    // The response's parser gives each chunk memory of its own but the first (a view past the
    // headers): all the others are freed, and read as empty.
    const freed = given.filter((chunk) => chunk.byteLength === 0).length;
    expect(freed).toBeGreaterThanOrEqual(given.length - 1);
  });

  it("waits for a slow destination and hands over every byte of a range", async () => {
    const driver = makeDriver(await newBucket());
    const data = randomBytes(MiB);
    await driver.writeBytes("copy/slow", data);
    const { sink, bytes } = keepingSink({ highWaterMark: 1024, delayMs: 1 });

    expect(await driver.copyTo("copy/slow", sink, { offset: 1000, length: 500_000 })).toBe(500_000);
    expect(bytes().equals(data.subarray(1000, 501_000))).toBe(true);
  });

  it("rejects with the destination's own error when it fails midway", async () => {
    const driver = makeDriver(await newBucket());
    await driver.writeBytes("copy/failing", randomBytes(2 * MiB));
    const { sink } = keepingSink({ failAfter: 3 });
    sink.on("error", () => undefined);

    const copying = driver.copyTo("copy/failing", sink);
    await expect(copying).rejects.toThrow("client went away");
    await expect(copying).rejects.not.toBeInstanceOf(StorageUnavailableError);
    // The connection the abandoned body held is not lost: the next read still works.
    expect((await driver.readBytes("copy/failing", 4 * MiB)).length).toBe(2 * MiB);
  });

  it("stops reading when the destination went away between two chunks", async () => {
    const driver = makeDriver(await newBucket());
    await driver.writeBytes("copy/gone", randomBytes(4 * MiB));
    let writes = 0;
    // The client leaves once it has its second chunk (a write to it afterwards returns no error).
    const sink = new Writable({
      write(_chunk: Buffer, _encoding, callback) {
        callback();
        if (++writes === 2) sink.destroy();
      },
    });

    await expect(driver.copyTo("copy/gone", sink)).rejects.toThrow(/closed before the object was written/);
    expect(writes).toBe(2);
  }, 10_000);

  it("frees each part once S3 has stored it", async () => {
    const client = new PartKeepingClient(rootOptions());
    const driver = makeDriver(await newBucket(), { client });
    const data = randomBytes(2 * SMALL_PARTS + 99);

    await driver.write("parts/freed", Readable.from([data]));
    expect(client.parts.map((part) => part.byteLength)).toEqual([0, 0, 0]);
    expect(sha256(await readAll(await driver.read("parts/freed")))).toBe(sha256(data));
  });
});

describe("s3 driver with virtual-hosted addressing", () => {
  let virtualServer: S3TestServer;

  beforeAll(async () => {
    virtualServer = await startVersitygw({ virtualDomain: "localhost" });
    await virtualServer.createBucket("virtual-bucket");
  });
  afterAll(async () => {
    await virtualServer?.stop();
  });

  it("names the bucket in the host when forcePathStyle is off", async () => {
    const relay = await startRecordingRelay(virtualServer.endpoint);
    try {
      const port = new URL(relay.endpoint).port;
      // Stands in for DNS, which has no "<bucket>.localhost" here: the request is signed for, and
      // carries, the virtual host; only the connection goes to the loopback address.
      const loopback: LookupFunction = (_hostname, options, callback) => {
        if (options.all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
        else callback(null, "127.0.0.1", 4);
      };
      const client = new S3Client({
        endpoint: `http://localhost:${port}`,
        region: virtualServer.region,
        forcePathStyle: false,
        credentials: { accessKeyId: virtualServer.accessKeyId, secretAccessKey: virtualServer.secretAccessKey },
        insecure: false,
        lookup: loopback,
      });
      const driver = makeDriver("virtual-bucket", { client });
      await driver.writeBytes("vh/object", Buffer.from("by host name"));
      expect((await driver.readBytes("vh/object", 100)).toString()).toBe("by host name");
      expect(await listPaths(driver, "vh")).toEqual(["vh/object"]);
      expect(new Set(relay.requests.map((request) => request.headers.host))).toEqual(
        new Set([`virtual-bucket.localhost:${port}`]),
      );
      expect(relay.requests.map((request) => request.url.split("?")[0])).toContain("/vh/object");
    } finally {
      await relay.close();
    }
  });
});

describe("s3 driver over TLS", () => {
  let tlsServer: S3TestServer;
  let certs: { dir: string; remove: () => void };
  let tlsFiles: { certFile: string; keyFile: string };

  beforeAll(async () => {
    certs = tempDir("s3-tls");
    tlsFiles = selfSignedCertificate(certs.dir);
    tlsServer = await startVersitygw({ tls: tlsFiles });
    await tlsServer.createBucket("tls-bucket");
  });
  afterAll(async () => {
    await tlsServer?.stop();
    certs?.remove();
  });

  function tlsClient(options: { ca?: string; insecure?: boolean; endpoint?: string }): S3Client {
    return new S3Client({
      endpoint: options.endpoint ?? tlsServer.endpoint,
      region: tlsServer.region,
      forcePathStyle: true,
      credentials: { accessKeyId: tlsServer.accessKeyId, secretAccessKey: tlsServer.secretAccessKey },
      insecure: options.insecure ?? false,
      ...(options.ca !== undefined && { ca: options.ca }),
    });
  }

  it("trusts the endpoint through its private CA, and refuses it without", async () => {
    const trusted = makeDriver("tls-bucket", { client: tlsClient({ ca: readFileSync(tlsFiles.certFile, "utf8") }) });
    await trusted.writeBytes("tls/object", Buffer.from("over TLS"));
    expect((await trusted.readBytes("tls/object", 100)).toString()).toBe("over TLS");

    await expect(makeDriver("tls-bucket", { client: tlsClient({}) }).readBytes("tls/object", 100)).rejects.toThrow(
      /certificate/i,
    );
    const insecure = makeDriver("tls-bucket", { client: tlsClient({ insecure: true }) });
    expect((await insecure.readBytes("tls/object", 100)).toString()).toBe("over TLS");
  });

  it("makes one TLS context for the private CA, however many connections it opens", async () => {
    const driver = makeDriver("tls-bucket", { client: tlsClient({ ca: readFileSync(tlsFiles.certFile, "utf8") }) });
    await driver.writeBytes("tls/shared", Buffer.from("one context"));
    const contexts = vi.spyOn(tls, "createSecureContext");
    try {
      // Reads at once: each needs a connection of its own.
      const reads = await Promise.all(Array.from({ length: 6 }, () => driver.readBytes("tls/shared", 100)));
      expect(reads.map(String)).toEqual(Array.from({ length: 6 }, () => "one context"));
      expect(contexts).not.toHaveBeenCalled();
    } finally {
      contexts.mockRestore();
    }
  });

  it("sends a blob's parts unsigned over TLS, and the server takes them", async () => {
    const relay = await startRecordingRelay(tlsServer.endpoint, tlsFiles);
    try {
      const client = tlsClient({ endpoint: relay.endpoint, ca: readFileSync(tlsFiles.certFile, "utf8") });
      const driver = makeDriver("tls-bucket", { client });
      const data = randomBytes(2 * SMALL_PARTS + 1234);
      await driver.write("tls/parts", Readable.from([data]));
      await driver.writeBytes("tls/small", Buffer.from("one PutObject"));

      const hashes = (matches: Parameters<typeof payloadHashes>[1]): string[] => payloadHashes(relay.requests, matches);
      expect(hashes(isPartUpload)).toEqual(["UNSIGNED-PAYLOAD", "UNSIGNED-PAYLOAD", "UNSIGNED-PAYLOAD"]);
      expect(hashes(isPutObject)).toEqual(["UNSIGNED-PAYLOAD"]);
      // Requests without a blob's bytes keep their signed hash (the XML list of parts here).
      expect(hashes(isCompletion)).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
      expect(sha256(await readAll(await driver.read("tls/parts")))).toBe(sha256(data));
      expect((await driver.readBytes("tls/small", 100)).toString()).toBe("one PutObject");
    } finally {
      await relay.close();
    }
  });
});

describe("s3 driver over plain HTTP", () => {
  it("signs the hash of every part it sends", async () => {
    const relay = await startRecordingRelay(server.endpoint);
    try {
      const client = new S3Client({ ...rootOptions(), endpoint: relay.endpoint });
      const driver = makeDriver(await newBucket(), { client });
      const data = randomBytes(SMALL_PARTS + 10);
      await driver.write("plain/parts", Readable.from([data]));

      const expected = [data.subarray(0, SMALL_PARTS), data.subarray(SMALL_PARTS)].map(sha256);
      expect(payloadHashes(relay.requests, isPartUpload).sort()).toEqual(expected.sort());
      expect(sha256(await readAll(await driver.read("plain/parts")))).toBe(sha256(data));
    } finally {
      await relay.close();
    }
  });
});

/** memory that Buffers and the JavaScript heap hold, in bytes. */
/** Node's garbage collector, exposed at run time (vitest's workers do not start with --expose-gc). */
const collectGarbage = ((): (() => void) => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

/** Memory still reachable, in bytes: the JavaScript heap and the Buffers' ArrayBuffers. */
function liveMemory(): number {
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

function rootOptions(): S3ConnectionOptions {
  return {
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    insecure: false,
  };
}

function rootClient(): S3Client {
  return new S3Client(rootOptions());
}

type UploadPartArguments = Parameters<S3Client["uploadPart"]>;

/** An S3 client that counts the multipart calls it makes, by method. */
class CountingClient extends S3Client {
  readonly #counts = new Map<string, number>();

  sent(method: string): number {
    return this.#counts.get(method) ?? 0;
  }

  #count(method: string): void {
    this.#counts.set(method, this.sent(method) + 1);
  }

  override createMultipartUpload(...args: Parameters<S3Client["createMultipartUpload"]>): Promise<string> {
    this.#count("createMultipartUpload");
    return super.createMultipartUpload(...args);
  }

  override uploadPart(...args: UploadPartArguments): Promise<string> {
    this.#count("uploadPart");
    return super.uploadPart(...args);
  }

  override completeMultipartUpload(...args: Parameters<S3Client["completeMultipartUpload"]>): Promise<void> {
    this.#count("completeMultipartUpload");
    return super.completeMultipartUpload(...args);
  }

  override abortMultipartUpload(...args: Parameters<S3Client["abortMultipartUpload"]>): Promise<void> {
    this.#count("abortMultipartUpload");
    return super.abortMultipartUpload(...args);
  }
}

/** An S3 client whose part uploads fail from the `failFrom`-th on. */
class FailingPartsClient extends S3Client {
  readonly #failFrom: number;
  #parts = 0;

  constructor(options: S3ConnectionOptions, failFrom: number) {
    super(options);
    this.#failFrom = failFrom;
  }

  override uploadPart(...args: UploadPartArguments): Promise<string> {
    if (++this.#parts >= this.#failFrom) return Promise.reject(new Error("injected part failure"));
    return super.uploadPart(...args);
  }
}

/** An S3 client that keeps the buffer of every part it is given (to see it freed after). */
class PartKeepingClient extends S3Client {
  readonly parts: Buffer[] = [];

  override uploadPart(...args: UploadPartArguments): Promise<string> {
    this.parts.push(args[4]);
    return super.uploadPart(...args);
  }
}
