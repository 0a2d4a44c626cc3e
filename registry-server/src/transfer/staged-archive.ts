// What the server keeps of an archive it reads as a stream, before it knows where each part goes:
// small files in memory, larger ones written to storage as blob parts (verified against the
// digest their path names, or hashed when the path names none), links as aliases. Staged parts
// are invisible until a blob record takes them; those no plan used are deleted at the end.
// Until the stream has ended, a file not seen yet is "not yet", not "absent".

import { createHash } from "node:crypto";
import * as path from "node:path";
import { newPartPath } from "../content/layout.ts";
import { verifiedBody } from "../content/verified-body.ts";
import { digestOf, parseDigest } from "../content/digest.ts";
import type { BlobPart } from "../metadata/metadata-store.ts";
import type { StorageDriver } from "../storage/storage-driver.ts";
import { PlanError, type ArchiveContents } from "./archive-types.ts";
import { digestOfPath } from "./bundle-format.ts";
import { OversizedEntryError } from "./import-limits.ts";
import type { TarEntry } from "./tar-reader.ts";

/** Thrown by reads of a file the stream has not delivered yet. */
export class NotYetSeen extends Error {
  override name = "NotYetSeen";
  readonly file: string;
  constructor(file: string) {
    super(`${file} has not arrived yet`);
    this.file = file;
  }
}

export interface StagedFile {
  readonly digest: string;
  readonly size: number;
  readonly parts: BlobPart[];
}

/** A blob path's content that does not match its digest: the archive is corrupt or tampered with. */
export class CorruptArchiveError extends Error {
  override name = "CorruptArchiveError";
}

export class StagedArchive implements ArchiveContents {
  private readonly driver: StorageDriver;
  private readonly memory = new Map<string, Buffer>();
  private readonly staged = new Map<string, StagedFile>();
  private readonly links = new Map<string, string>();
  /** Set once the whole stream was read: from then on, unseen means absent. */
  complete = false;
  memoryBytes = 0;

  constructor(driver: StorageDriver) {
    this.driver = driver;
  }

  /** Follows links (a `docker save` layer shared between images is a link to the first copy). */
  resolve(name: string): string {
    let current = name;
    for (let hops = 0; hops < 16; hops++) {
      const target = this.links.get(current);
      if (target === undefined) return current;
      current = target;
    }
    throw new PlanError(`${name}: too many levels of links`);
  }

  link(entry: TarEntry): void {
    const target =
      entry.type === "symlink"
        ? path.posix.normalize(path.posix.join(path.posix.dirname(entry.name), entry.linkName))
        : path.posix.normalize(entry.linkName);
    this.links.set(entry.name, target.replace(/^(\.\/)+/, ""));
  }

  has(name: string): boolean {
    const file = this.resolve(name);
    return this.memory.has(file) || this.staged.has(file);
  }

  /** Keeps a small file's bytes, checked against the digest its path names. */
  keep(name: string, data: Buffer): void {
    const named = digestOfPath(name);
    if (named !== undefined) {
      const parsed = parseDigest(named);
      if (typeof parsed !== "string" && digestOf(parsed.algorithm, data) !== named) {
        throw new CorruptArchiveError(`${name} does not match its digest: the archive is corrupt`);
      }
    }
    this.memory.set(name, data);
    this.memoryBytes += data.length;
  }

  /** Writes a file's bytes to storage, verified against its path's digest or hashed. */
  async stage(entry: TarEntry): Promise<StagedFile> {
    const named = digestOfPath(entry.name);
    const parsed = named === undefined ? undefined : parseDigest(named);
    const algorithm = parsed !== undefined && typeof parsed !== "string" ? parsed.algorithm : "sha256";
    const hash = createHash(algorithm);
    const verified = verifiedBody(entry.body, {
      hash,
      algorithm,
      expectedBytes: entry.size,
      ...(named !== undefined && { expectedDigest: named }),
    });
    const partPath = newPartPath();
    let size: number;
    try {
      size = await this.driver.write(partPath, verified);
    } catch (err) {
      if (named !== undefined && (err as { code?: string }).code === "DIGEST_INVALID") {
        throw new CorruptArchiveError(`${entry.name} does not match its digest: the archive is corrupt`);
      }
      throw err;
    }
    const file: StagedFile = {
      digest: named ?? `${algorithm}:${hash.digest("hex")}`,
      size,
      parts: size === 0 ? [] : [{ path: partPath, size }],
    };
    if (size === 0) await this.driver.delete(partPath);
    this.staged.set(entry.name, file);
    return file;
  }

  /** A small file's bytes; OversizedEntryError when it is larger than `maxBytes` (not "absent"). */
  async read(name: string, maxBytes: number): Promise<Buffer | undefined> {
    const file = this.resolve(name);
    const held = this.memory.get(file);
    if (held) {
      if (held.length > maxBytes) throw new OversizedEntryError(name, held.length, maxBytes);
      return held;
    }
    const staged = this.staged.get(file);
    if (staged) {
      if (staged.size > maxBytes) throw new OversizedEntryError(name, staged.size, maxBytes);
      const chunks: Buffer[] = [];
      for (const part of staged.parts) chunks.push(await this.driver.readBytes(part.path, maxBytes));
      return Buffer.concat(chunks);
    }
    if (!this.complete) throw new NotYetSeen(file);
    return undefined;
  }

  async digest(name: string): Promise<{ digest: string; size: number } | undefined> {
    const file = this.resolve(name);
    const staged = this.staged.get(file);
    if (staged) return { digest: staged.digest, size: staged.size };
    const held = this.memory.get(file);
    if (held) return { digest: digestOf("sha256", held), size: held.length };
    if (!this.complete) throw new NotYetSeen(file);
    return undefined;
  }

  /** A file's content as the importer stores it: bytes in memory, or parts staged in storage. */
  peek(name: string): { kind: "memory"; data: Buffer } | { kind: "staged"; file: StagedFile } | undefined {
    const file = this.resolve(name);
    const held = this.memory.get(file);
    if (held) return { kind: "memory", data: held };
    const staged = this.staged.get(file);
    return staged && { kind: "staged", file: staged };
  }

  /** Hands a staged file's parts over to whoever commits them: they are no longer deleted here. */
  take(name: string): void {
    this.staged.delete(this.resolve(name));
  }

  /** Deletes every staged part no blob took. */
  async discard(): Promise<void> {
    const parts = [...this.staged.values()].flatMap((f) => f.parts);
    this.staged.clear();
    for (const part of parts) await this.driver.delete(part.path).catch(() => undefined);
  }
}
