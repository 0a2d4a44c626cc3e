// Trivy's database, extracted from its artifact into a directory trivy opens as its cache
// (`<dir>/db/trivy.db` and `<dir>/db/metadata.json`), one directory per database layer:
//
//   <root>/<layer hex>/db/{trivy.db,metadata.json}   a database, complete (renamed into place)
//   <root>/.partial-<random>/…                        an extraction under way, or left by a crash
//
// A scan leases the current database for as long as its trivy process runs; a newer database
// found in the repository becomes current for the scans that start after it, and the one it
// supersedes is removed once its last lease is released. So the cache holds one database, two
// while scans still read the previous one. The repository is looked at again at most every
// `checkIntervalMs`; a failed look keeps the database in hand.

import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import * as path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type { Logger } from "../../logger.ts";
import { readTar } from "../../transfer/tar-reader.ts";
import { DatabaseArtifactError, type DatabaseArtifactSource } from "./database-artifact.ts";

/** Trivy v0.74.0 reads databases of this schema (trivy-db's db.SchemaVersion). */
export const DATABASE_SCHEMA_VERSION = 2;

const DATABASE_FILES = new Set(["trivy.db", "metadata.json"]);
/** metadata.json is a few dates: anything larger is not one. */
const MAX_METADATA_BYTES = 64 * 1024;

/** What the database in use says about itself (its metadata.json) and where it came from. */
export interface DatabaseInfo {
  /** The artifact layer's digest. */
  readonly digest: string;
  /** When Aqua built it: its age is counted from here. */
  readonly updatedAt: Date;
  /** When its publisher means to build the next one. */
  readonly nextUpdate: Date;
}

/** A database held for one scan: trivy's `--cache-dir`. Release it once trivy has exited. */
export interface DatabaseLease {
  readonly cacheDir: string;
  readonly info: DatabaseInfo;
  release(): void;
}

export class NoDatabaseError extends Error {
  override name = "NoDatabaseError";
}

interface Entry {
  readonly dir: string;
  readonly info: DatabaseInfo;
  leases: number;
  superseded: boolean;
}

export interface DatabaseCacheOptions {
  /** The directory the databases are extracted under (the server's data directory). */
  readonly root: string;
  readonly maxBytes: number;
  readonly checkIntervalMs: number;
  readonly log: Logger;
  readonly now?: () => number;
}

export class TrivyDatabaseCache {
  private readonly source: DatabaseArtifactSource;
  private readonly options: DatabaseCacheOptions;
  private readonly now: () => number;
  private current: Entry | undefined;
  private readonly entries = new Map<string, Entry>();
  private lastCheck = Number.NEGATIVE_INFINITY;
  private checking: Promise<void> | undefined;
  private started = false;

