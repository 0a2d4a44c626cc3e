// The tar format as bundles use it: 512-byte POSIX ustar headers, with PAX extended headers for
// what ustar cannot hold (names longer than its fields, sizes of 8 GiB and more). Reading also
// takes what other writers produce: GNU long names, GNU base-256 sizes, old-style checksums.
// Nothing here touches the filesystem: archive names are only ever looked up, never extracted,
// so path traversal and link tricks cannot reach a disk.

export const BLOCK = 512;
/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);
/** The largest size an 11-digit octal field holds: 8 GiB - 1. */
const MAX_OCTAL_SIZE = 0o77777777777;

export type EntryType =
  "file" | "directory" | "symlink" | "hardlink" | "pax" | "pax-global" | "gnu-long-name" | "other";

export interface RawHeader {
  readonly name: string;
  readonly type: EntryType;
  readonly size: number;
  readonly linkName: string;
}

export class TarFormatError extends Error {
  override name = "TarFormatError";
}

export function paddingOf(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function text(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? length : nul).toString("utf8");
}

/** An octal number field, or GNU's base-256 form (high bit set) for large values. */
function numeric(block: Buffer, offset: number, length: number, what: string): number {
  const field = block.subarray(offset, offset + length);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    if (field[0] === 0xff) throw new TarFormatError(`negative ${what} in a tar header`);
    let value = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + (field[i] ?? 0);
    if (!Number.isSafeInteger(value)) throw new TarFormatError(`${what} too large in a tar header`);
    return value;
  }
  const digits = text(block, offset, length).trim();
  if (digits === "") return 0;
  if (!/^[0-7]+$/.test(digits)) throw new TarFormatError(`malformed ${what} ${JSON.stringify(digits)} in a tar header`);
  return parseInt(digits, 8);
}

function typeOf(flag: string): EntryType {
  switch (flag) {
    case "0":
    case "\0":
    case "7": // contiguous file: a regular file to every reader
      return "file";
    case "5":
      return "directory";
    case "2":
      return "symlink";
    case "1":
      return "hardlink";
    case "x":
      return "pax";
    case "g":
      return "pax-global";
    case "L":
      return "gnu-long-name";
    case "S":
      throw new TarFormatError("GNU sparse files are not supported in an image archive");
    default:
      return "other";
  }
}

export function isZeroBlock(block: Buffer): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

/** Parses one header block; the checksum must match (unsigned, or signed as old tars wrote it). */
export function parseHeader(block: Buffer): RawHeader {
  if (block.length !== BLOCK) throw new TarFormatError("short tar header");
  const recorded = numeric(block, 148, 8, "checksum");
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (recorded !== unsigned && recorded !== signed) {
    throw new TarFormatError("tar header checksum mismatch: the archive is corrupt or not a tar file");
  }
  const magic = text(block, 257, 6);
  const prefix = magic === "ustar" ? text(block, 345, 155) : "";
  const name = text(block, 0, 100);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    type: typeOf(String.fromCharCode(block[156] ?? 0)),
    size: numeric(block, 124, 12, "size"),
    linkName: text(block, 157, 100),
  };
}

/** The records of a PAX extended header ("<length> <key>=<value>\n" each). */
export function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number(data.subarray(offset, space).toString("ascii"));
    if (!Number.isSafeInteger(length) || length <= space - offset || offset + length > data.length) {
      throw new TarFormatError("malformed PAX extended header");
    }
    const record = data.subarray(space + 1, offset + length - 1).toString("utf8");
    const equals = record.indexOf("=");
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return records;
}

function writeText(block: Buffer, value: string, offset: number, length: number): void {
  block.write(value, offset, length, "utf8");
}

function writeOctal(block: Buffer, value: number, offset: number, length: number): void {
  writeText(block, `${value.toString(8).padStart(length - 1, "0")}\0`, offset, length);
}

function ustarBlock(name: string, prefix: string, size: number, type: string, mode: number, mtime: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeText(block, name, 0, 100);
  writeOctal(block, mode, 100, 8);
  writeOctal(block, 0, 108, 8);
  writeOctal(block, 0, 116, 8);
  writeOctal(block, size, 124, 12);
  writeOctal(block, mtime, 136, 12);
  block.fill(0x20, 148, 156);
  writeText(block, type, 156, 1);
  writeText(block, "ustar\0", 257, 6);
  writeText(block, "00", 263, 2);
  writeText(block, prefix, 345, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  writeText(block, `${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return block;
}

/** Splits a name into ustar's prefix and name fields, when it fits. */
function splitName(name: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { prefix: "", name };
  for (let slash = name.indexOf("/"); slash !== -1; slash = name.indexOf("/", slash + 1)) {
    const prefix = name.slice(0, slash);
    const rest = name.slice(slash + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== "")
      return { prefix, name: rest };
  }
  return undefined;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length++;
  return `${length}${body}`;
}

/**
 * The header blocks of one entry: a ustar header, preceded by a PAX header when the name or the
 * size does not fit ustar's fields.
 */
export function entryHeader(entry: { name: string; size: number; type: "file" | "directory"; mtime: number }): Buffer {
  const split = splitName(entry.name);
  const records = [
    ...(split ? [] : [paxRecord("path", entry.name)]),
    ...(entry.size > MAX_OCTAL_SIZE ? [paxRecord("size", String(entry.size))] : []),
  ];
  const typeFlag = entry.type === "directory" ? "5" : "0";
  const mode = entry.type === "directory" ? 0o755 : 0o644;
  const fitted = split ?? { prefix: "", name: entry.name.slice(-100).replace(/^\/+/, "") };
  const header = ustarBlock(
    fitted.name,
    fitted.prefix,
    entry.size > MAX_OCTAL_SIZE ? 0 : entry.size,
    typeFlag,
    mode,
    entry.mtime,
  );
  if (records.length === 0) return header;
  const pax = Buffer.from(records.join(""), "utf8");
  const paxHeader = ustarBlock("PaxHeader", "", pax.length, "x", 0o644, entry.mtime);
  return Buffer.concat([paxHeader, pax, Buffer.alloc(paddingOf(pax.length)), header]);
}
