// Tar archives on disk: writing a bundle (entries appended at known positions, so that a blob
// whose download failed halfway can be cut off and fetched again) and reading one with random
// access (headers only are scanned; bodies are read where they lie, as often as needed).

import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import {
  BLOCK,
  END_OF_ARCHIVE,
  entryHeader,
  isZeroBlock,
  paddingOf,
  parseHeader,
  parsePax,
  TarFormatError,
  type EntryType,
} from "./tar-format.ts";

export class TarFileWriter {
  private readonly file: FileHandle;
  private readonly mtime: number;
  /** Where the next byte goes. */
  position = 0;

  private constructor(file: FileHandle, mtime: number) {
    this.file = file;
    this.mtime = mtime;
  }

  /** Creates (or truncates) the file; it is readable by its owner only until renamed. */
  static async create(path: string, createdAt: Date): Promise<TarFileWriter> {
    return new TarFileWriter(await open(path, "w", 0o600), Math.floor(createdAt.getTime() / 1000));
  }

  private async write(data: Buffer): Promise<void> {
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.file.write(data, written, data.length - written, this.position + written);
      written += bytesWritten;
    }
    this.position += data.length;
  }

  async directory(name: string): Promise<void> {
    await this.write(entryHeader({ name: `${name}/`, size: 0, type: "directory", mtime: this.mtime }));
  }

  async addFile(name: string, data: Buffer): Promise<void> {
    await this.begin(name, data.length);
    await this.write(data);
    await this.end(data.length);
  }

  /** Writes an entry's header; its `size` bytes follow through `chunk`, then `end`. */
  async begin(name: string, size: number): Promise<void> {
    await this.write(entryHeader({ name, size, type: "file", mtime: this.mtime }));
  }

  async chunk(data: Buffer): Promise<void> {
    await this.write(data);
  }

  async end(size: number): Promise<void> {
    await this.write(Buffer.alloc(paddingOf(size)));
  }

  /** Cuts the file back to `position` (an entry that must be written again). */
  async rewind(position: number): Promise<void> {
    await this.file.truncate(position);
    this.position = position;
  }

  /** Writes the end-of-archive marker, flushes to disk and closes. */
  async finish(): Promise<void> {
    await this.write(END_OF_ARCHIVE);
    await this.file.sync();
    await this.file.close();
  }

  async close(): Promise<void> {
    await this.file.close().catch(() => undefined);
  }
}

export interface TarFileEntry {
  readonly name: string;
  readonly type: EntryType;
  readonly size: number;
  readonly linkName: string;
  /** Position of the entry's first byte in the file. */
  readonly offset: number;
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const { bytesRead } = await file.read(buffer, read, length - read, position + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  return buffer.subarray(0, read);
}

/**
 * The entries of a tar file, by name, found by reading its headers only. Links are kept as they
 * are; the caller resolves them.
 */
export async function scanTarFile(file: FileHandle): Promise<Map<string, TarFileEntry>> {
  const entries = new Map<string, TarFileEntry>();
  const { size: fileSize } = await file.stat();
  let position = 0;
  let pax = new Map<string, string>();
  let longName: string | undefined;
  for (;;) {
    const block = await readAt(file, position, BLOCK);
    if (block.length < BLOCK)
      throw new TarFormatError("the archive is truncated: it ends without its end-of-archive marker");
    if (isZeroBlock(block)) return entries;
    const header = parseHeader(block);
    position += BLOCK;
    if (position + header.size > fileSize) throw new TarFormatError("the archive is truncated");
    if (header.type === "pax" || header.type === "pax-global" || header.type === "gnu-long-name") {
      if (header.size > 1024 * 1024) throw new TarFormatError("tar extended header too large");
      const data = await readAt(file, position, header.size);
      if (header.type === "pax") pax = parsePax(data);
      if (header.type === "gnu-long-name") longName = data.toString("utf8").replace(/\0+$/, "");
      position += header.size + paddingOf(header.size);
      continue;
    }
    const size = Number(pax.get("size") ?? header.size);
    if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError("malformed size in a PAX header");
    const name = (pax.get("path") ?? longName ?? header.name).replace(/^(\.\/)+/, "").replace(/\/+$/, "");
    const bodySize = header.type === "file" || header.type === "other" ? size : 0;
    if (position + bodySize > fileSize) throw new TarFormatError(`the archive is truncated inside ${name}`);
    entries.set(name, {
      name,
      type: header.type,
      size: bodySize,
      linkName: pax.get("linkpath") ?? header.linkName,
      offset: position,
    });
    pax = new Map();
    longName = undefined;
    position += bodySize + paddingOf(bodySize);
  }
}

export { readAt };