  constructor(source: DatabaseArtifactSource, options: DatabaseCacheOptions) {
    this.source = source;
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** The database in use, as last seen; undefined before one was found. */
  info(): DatabaseInfo | undefined {
    return this.current?.info;
  }

  /** Holds the current database for a scan, looking at the repository first when that is due. */
  async acquire(): Promise<DatabaseLease> {
    if (this.now() - this.lastCheck >= this.options.checkIntervalMs) await this.refresh();
    const entry = this.current;
    if (!entry) {
      throw new NoDatabaseError(
        `no Trivy database in ${this.source.name}: fill it through a proxy-cache project or an import`,
      );
    }
    entry.leases += 1;
    let released = false;
    return {
      cacheDir: entry.dir,
      info: entry.info,
      release: () => {
        if (released) return;
        released = true;
        entry.leases -= 1;
        this.removeIfUnused(entry);
      },
    };
  }

  /**
   * Looks at the repository now (one look at a time: callers during a look share it). A newer
   * database is extracted and becomes current; a failure is logged and the current one kept,
   * unless there is none.
   */
  async refresh(): Promise<DatabaseInfo | undefined> {
    this.checking ??= this.check().finally(() => {
      this.checking = undefined;
    });
    await this.checking;
    return this.current?.info;
  }

  private async check(): Promise<void> {
    const { log } = this.options;
    try {
      const artifact = await this.source.resolve();
      this.lastCheck = this.now();
      if (!this.started) {
        await this.sweep(artifact?.layer.digest);
        this.started = true;
      }
      if (!artifact) {
        if (this.current)
          log.warn({ repository: this.source.name }, "the Trivy database artifact is gone; the last one stays in use");
        return;
      }
      if (this.current?.info.digest === artifact.layer.digest) return;
      const entry =
        this.entries.get(artifact.layer.digest) ??
        (await this.adopt(artifact.layer.digest)) ??
        (await this.extract(artifact.layer.digest));
      this.entries.set(entry.info.digest, entry);
      const previous = this.current;
      entry.superseded = false;
      this.current = entry;
      log.info(
        { repository: this.source.name, digest: entry.info.digest, updatedAt: entry.info.updatedAt.toISOString() },
        "Trivy database in use",
      );
      if (previous && previous !== entry) {
        previous.superseded = true;
        this.removeIfUnused(previous);
      }
    } catch (err) {
      this.lastCheck = this.now();
      if (!this.current) throw err;
      log.warn(
        { err, repository: this.source.name },
        "could not look for a newer Trivy database; the current one stays in use",
      );
    }
  }

  /**
   * What an earlier run of the server left: the database still current is kept, partial
   * extractions and superseded databases go.
   */
  private async sweep(keep: string | undefined): Promise<void> {
    const { root } = this.options;
    await mkdir(root, { recursive: true, mode: 0o700 });
    for (const name of await readdir(root)) {
      if (keep !== undefined && name === entryName(keep)) continue;
      await rm(path.join(root, name), { recursive: true, force: true });
    }
  }

  /** A complete extraction of this layer already on disk (an earlier run's), or undefined. */
  private async adopt(digest: string): Promise<Entry | undefined> {
    const dir = path.join(this.options.root, entryName(digest));
    try {
      await stat(path.join(dir, "db", "trivy.db"));
      const info = parseMetadata(await readFile(path.join(dir, "db", "metadata.json"), "utf8"), digest);
      return { dir, info, leases: 0, superseded: false };
    } catch {
      return undefined;
    }
  }

  /** Extracts the layer into a directory of its own, renamed into place once complete. */
  private async extract(digest: string): Promise<Entry> {
    const { root, maxBytes } = this.options;
    const partial = path.join(root, `.partial-${randomBytes(8).toString("hex")}`);
    const dbDir = path.join(partial, "db");
    await mkdir(dbDir, { recursive: true, mode: 0o700 });
    try {
      const hash = createHash("sha256");
      const tap = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      const found = new Set<string>();
      await pipeline(await this.source.open(digest), tap, createGunzip(), async (tarStream: AsyncIterable<Buffer>) => {
        for await (const entry of readTar(tarStream)) {
          if (!DATABASE_FILES.has(entry.name) || entry.type !== "file" || found.has(entry.name)) continue;
          found.add(entry.name);
          const limit = entry.name === "metadata.json" ? MAX_METADATA_BYTES : maxBytes;
          let size = 0;
          const file = await open(path.join(dbDir, entry.name), "wx", 0o600);
          try {
            for await (const chunk of entry.body) {
              size += chunk.length;
              if (size > limit) {
                throw new DatabaseArtifactError(`the database's ${entry.name} is larger than ${limit} bytes`);
              }
              await file.write(chunk);
            }
          } finally {
            await file.close();
          }
        }
      });
      if (`sha256:${hash.digest("hex")}` !== digest) {
        throw new DatabaseArtifactError(`the database layer's bytes do not match its digest ${digest}`);
      }
      for (const name of DATABASE_FILES) {
        if (!found.has(name)) throw new DatabaseArtifactError(`the database layer has no ${name}`);
      }
      const info = parseMetadata(await readFile(path.join(dbDir, "metadata.json"), "utf8"), digest);
      const dir = path.join(root, entryName(digest));
      await rm(dir, { recursive: true, force: true });
      await rename(partial, dir);
      return { dir, info, leases: 0, superseded: false };
    } catch (err) {
      await rm(partial, { recursive: true, force: true });
      throw err;
    }
  }

  private removeIfUnused(entry: Entry): void {
    if (!entry.superseded || entry.leases > 0 || entry === this.current) return;
    this.entries.delete(entry.info.digest);
    rm(entry.dir, { recursive: true, force: true }).catch((err: unknown) =>
      this.options.log.warn({ err, dir: entry.dir }, "could not remove a superseded Trivy database"),
    );
  }
}

/** The directory of a layer's database: its hex digest. */
function entryName(digest: string): string {
  return digest.slice(digest.indexOf(":") + 1);
}

/** metadata.json (trivy-db's metadata.Metadata), checked against the schema trivy reads. */
export function parseMetadata(text: string, digest: string): DatabaseInfo {
  let raw: { Version?: unknown; UpdatedAt?: unknown; NextUpdate?: unknown };
  try {
    raw = JSON.parse(text) as typeof raw;
  } catch {
    throw new DatabaseArtifactError("the database's metadata.json is not JSON");
  }
  if (raw.Version !== DATABASE_SCHEMA_VERSION) {
    throw new DatabaseArtifactError(
      `the database's schema is ${String(raw.Version)}; Trivy reads schema ${DATABASE_SCHEMA_VERSION}`,
    );
  }
  const date = (value: unknown, field: string): Date => {
    const parsed = typeof value === "string" ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(parsed.getTime())) throw new DatabaseArtifactError(`the database's metadata.json has no ${field}`);
    return parsed;
  };
  return { digest, updatedAt: date(raw.UpdatedAt, "UpdatedAt"), nextUpdate: date(raw.NextUpdate, "NextUpdate") };
}
