// The behaviour every storage driver must have, whatever its backend: each driver's test file
// calls storageDriverContract with a way to make a fresh, empty driver. The tests only use the
// StorageDriver interface, so a filesystem and an object store are held to the same rules.

import { createHash, randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { setImmediate as nextTurn } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  InvalidPathError,
  InvalidRangeError,
  ObjectNotFoundError,
  ObjectTooLargeError,
  type ObjectInfo,
  type StorageDriver,
} from "../../src/storage/storage-driver.ts";
import { handOverChunks } from "../../src/storage/handed-over-chunks.ts";

const MiB = 1024 * 1024;

export function storageDriverContract(
  name: string,
  setup: () => Promise<{ driver: StorageDriver; cleanup: () => Promise<void> }>,
): void {
  describe(`storage driver contract: ${name}`, () => {
    let driver: StorageDriver;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ driver, cleanup } = await setup());
    });
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    describe("copyTo (optional fast path)", () => {
      /** Collects what copyTo hands over; `copyTo` must not end the destination. */
      async function copied(path: string, range?: { offset: number; length: number }): Promise<Buffer> {
        const chunks: Buffer[] = [];
        const sink = new Writable({
          write(chunk: Buffer, _encoding, callback) {
            chunks.push(Buffer.from(chunk));
            callback();
          },
        });
        if (!driver.copyTo) throw new Error("no copyTo");
        const written = await driver.copyTo(path, sink, range);
        expect(sink.writableEnded).toBe(false);
        const data = Buffer.concat(chunks);
        expect(written).toBe(data.length);
        return data;
      }

      it("copies whole objects and ranges, and refuses what read refuses", async () => {
        if (!driver.copyTo) return;
        const data = randomBytes(3 * 1024 * 1024 + 5);
        await driver.writeBytes("copy/large", data);
        expect((await copied("copy/large")).equals(data)).toBe(true);
        expect(
          (await copied("copy/large", { offset: 1_000_000, length: 2_000_000 })).equals(
            data.subarray(1_000_000, 3_000_000),
          ),
        ).toBe(true);
        expect((await copied("copy/large", { offset: data.length, length: 0 })).length).toBe(0);
        await driver.writeBytes("copy/empty", Buffer.alloc(0));
        expect((await copied("copy/empty")).length).toBe(0);
        await expect(copied("copy/large", { offset: data.length, length: 1 })).rejects.toBeInstanceOf(
          InvalidRangeError,
        );
        await expect(copied("copy/missing")).rejects.toBeInstanceOf(ObjectNotFoundError);
      });
    });

    describe("write and read", () => {
      it("round-trips an empty object", async () => {
        expect(await driver.write("rt/empty", Readable.from([]))).toBe(0);
        expect(await driver.readBytes("rt/empty", 10)).toEqual(Buffer.alloc(0));
        expect(await readAll(await driver.read("rt/empty"))).toEqual(Buffer.alloc(0));
        expect((await driver.stat("rt/empty"))?.size).toBe(0);
      });

      it("round-trips a small object, from a stream and from memory", async () => {
        const data = Buffer.from("hello, registry");
        expect(await driver.write("rt/small", Readable.from([data]))).toBe(data.length);
        expect(await driver.readBytes("rt/small", 1024)).toEqual(data);
        expect(await readAll(await driver.read("rt/small"))).toEqual(data);

        const bytes = new Uint8Array([0, 1, 2, 255]);
        await driver.writeBytes("rt/bytes", bytes);
        expect(await driver.readBytes("rt/bytes", 4)).toEqual(Buffer.from(bytes));
      });

      it("round-trips 10 MiB of random bytes sent in odd-sized chunks", async () => {
        const data = randomBytes(10 * MiB);
        // Sizes that never line up with the powers of two a driver may buffer in.
        expect(await driver.write("rt/large", Readable.from(chunked(data, [1, 65_537, 3_000_001, 7, 12_345])))).toBe(
          data.length,
        );
        const info = await driver.stat("rt/large");
        expect(info?.size).toBe(data.length);
        expect(sha256(await readAll(await driver.read("rt/large")))).toBe(sha256(data));
      });

      it("round-trips a single chunk larger than any sensible write buffer, and many tiny ones", async () => {
        const big = randomBytes(9 * MiB + 3);
        await driver.write("rt/one-chunk", Readable.from([big]));
        expect(sha256(await driver.readBytes("rt/one-chunk", big.length))).toBe(sha256(big));

        const tiny = randomBytes(200_000);
        await driver.write("rt/tiny-chunks", Readable.from(chunked(tiny, [1, 2, 3, 5, 8, 13])));
        expect(await driver.readBytes("rt/tiny-chunks", tiny.length)).toEqual(tiny);
      });

      it("leaves a body's chunks intact unless they were handed over, and stores handed-over ones right", async () => {
        // Chunks of their own memory each, as a request's body arrives: the ones a driver may free.
        const data = randomBytes(12 * MiB + 5);
        const kept = ownChunks(data, 64 * 1024 + 3);
        await driver.write("rt/kept", Readable.from(kept));
        expect(Buffer.concat(kept).equals(data)).toBe(true);

        const handed = ownChunks(data, 64 * 1024 + 3);
        expect(await driver.write("rt/handed", handOverChunks(Readable.from(handed)))).toBe(data.length);
        expect(sha256(await readAll(await driver.read("rt/handed")))).toBe(sha256(data));
        // Nothing asks a driver to free them; a freed chunk reads as empty, never as other bytes.
        const altered = handed.filter(
          (chunk, index) => chunk.length > 0 && !chunk.equals(kept[index] ?? Buffer.alloc(0)),
        );
        expect(altered).toHaveLength(0);
      });

      it("reports size and modification time", async () => {
        const before = Date.now();
        await driver.writeBytes("st/object", Buffer.alloc(1234, 7));
        const info = await driver.stat("st/object");
        expect(info?.path).toBe("st/object");
        expect(info?.size).toBe(1234);
        expect(info?.modifiedAt).toBeInstanceOf(Date);
        // Backends may keep their own clock: only require a sane time, within a day.
        expect(Math.abs((info?.modifiedAt.getTime() ?? 0) - before)).toBeLessThan(24 * 3600_000);
      });

      it("replaces an object, larger by smaller and by writeBytes", async () => {
        await driver.writeBytes("rp/object", Buffer.alloc(5000, 1));
        expect(await driver.write("rp/object", Readable.from([Buffer.from("short")]))).toBe(5);
        expect((await driver.readBytes("rp/object", 100)).toString()).toBe("short");
        expect((await driver.stat("rp/object"))?.size).toBe(5);

        await driver.writeBytes("rp/object", Buffer.from("again"));
        expect((await driver.readBytes("rp/object", 100)).toString()).toBe("again");
        expect(await listPaths(driver, "rp")).toEqual(["rp/object"]);
      });
    });

    describe("deferred durability", () => {
      it("shows a deferred write at once, as any other, and persists it with objects written durably", async () => {
        const data = randomBytes(5 * MiB + 3);
        const size = await driver.write("df/a", Readable.from(chunked(data, [MiB, 3 * MiB, MiB + 3])), {
          durability: "deferred",
        });
        expect(size).toBe(data.length);
        expect((await driver.readBytes("df/a", 6 * MiB)).equals(data)).toBe(true);
        await driver.write("df/b", Readable.from([Buffer.from("durable")]), { durability: "now" });
        await driver.persist(["df/a", "df/b"]);
        await driver.persist([]);
        expect((await driver.readBytes("df/a", 6 * MiB)).equals(data)).toBe(true);
        expect((await driver.readBytes("df/b", 100)).toString()).toBe("durable");
        expect(await listPaths(driver, "df")).toEqual(["df/a", "df/b"]);
      });

      it("skips paths with no object when persisting, and leaves them absent", async () => {
        await driver.write("dm/kept", Readable.from([Buffer.from("kept")]), { durability: "deferred" });
        await driver.write("dm/gone", Readable.from([Buffer.from("gone")]), { durability: "deferred" });
        await driver.delete("dm/gone");
        await driver.persist(["dm/gone", "dm/kept", "dm/never/written"]);
        expect(await listPaths(driver, "dm")).toEqual(["dm/kept"]);
      });

      it("leaves nothing when a deferred write's body fails", async () => {
        const failing = Readable.from(
          (async function* () {
            yield Buffer.alloc(MiB, 7);
            throw new Error("client went away");
          })(),
        );
        await expect(driver.write("dx/object", failing, { durability: "deferred" })).rejects.toThrow(
          "client went away",
        );
        expect(await driver.stat("dx/object")).toBeUndefined();
      });
    });

    describe("ranges", () => {
      const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

      beforeEach(async () => {
        await driver.writeBytes("rg/object", data);
      });

      it.each([
        ["the start", 0, 10],
        ["the middle", 100, 250],
        ["the end", 990, 10],
        ["the whole object", 0, 1000],
        ["one byte", 500, 1],
      ])("reads %s", async (_, offset, length) => {
        const part = await readAll(await driver.read("rg/object", { offset, length }));
        expect(part).toEqual(data.subarray(offset, offset + length));
      });

      it.each([
        ["at the start", 0],
        ["in the middle", 500],
        ["at the end", 1000],
      ])("reads a zero-length range %s", async (_, offset) => {
        expect(await readAll(await driver.read("rg/object", { offset, length: 0 }))).toEqual(Buffer.alloc(0));
      });

      it.each([
        ["past the end", 990, 11],
        ["starting past the end", 1001, 0],
        ["far past the end", 5000, 10],
        ["with a negative offset", -1, 5],
        ["with a negative length", 10, -1],
        ["with a fractional offset", 0.5, 1],
      ])("refuses a range %s with InvalidRangeError", async (_, offset, length) => {
        await expect(driver.read("rg/object", { offset, length })).rejects.toBeInstanceOf(InvalidRangeError);
      });

      it("allows only the zero-length range at 0 of an empty object", async () => {
        await driver.writeBytes("rg/empty", new Uint8Array(0));
        expect(await readAll(await driver.read("rg/empty", { offset: 0, length: 0 }))).toEqual(Buffer.alloc(0));
        await expect(driver.read("rg/empty", { offset: 0, length: 1 })).rejects.toBeInstanceOf(InvalidRangeError);
      });

      it("reports a missing object before looking at the range", async () => {
        await expect(driver.read("rg/missing", { offset: 5000, length: 1 })).rejects.toBeInstanceOf(
          ObjectNotFoundError,
        );
      });
    });

    describe("missing objects and size limits", () => {
      it("reports a missing object as ObjectNotFoundError, or undefined from stat", async () => {
        await expect(driver.read("none/here")).rejects.toBeInstanceOf(ObjectNotFoundError);
        await expect(driver.readBytes("none/here", 100)).rejects.toBeInstanceOf(ObjectNotFoundError);
        expect(await driver.stat("none/here")).toBeUndefined();
        await expect(driver.read("toplevel-missing")).rejects.toBeInstanceOf(ObjectNotFoundError);
      });

      it("does not take a prefix for an object", async () => {
        await driver.writeBytes("pre/fix/object", Buffer.from("x"));
        expect(await driver.stat("pre/fix")).toBeUndefined();
        await expect(driver.read("pre/fix")).rejects.toBeInstanceOf(ObjectNotFoundError);
        await expect(driver.readBytes("pre", 10)).rejects.toBeInstanceOf(ObjectNotFoundError);
      });

      it("reads an object of exactly maxBytes and refuses a larger one with ObjectTooLargeError", async () => {
        await driver.writeBytes("lim/object", Buffer.alloc(100, 3));
        expect((await driver.readBytes("lim/object", 100)).length).toBe(100);
        const error = await driver.readBytes("lim/object", 99).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ObjectTooLargeError);
        expect((error as ObjectTooLargeError).maxBytes).toBe(99);
      });
    });

    describe("failed writes", () => {
      it("rejects with the body's error and leaves no object when the body errors midway", async () => {
        const failure = new Error("client went away");
        // More than a write buffer or two, so that some bytes may already be stored when it fails.
        const body = bodyThatFails(randomBytes(9 * MiB), failure);
        await expect(driver.write("fail/new", body)).rejects.toBe(failure);
        expect(await driver.stat("fail/new")).toBeUndefined();
        await expect(driver.read("fail/new")).rejects.toBeInstanceOf(ObjectNotFoundError);
        expect(await listPaths(driver, "fail")).toEqual([]);
      });

      it("keeps the old object intact when a replacement's body errors midway", async () => {
        const old = randomBytes(100_000);
        await driver.writeBytes("fail/old", old);
        const failure = new Error("upload aborted");
        await expect(driver.write("fail/old", bodyThatFails(randomBytes(3 * MiB), failure))).rejects.toBe(failure);
        expect(await driver.readBytes("fail/old", old.length)).toEqual(old);
        expect(await listInfo(driver, "fail")).toEqual([
          expect.objectContaining({ path: "fail/old", size: old.length }),
        ]);
      });

      it("rejects and leaves no object when the body is destroyed midway without an error", async () => {
        await expect(driver.write("gone/new", bodyThatFails(randomBytes(3 * MiB)))).rejects.toBeInstanceOf(Error);
        expect(await driver.stat("gone/new")).toBeUndefined();
        expect(await listPaths(driver, "gone")).toEqual([]);

        const old = Buffer.from("previous version");
        await driver.writeBytes("gone/old", old);
        await expect(driver.write("gone/old", bodyThatFails(randomBytes(3 * MiB)))).rejects.toBeInstanceOf(Error);
        expect(await driver.readBytes("gone/old", 100)).toEqual(old);
        expect(await listPaths(driver, "gone")).toEqual(["gone/old"]);
      });

      it("rejects when the body fails before sending anything", async () => {
        const failure = new Error("nothing sent");
        await expect(driver.write("fail/early", bodyThatFails(Buffer.alloc(0), failure))).rejects.toBe(failure);
        expect(await driver.stat("fail/early")).toBeUndefined();
      });
    });

    it("lets one complete version win when writes to the same path race", async () => {
      const versions = Array.from({ length: 6 }, () => randomBytes(2 * MiB + 17));
      const sizes = await Promise.all(
        versions.map((version) => driver.write("race/object", Readable.from(slowly(chunked(version, [64 * 1024]))))),
      );
      expect(sizes).toEqual(versions.map((v) => v.length));
      const stored = await driver.readBytes("race/object", 3 * MiB);
      expect(versions.map(sha256)).toContain(sha256(stored));
      expect(await listInfo(driver, "race")).toEqual([
        expect.objectContaining({ path: "race/object", size: stored.length }),
      ]);
    });

    describe("delete", () => {
      it("deletes an object and is idempotent", async () => {
        await driver.writeBytes("del/object", Buffer.from("x"));
        await driver.writeBytes("del/other", Buffer.from("y"));
        await driver.delete("del/object");
        expect(await driver.stat("del/object")).toBeUndefined();
        await expect(driver.read("del/object")).rejects.toBeInstanceOf(ObjectNotFoundError);
        await driver.delete("del/object");
        await driver.delete("del/never/existed");
        expect(await listPaths(driver, "del")).toEqual(["del/other"]);
      });

      it("does not delete recursively: deleting a prefix is deleting a missing object", async () => {
        await driver.writeBytes("tree/a/b", Buffer.from("x"));
        await driver.delete("tree/a");
        await driver.delete("tree");
        expect(await listPaths(driver, "tree")).toEqual(["tree/a/b"]);
      });

      it("can write again where an object and its prefix were deleted", async () => {
        await driver.writeBytes("again/deep/object", Buffer.from("1"));
        await driver.delete("again/deep/object");
        await driver.writeBytes("again/deep/object", Buffer.from("2"));
        expect((await driver.readBytes("again/deep/object", 10)).toString()).toBe("2");
      });
    });

    describe("list", () => {
      // Chosen so that "-" and "." (which sort before "/") catch a walk that is not lexical.
      const paths = ["l/b/c", "l/b/d/e", "l/b/d-f", "l/b/d.g", "l/b/D", "l/b/0", "l/bc/x", "l/b-x", "l/c"];

      beforeEach(async () => {
        for (const [i, path] of paths.entries()) await driver.writeBytes(path, Buffer.alloc(i + 1));
      });

      it("lists everything below a prefix, recursively, in lexical order of full paths", async () => {
        const expected = ["l/b/0", "l/b/D", "l/b/c", "l/b/d-f", "l/b/d.g", "l/b/d/e"];
        expect(await listPaths(driver, "l/b")).toEqual(expected);
        expect(await listPaths(driver, "l")).toEqual([...paths].sort());
        expect([...paths].sort()).toEqual([
          "l/b-x",
          "l/b/0",
          "l/b/D",
          "l/b/c",
          "l/b/d-f",
          "l/b/d.g",
          "l/b/d/e",
          "l/bc/x",
          "l/c",
        ]);
      });

      it("gives each object's path and size", async () => {
        const listed = await listInfo(driver, "l/b/d");
        expect(listed.map(({ path, size }) => ({ path, size }))).toEqual([{ path: "l/b/d/e", size: 2 }]);
        expect(listed[0]?.modifiedAt).toBeInstanceOf(Date);
      });

      it("matches whole segments: l/b does not list l/bc or l/b-x", async () => {
        const listed = await listPaths(driver, "l/b");
        expect(listed.filter((p) => p.startsWith("l/bc") || p.startsWith("l/b-"))).toEqual([]);
        expect(await listPaths(driver, "l/bc")).toEqual(["l/bc/x"]);
      });

      it("lists nothing for a missing prefix or for an object's own path", async () => {
        expect(await listPaths(driver, "missing")).toEqual([]);
        expect(await listPaths(driver, "l/bx")).toEqual([]);
        expect(await listPaths(driver, "l/c")).toEqual([]);
      });

      it("stops listing deleted objects", async () => {
        await driver.delete("l/b/d/e");
        await driver.delete("l/b/c");
        expect(await listPaths(driver, "l/b")).toEqual(["l/b/0", "l/b/D", "l/b/d-f", "l/b/d.g"]);
      });
    });

    describe("invalid paths", () => {
      const invalid = ["../x", "/abs", "a//b", "a/./b", "", "a\\b", "a/", "..", ".", "a/b/..", "a b", "é"];

      it.each(invalid)("refuses %j from every method with InvalidPathError", async (path) => {
        const body = Readable.from([Buffer.from("x")]);
        await expect(driver.write(path, body)).rejects.toBeInstanceOf(InvalidPathError);
        body.destroy();
        await expect(driver.writeBytes(path, Buffer.from("x"))).rejects.toBeInstanceOf(InvalidPathError);
        await expect(driver.read(path)).rejects.toBeInstanceOf(InvalidPathError);
        await expect(driver.read(path, { offset: 0, length: 0 })).rejects.toBeInstanceOf(InvalidPathError);
        await expect(driver.readBytes(path, 10)).rejects.toBeInstanceOf(InvalidPathError);
        await expect(driver.stat(path)).rejects.toBeInstanceOf(InvalidPathError);
        await expect(driver.delete(path)).rejects.toBeInstanceOf(InvalidPathError);
        await expect(listPaths(driver, path)).rejects.toBeInstanceOf(InvalidPathError);
        await expect(driver.persist(["valid/path", path])).rejects.toBeInstanceOf(InvalidPathError);
      });

      it("accepts the unusual but valid names", async () => {
        for (const path of ["..a", "a..", ".hidden/x", "A-Z_0.9/-_."]) {
          await driver.writeBytes(path, Buffer.from(path));
          expect((await driver.readBytes(path, 100)).toString()).toBe(path);
        }
        expect(await listPaths(driver, ".hidden")).toEqual([".hidden/x"]);
      });
    });
  });
}

