// The filesystem driver: the shared contract, then what only a directory on disk has (where the
// files are, temporary files, empty directories, symlinks).

import { randomBytes } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FilesystemDriver, SymlinkRefusedError, writeAllChunks } from "../../src/storage/filesystem-driver.ts";
import { ObjectNotFoundError } from "../../src/storage/storage-driver.ts";
import { bodyThatFails, listPaths, readAll, storageDriverContract } from "../contracts/storage-driver-contract.ts";

function makeTempDir(): string {
  return mkdtempSync(path.join(tmpdir(), "airlock-fs-"));
}

storageDriverContract("filesystem", async () => {
  const root = makeTempDir();
  return { driver: new FilesystemDriver(root), cleanup: async () => rmSync(root, { recursive: true, force: true }) };
});

/** Everything under `dir`, dot files and directories included, as sorted relative paths. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

describe("filesystem driver on disk", () => {
  let root: string;
  let outside: string;
  let driver: FilesystemDriver;

  beforeEach(() => {
    root = makeTempDir();
    outside = makeTempDir();
    writeFileSync(path.join(outside, "secret"), "outside the root");
    driver = new FilesystemDriver(root);
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it("keeps the object at <root>/<path>", async () => {
    await driver.writeBytes("a/b/c", Buffer.from("content"));
    expect(readFileSync(path.join(root, "a", "b", "c"), "utf8")).toBe("content");
    expect(tree(root)).toEqual(["a", "a/b", "a/b/c"]);
  });

  it("refuses a relative root", () => {
    expect(() => new FilesystemDriver("relative/dir")).toThrow(/absolute/);
  });

  it("treats a root that does not exist yet as empty, and creates it on the first write", async () => {
    const later = new FilesystemDriver(path.join(root, "not", "yet"));
    expect(await later.stat("x")).toBeUndefined();
    expect(await listPaths(later, "x")).toEqual([]);
    await expect(later.read("x/y")).rejects.toBeInstanceOf(ObjectNotFoundError);
    await later.writeBytes("x/y", Buffer.from("1"));
    expect(readFileSync(path.join(root, "not", "yet", "x", "y"), "utf8")).toBe("1");
  });

  it("leaves no temporary file and no new directory after failed writes", async () => {
    await driver.writeBytes("keep/old", Buffer.from("old"));
    await expect(
      driver.write("new/deep/dir/object", bodyThatFails(Buffer.alloc(6 * 1024 * 1024), new Error("x"))),
    ).rejects.toThrow("x");
    await expect(driver.write("keep/old", bodyThatFails(Buffer.alloc(6 * 1024 * 1024)))).rejects.toBeInstanceOf(Error);
    await expect(driver.write("keep/new", bodyThatFails(Buffer.alloc(100), new Error("y")))).rejects.toThrow("y");
    expect(tree(root)).toEqual(["keep", "keep/old"]);
    expect(readFileSync(path.join(root, "keep", "old"), "utf8")).toBe("old");
  });

  it("writes an object larger than its background syncs intact, and removes one that fails after them", async () => {
    // 80 MiB: the data is synced ahead of the commit (every 4 MiB) while the rest arrives.
    const data = randomBytes(80 * 1024 * 1024 + 11);
    expect(await driver.write("big/ok", Readable.from([data.subarray(0, 1000), data.subarray(1000)]))).toBe(
      data.length,
    );
    expect(readFileSync(path.join(root, "big", "ok")).equals(data)).toBe(true);
    await expect(driver.write("big/failed", bodyThatFails(data, new Error("cut")))).rejects.toThrow("cut");
    expect(tree(root)).toEqual(["big", "big/ok"]);
  });

  it("hides a write in progress, temporary file included, until its body ends", async () => {
    const body = new PassThrough();
    const writing = driver.write("wip/object", body);
    body.write(Buffer.alloc(5 * 1024 * 1024, 1));

    // Wait (bounded) until the temporary file is on disk, so the listing below has one to skip.
    const temporaries = (): string[] => (existsSync(path.join(root, "wip")) ? readdirSync(path.join(root, "wip")) : []);
    for (let i = 0; i < 200 && temporaries().length === 0; i++) await sleep(10);
    expect(temporaries()).toHaveLength(1);
    expect(temporaries()[0]).not.toBe("object");

    expect(await listPaths(driver, "wip")).toEqual([]);
    expect(await driver.stat("wip/object")).toBeUndefined();
    await expect(driver.read("wip/object")).rejects.toBeInstanceOf(ObjectNotFoundError);

    body.end(Buffer.from("tail"));
    expect(await writing).toBe(5 * 1024 * 1024 + 4);
    expect(readdirSync(path.join(root, "wip"))).toEqual(["object"]);
    expect(await listPaths(driver, "wip")).toEqual(["wip/object"]);
  });

  it("does not list leftover temporary files (from a crash)", async () => {
    await driver.writeBytes("s/object", Buffer.from("1"));
    writeFileSync(path.join(root, "s", ".tmp~left-over"), "partial");
    expect(await listPaths(driver, "s")).toEqual(["s/object"]);
  });

  it("removes directories left empty by a delete, up to but not including the root", async () => {
    await driver.writeBytes("p/q/r/object", Buffer.from("1"));
    await driver.writeBytes("p/keep", Buffer.from("2"));
    await driver.delete("p/q/r/object");
    expect(tree(root)).toEqual(["p", "p/keep"]);
    await driver.delete("p/keep");
    expect(tree(root)).toEqual([]);
    expect(existsSync(root)).toBe(true);
  });

  it("keeps writing while deletes prune the same directories", async () => {
    for (let round = 0; round < 50; round++) {
      await driver.writeBytes("prune/dir/other", Buffer.from("x"));
      await Promise.all([
        driver.writeBytes(`prune/dir/object-${round}`, Buffer.from("y")),
        driver.delete("prune/dir/other"),
      ]);
      expect((await driver.readBytes(`prune/dir/object-${round}`, 1)).toString()).toBe("y");
      await driver.delete(`prune/dir/object-${round}`);
    }
    expect(tree(root)).toEqual([]);
  });

  describe("symlinks (never followed below the root)", () => {
    it("does not read, list or delete through a directory symlink pointing outside", async () => {
      symlinkSync(outside, path.join(root, "escape"));
      mkdirSync(path.join(root, "n"));
      symlinkSync(outside, path.join(root, "n", "link"));

      for (const object of ["escape/secret", "n/link/secret"]) {
        await expect(driver.read(object)).rejects.toBeInstanceOf(ObjectNotFoundError);
        await expect(driver.readBytes(object, 100)).rejects.toBeInstanceOf(ObjectNotFoundError);
        expect(await driver.stat(object)).toBeUndefined();
        await driver.delete(object);
      }
      expect(await listPaths(driver, "escape")).toEqual([]);
      expect(await listPaths(driver, "n")).toEqual([]);
      expect(readFileSync(path.join(outside, "secret"), "utf8")).toBe("outside the root");
    });

    it("refuses to write through a directory symlink, creating nothing outside", async () => {
      symlinkSync(outside, path.join(root, "escape"));
      await expect(driver.writeBytes("escape/new", Buffer.from("x"))).rejects.toBeInstanceOf(SymlinkRefusedError);
      await expect(driver.write("escape/sub/new", Readable.from([Buffer.from("x")]))).rejects.toBeInstanceOf(
        SymlinkRefusedError,
      );
      await expect(driver.writeBytes("escape/secret", Buffer.from("x"))).rejects.toBeInstanceOf(SymlinkRefusedError);
      expect(tree(outside)).toEqual(["secret"]);
      expect(readFileSync(path.join(outside, "secret"), "utf8")).toBe("outside the root");
    });

    it("does not read a file symlink, and replaces the link itself on write", async () => {
      mkdirSync(path.join(root, "f"));
      symlinkSync(path.join(outside, "secret"), path.join(root, "f", "link"));
      await driver.writeBytes("f/real", Buffer.from("mine"));

      await expect(driver.read("f/link")).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(driver.read("f/link", { offset: 0, length: 1 })).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect(await driver.stat("f/link")).toBeUndefined();
      expect(await listPaths(driver, "f")).toEqual(["f/real"]);
      await driver.delete("f/link");
      expect(lstatSync(path.join(root, "f", "link")).isSymbolicLink()).toBe(true);

      await driver.writeBytes("f/link", Buffer.from("replaced"));
      expect(lstatSync(path.join(root, "f", "link")).isFile()).toBe(true);
      expect((await driver.readBytes("f/link", 100)).toString()).toBe("replaced");
      expect(readFileSync(path.join(outside, "secret"), "utf8")).toBe("outside the root");
    });

    it("does not follow a symlink even when it points inside the root", async () => {
      await driver.writeBytes("real/object", Buffer.from("1"));
      symlinkSync(path.join(root, "real"), path.join(root, "alias"));
      await expect(driver.read("alias/object")).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect(await listPaths(driver, "alias")).toEqual([]);
    });

    it("works under a root that is itself reached through a symlink", async () => {
      const link = path.join(outside, "root-link");
      symlinkSync(root, link);
      const linked = new FilesystemDriver(link);
      await linked.writeBytes("x/y", Buffer.from("through the link"));
      expect((await readAll(await linked.read("x/y"))).toString()).toBe("through the link");
      expect(await listPaths(linked, "x")).toEqual(["x/y"]);
      expect(readFileSync(path.join(root, "x", "y"), "utf8")).toBe("through the link");
    });
  });
});

describe("writing gathered chunks", () => {
  it("finishes what short writes left, from the right byte of the right chunk", async () => {
    const written = Buffer.alloc(40);
    let calls = 0;
    // A file that takes at most 7 bytes per call, as a nearly full disk or a signal can cause.
    const handle = {
      writev: async (buffers: Uint8Array[], position: number) => {
        calls++;
        let at = position;
        let taken = 0;
        for (const buffer of buffers) {
          const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
          const take = Math.min(bytes.length, 7 - taken);
          bytes.copy(written, at, 0, take);
          at += take;
          taken += take;
          if (taken === 7) break;
        }
        return { bytesWritten: taken };
      },
    };
    const chunks = [Buffer.from("abc"), Buffer.from("defghijkl"), Buffer.from(""), Buffer.from("mnopqrstuvwxyz")];
    await writeAllChunks(handle, chunks, 5);
    expect(written.subarray(5, 31).toString()).toBe("abcdefghijklmnopqrstuvwxyz");
    expect(calls).toBe(4);
  });
});
