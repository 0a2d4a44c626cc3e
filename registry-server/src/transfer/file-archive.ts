// An image archive on disk, read with random access: the headers are scanned once, then small
// files are read where they lie and blobs are streamed from their place in the file, in any
// order and as often as an import needs (a rerun after an interruption reads only what is
// missing). The command-line import reads archives this way.

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import * as path from "node:path";
import { Readable } from "node:stream";
import { digestOf, parseDigest } from "../content/digest.ts";
import type { ArchiveContents } from "./archive-types.ts";
import { digestOfPath } from "./bundle-format.ts";
import { OversizedEntryError } from "./import-limits.ts";
import { readAt, scanTarFile, type TarFileEntry } from "./tar-file.ts";
import { TarFormatError } from "./tar-format.ts";

export class FileArchive implements ArchiveContents {
  readonly file: string;
  private readonly handle: FileHandle;
  private readonly entries: Map<string, TarFileEntry>;
  private readonly digests = new Map<string, { digest: string; size: number }>();

  private constructor(file: string, handle: FileHandle, entries: Map<string, TarFileEntry>) {
    this.file = file;
    this.handle = handle;
    this.entries = entries;
  }

  static async open(file: string): Promise<FileArchive> {
    const handle = await open(file, "r");
    try {
      const magic = await readAt(handle, 0, 2);
      if (magic[0] === 0x1f && magic[1] === 0x8b) {
        throw new TarFormatError(`${file} is gzip-compressed: decompress it first (gunzip), or send it with --via-api`);
      }
      return new FileArchive(file, handle, await scanTarFile(handle));
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** The regular file a name leads to, following links. */
  private entry(name: string): TarFileEntry | undefined {
    let current = name;
    for (let hops = 0; hops < 16; hops++) {
      const entry = this.entries.get(current);
      if (!entry) return undefined;
      if (entry.type === "file") return entry;
      if (entry.type === "symlink") {
        current = path.posix.normalize(path.posix.join(path.posix.dirname(current), entry.linkName));
      } else if (entry.type === "hardlink") {
        current = path.posix.normalize(entry.linkName);
      } else {
        return undefined;
      }
      current = current.replace(/^(\.\/)+/, "");
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.entry(name) !== undefined;
  }

  size(name: string): number | undefined {
    return this.entry(name)?.size;
  }

  /** A small file's bytes; OversizedEntryError when it is larger than `maxBytes` (not "absent"). */
  async read(name: string, maxBytes: number): Promise<Buffer | undefined> {
    const entry = this.entry(name);
    if (!entry) return undefined;
    // Refused from the size its header gives: a 1 GiB index.json is never read into memory.
    if (entry.size > maxBytes) throw new OversizedEntryError(name, entry.size, maxBytes);
    const data = await readAt(this.handle, entry.offset, entry.size);
    const named = digestOfPath(name);
    const parsed = named === undefined ? undefined : parseDigest(named);
    if (parsed !== undefined && typeof parsed !== "string" && digestOf(parsed.algorithm, data) !== named) {
      throw new TarFormatError(`${name} does not match its digest: the archive is corrupt`);
    }
    return data;
  }

  async digest(name: string): Promise<{ digest: string; size: number } | undefined> {
    const known = this.digests.get(name);
    if (known) return known;
    const entry = this.entry(name);
    if (!entry) return undefined;
    const hash = createHash("sha256");
    for await (const chunk of this.stream(name)) hash.update(chunk as Buffer);
    const result = { digest: `sha256:${hash.digest("hex")}`, size: entry.size };
    this.digests.set(name, result);
    return result;
  }

  /** A file's bytes, read from its place in the archive. */
  stream(name: string): Readable {
    const entry = this.entry(name);
    if (!entry) throw new TarFormatError(`the archive has no ${name}`);
    // An empty range cannot be expressed with start and end.
    if (entry.size === 0) return Readable.from([]);
    return createReadStream(this.file, { start: entry.offset, end: entry.offset + entry.size - 1 });
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
