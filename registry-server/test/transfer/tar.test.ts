// The tar reader and writer against each other and against GNU tar: long names through PAX
// headers, empty files, directories, links, truncated and corrupt archives refused.

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { scanTarFile, TarFileWriter } from "../../src/transfer/tar-file.ts";
import { TarFormatError } from "../../src/transfer/tar-format.ts";
import { readEntry, readTar } from "../../src/transfer/tar-reader.ts";
import { tempDir } from "../helpers.ts";

const work = tempDir("tar");
afterAll(() => work.remove());

const LONG = `blobs/sha512/${"ab".repeat(64)}`;

async function writeSample(file: string): Promise<void> {
  const writer = await TarFileWriter.create(file, new Date("2024-01-01T00:00:00Z"));
  await writer.addFile("oci-layout", Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  await writer.directory("blobs");
  await writer.addFile("empty", Buffer.alloc(0));
  await writer.addFile(LONG, Buffer.from("long name"));
  // An entry written, cut off (a broken download) and written again.
  const start = writer.position;
  await writer.begin("retried", 1000);
  await writer.chunk(Buffer.alloc(300, 1));
  await writer.rewind(start);
  await writer.addFile("retried", Buffer.alloc(1000, 2));
  await writer.finish();
}

/** Chunks of awkward sizes, as a network delivers them. */
async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

async function entries(data: Buffer, chunkSize = 77): Promise<Array<{ name: string; type: string; body: string }>> {
  const out = [];
  for await (const entry of readTar(chunked(data, chunkSize))) {
    out.push({ name: entry.name, type: entry.type, body: (await readEntry(entry)).toString("latin1") });
  }
  return out;
}

describe("tar", () => {
  it("reads back what it writes, from a stream and from the file", async () => {
    const file = path.join(work.dir, "sample.tar");
    await writeSample(file);
    const data = readFileSync(file);
    expect(data.length % 512).toBe(0);
    const read = await entries(data);
    expect(read.map((e) => [e.name, e.type])).toEqual([
      ["oci-layout", "file"],
      ["blobs", "directory"],
      ["empty", "file"],
      [LONG, "file"],
      ["retried", "file"],
    ]);
    expect(read[3]?.body).toBe("long name");
    expect(read[4]?.body).toBe("\u0002".repeat(1000));

    const handle = await open(file, "r");
    const scanned = await scanTarFile(handle);
    await handle.close();
    const long = scanned.get(LONG);
    expect(long?.size).toBe(9);
    expect(data.subarray(long?.offset, (long?.offset ?? 0) + 9).toString()).toBe("long name");
  });

  it("is read by GNU tar, and reads GNU tar's archives with long names and links", async () => {
    const file = path.join(work.dir, "sample.tar");
    await writeSample(file);
    const listed = execFileSync("tar", ["-tf", file], { encoding: "utf8" }).trim().split("\n");
    expect(listed).toEqual(["oci-layout", "blobs/", "empty", LONG, "retried"]);
    const extracted = path.join(work.dir, "extracted");
    mkdirSync(extracted);
    execFileSync("tar", ["-xf", file, "-C", extracted]);
    expect(readFileSync(path.join(extracted, LONG), "utf8")).toBe("long name");

    const source = path.join(work.dir, "gnu-source");
    const deep = `${"d".repeat(120)}/${"f".repeat(120)}`;
    mkdirSync(path.join(source, "d".repeat(120)), { recursive: true });
    writeFileSync(path.join(source, deep), "deep");
    writeFileSync(path.join(source, "layer.tar"), "layer");
    symlinkSync("layer.tar", path.join(source, "link.tar"));
    for (const format of ["gnu", "posix"]) {
      const archive = path.join(work.dir, `${format}.tar`);
      execFileSync("tar", ["--format", format, "-cf", archive, "-C", source, "."]);
      const read = await entries(readFileSync(archive), 1000);
      expect(read.find((e) => e.name === deep)?.body).toBe("deep");
      const link = read.find((e) => e.name === "link.tar");
      expect(link?.type).toBe("symlink");
    }
  });

  it("refuses a truncated archive and a corrupt header", async () => {
    const file = path.join(work.dir, "sample.tar");
    await writeSample(file);
    const data = readFileSync(file);
    await expect(entries(data.subarray(0, data.length - 1024))).rejects.toThrow(TarFormatError);
    await expect(entries(data.subarray(0, 700))).rejects.toThrow(/truncated/);
    const corrupt = Buffer.from(data);
    corrupt[10] = (corrupt[10] ?? 0) ^ 0xff;
    await expect(entries(corrupt)).rejects.toThrow(/checksum/);
  });
});
