// Reads a tar archive as a stream, entry by entry, without holding more than one chunk of it:
// an import reads a bundle straight from an HTTP request body. Each entry's body is an async
// iterable of the bytes as they arrive; whatever a consumer leaves unread is skipped before the
// next header. Extended headers (PAX, GNU long names) are applied to the entry they precede.

import { BLOCK, isZeroBlock, paddingOf, parseHeader, parsePax, TarFormatError, type EntryType } from "./tar-format.ts";

export interface TarEntry {
  /** The archive path, with any leading "./" removed. */
  readonly name: string;
  readonly type: Exclude<EntryType, "pax" | "pax-global" | "gnu-long-name">;
  readonly size: number;
  /** Target of a symbolic or hard link. */
  readonly linkName: string;
  /** The entry's bytes; consume it (or not) before asking for the next entry. */
  readonly body: AsyncIterable<Buffer>;
}

/** Extended header bodies are small; larger ones mean a corrupt or hostile archive. */
const MAX_EXTENDED_HEADER = 1024 * 1024;

/** Pulls exact byte counts out of a stream of chunks of any size. */
class ByteReader {
  private readonly source: AsyncIterator<Buffer | Uint8Array | string>;
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes handed out so far: where in the archive the reader is. */
  offset = 0;

  constructor(source: AsyncIterable<Buffer | Uint8Array | string>) {
    this.source = source[Symbol.asyncIterator]();
  }

  /** The next chunk of at most `max` bytes, or undefined at the end of the stream. */
  async next(max: number): Promise<Buffer | undefined> {
    while (this.pending.length === 0) {
      const result = await this.source.next();
      if (result.done) return undefined;
      const value = result.value;
      this.pending =
        typeof value === "string" ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.length);
    }
    const chunk = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(chunk.length);
    this.offset += chunk.length;
    return chunk;
  }

  /** Exactly `length` bytes; undefined when the stream ends before the first one. */
  async exactly(length: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < length) {
      const chunk = await this.next(length - have);
      if (!chunk) {
        if (have === 0) return undefined;
        throw new TarFormatError("the archive is truncated");
      }
      parts.push(chunk);
      have += chunk.length;
    }
    return parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts);
  }

  async skip(length: number): Promise<void> {
    let left = length;
    while (left > 0) {
      const chunk = await this.next(left);
      if (!chunk) throw new TarFormatError("the archive is truncated");
      left -= chunk.length;
    }
  }
}

/** Reads an extended header's body (PAX records or a GNU long name) and its padding. */
async function readExtension(reader: ByteReader, size: number): Promise<Buffer> {
  if (size > MAX_EXTENDED_HEADER) throw new TarFormatError("tar extended header too large");
  const data = (await reader.exactly(size)) ?? Buffer.alloc(0);
  if (data.length !== size) throw new TarFormatError("the archive is truncated");
  await reader.skip(paddingOf(size));
  return data;
}

function normalize(name: string): string {
  return name.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}

/**
 * The entries of a tar archive. The archive must end with its end-of-archive marker: one that
 * stops short is truncated (an interrupted copy), and is refused rather than read as complete.
 */
export async function* readTar(source: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(source);
  let pax = new Map<string, string>();
  let longName: string | undefined;
  for (;;) {
    const block = await reader.exactly(BLOCK);
    if (!block) throw new TarFormatError("the archive is truncated: it ends without its end-of-archive marker");
    if (isZeroBlock(block)) return;
    const header = parseHeader(block);
    if (header.type === "pax" || header.type === "pax-global" || header.type === "gnu-long-name") {
      const data = await readExtension(reader, header.size);
      if (header.type === "pax") pax = parsePax(data);
      if (header.type === "gnu-long-name") longName = data.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    const paxSize = pax.get("size");
    const size = paxSize !== undefined ? Number(paxSize) : header.size;
    if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError("malformed size in a PAX header");
    const name = normalize(pax.get("path") ?? longName ?? header.name);
    const linkName = pax.get("linkpath") ?? header.linkName;
    pax = new Map();
    longName = undefined;
    // Links and directories carry no bytes whatever their size field says.
    const bodySize = header.type === "file" || header.type === "other" ? size : 0;
    let remaining = bodySize;
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: async function* () {
        while (remaining > 0) {
          const chunk = await reader.next(remaining);
          if (!chunk) throw new TarFormatError(`the archive is truncated inside ${name}`);
          remaining -= chunk.length;
          yield chunk;
        }
      },
    };
    yield { name, type: header.type, size: bodySize, linkName, body };
    await reader.skip(remaining + paddingOf(bodySize));
  }
}

/** Reads an entry's whole body into memory (small files only: the caller checks the size). */
export async function readEntry(entry: TarEntry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of entry.body) chunks.push(chunk);
  return Buffer.concat(chunks);
}