/** Upper bound on what the helpers below will collect: tests never need more. */
const MAX_COLLECTED_BYTES = 64 * MiB;
const MAX_LISTED = 10_000;

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    total += chunk.length;
    if (total > MAX_COLLECTED_BYTES) throw new Error("stream longer than any test object");
  }
  return Buffer.concat(chunks);
}

async function listInfo(driver: StorageDriver, prefix: string): Promise<ObjectInfo[]> {
  const listed: ObjectInfo[] = [];
  for await (const info of driver.list(prefix)) {
    listed.push(info);
    if (listed.length > MAX_LISTED) throw new Error("list does not end");
  }
  return listed;
}

export async function listPaths(driver: StorageDriver, prefix: string): Promise<string[]> {
  return (await listInfo(driver, prefix)).map((info) => info.path);
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Cuts `data` into chunks whose sizes cycle through `sizes`. */
function* chunked(data: Buffer, sizes: number[]): Generator<Buffer> {
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

/** Yields to the event loop between chunks, so that concurrent writers interleave. */
async function* slowly(chunks: Iterable<Buffer>): AsyncGenerator<Buffer> {
  for (const chunk of chunks) {
    await nextTurn();
    yield chunk;
  }
}

/**
 * A body that sends `data` in 64 KiB chunks and then, instead of ending, is destroyed: with
 * `error` like a failing upstream, without one like a client that went away.
 */
export function bodyThatFails(data: Buffer, error?: Error): Readable {
  const chunks = [...chunked(data, [64 * 1024])];
  let next = 0;
  return new Readable({
    read() {
      const chunk = chunks[next++];
      if (chunk) this.push(chunk);
      // Destroyed asynchronously, after the consumer has had the chance to take what was sent.
      else setImmediate(() => this.destroy(error));
    },
  });
}

/** `data` cut into copies of `size` bytes, each chunk the whole of its own memory. */
export function ownChunks(data: Buffer, size: number): Buffer[] {
  return [...chunked(data, [size])].map((chunk) =>
    Buffer.from(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.length)),
  );
}
