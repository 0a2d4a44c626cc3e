// Handed-over chunks: which chunks may be freed, that the mark survives verification only while
// nobody else sees the bytes, and that the filesystem driver frees what it was handed (the push
// path's garbage-collection saving, bench/profiles/README.md).

import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { verifiedBody } from "../../src/content/verified-body.ts";
import { FilesystemDriver } from "../../src/storage/filesystem-driver.ts";
import { chunksHandedOver, handOverChunks, holdChunk, releaseChunk } from "../../src/storage/handed-over-chunks.ts";
import { ownChunks } from "../contracts/storage-driver-contract.ts";

describe("releaseChunk", () => {
  it("frees a chunk that is the whole of its memory: it reads as empty afterwards", () => {
    const [chunk] = ownChunks(randomBytes(100_000), 100_000);
    if (!chunk) throw new Error("no chunk");
    releaseChunk(chunk);
    expect(chunk.length).toBe(0);
    expect(chunk.buffer.byteLength).toBe(0);
    releaseChunk(chunk); // twice is harmless
  });

  it("leaves views into shared memory alone: a pooled small Buffer, a slice, a shared buffer", () => {
    const pooled = Buffer.from("a small buffer lives in Node's shared pool");
    const whole = randomBytes(4096);
    const slice = whole.subarray(10, 20);
    const shared = new Uint8Array(new SharedArrayBuffer(16));
    for (const view of [pooled, slice, shared]) {
      const before = Buffer.from(view);
      releaseChunk(view);
      expect(Buffer.from(view)).toEqual(before);
    }
    expect(whole.length).toBe(4096);
  });
});

describe("holding a chunk", () => {
  it("frees it at the last release only: one release per holder, the driver counted", () => {
    const [chunk] = ownChunks(randomBytes(70_000), 70_000);
    if (!chunk) throw new Error("no chunk");
    const before = Buffer.from(chunk);
    holdChunk(chunk);
    holdChunk(chunk);
    releaseChunk(chunk);
    releaseChunk(chunk);
    expect(Buffer.from(chunk)).toEqual(before);
    releaseChunk(chunk);
    expect(chunk.length).toBe(0);
  });
});

describe("the handed-over mark", () => {
  it("is kept by verification, and told to an observer, which sees the chunks first", async () => {
    const body = handOverChunks(Readable.from([Buffer.from("x")]));
    expect(chunksHandedOver(body)).toBe(true);
    expect(chunksHandedOver(Readable.from([Buffer.from("x")]))).toBe(false);
    const expectations = { hash: createHash("sha256"), algorithm: "sha256" };
    expect(chunksHandedOver(verifiedBody(body, expectations))).toBe(true);
    expect(chunksHandedOver(verifiedBody(Readable.from([]), expectations))).toBe(false);

    const told: boolean[] = [];
    const observer = {
      bytes: (_: Uint8Array, handedOver: boolean) => void told.push(handedOver),
      verified: () => undefined,
    };
    const observed = verifiedBody(handOverChunks(Readable.from([Buffer.from("a"), Buffer.from("b")])), {
      ...expectations,
      observer,
    });
    expect(chunksHandedOver(observed)).toBe(true);
    const seen: number[] = [];
    for await (const chunk of observed) seen.push(told.length, chunk.length);
    // Each chunk reached the observer before the consumer.
    expect(seen).toEqual([1, 1, 2, 1]);
    const plain = verifiedBody(Readable.from([Buffer.from("c")]), { ...expectations, observer });
    for await (const chunk of plain) expect(chunk.length).toBe(1);
    expect(told).toEqual([true, true, false]);
  });
});

describe("the filesystem driver with handed-over chunks", () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  it("frees each chunk once stored, through verification, and stores the bytes intact", async () => {
    root = mkdtempSync(path.join(tmpdir(), "airlock-handed-"));
    const driver = new FilesystemDriver(root);
    const data = randomBytes(9 * 1024 * 1024 + 17);
    const chunks = ownChunks(data, 65_536);
    const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
    const body = verifiedBody(handOverChunks(Readable.from(chunks)), {
      hash: createHash("sha256"),
      algorithm: "sha256",
      expectedDigest: digest,
      expectedBytes: data.length,
    });
    expect(await driver.write("blob", body)).toBe(data.length);
    expect(readFileSync(path.join(root, "blob")).equals(data)).toBe(true);
    expect(chunks.every((chunk) => chunk.length === 0)).toBe(true);
  });
});
