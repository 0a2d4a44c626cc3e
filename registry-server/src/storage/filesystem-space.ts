// Whether the filesystem under the data directory can take writes: the "storage" component of
// /api/v2.0/health for the filesystem driver. A writable directory is not enough (a full disk
// still passes access(W_OK)), so the check also looks for room, two ways:
// - statfs: no byte left for the server at all (blobs, the SQLite database, anything);
// - a blob write that failed for lack of room (the driver reports it): the disk counts as full
//   from then until more room than was left right after that failure comes back (someone deleted
//   something, the volume grew), by at least RECOVERY_MARGIN_BYTES. Free space alone cannot say
//   it: after the failure the partial file is gone and a little room is back, yet the same push
//   would fail again.
// Writes that succeed do not clear it (small configs fit where layers do not); statfs does, as
// soon as the room is back, without waiting for a push.
//
// The failure is recorded in a small file of the data directory (MARKER), written in place over
// bytes allocated when the server starts, so that recording it takes no free space: every worker
// process reads the same state (a probe may reach any of them), and a server restarted on a
// full disk still knows.

import { constants as fsConstants } from "node:fs";
import { access, open, statfs } from "node:fs/promises";
import * as path from "node:path";
import type { ComponentHealth, HealthCheck } from "../health-check.ts";
import type { StorageFullError } from "./storage-driver.ts";

/** Room that must come back, beyond what was left after the failure, before the disk counts as usable. */
export const RECOVERY_MARGIN_BYTES = 1024 * 1024;
/** The record's file in the data directory, and its fixed size. */
export const MARKER = "storage-space";
const RECORD_BYTES = 256;

interface FullRecord {
  readonly reason: string;
  /** Bytes available right after the failed write gave its space back. */
  readonly availableAfter: number;
}

export class FilesystemSpace {
  readonly #dataDir: string;
  readonly #storageRoot: string;
  readonly #marker: string;

  private constructor(dataDir: string, storageRoot: string) {
    this.#dataDir = dataDir;
    this.#storageRoot = storageRoot;
    this.#marker = path.join(dataDir, MARKER);
  }

  /**
   * `dataDir` must stay writable; `storageRoot` is where blobs are written (usually inside it).
   * Creates the record when missing (another worker may just have).
   */
  static async open(dataDir: string, storageRoot: string): Promise<FilesystemSpace> {
    const space = new FilesystemSpace(dataDir, storageRoot);
    try {
      const handle = await open(space.#marker, "wx", 0o600);
      try {
        await handle.write(encode(undefined), 0, RECORD_BYTES, 0);
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    return space;
  }

  /**
   * The driver's `onFull`: a write found no room; recorded before the client is answered, so that
   * health says so at once. Best effort: the health check has statfs too.
   */
  readonly noteFull = async (error: StorageFullError): Promise<void> => {
    try {
      await this.#record({ reason: error.reason, availableAfter: await available(this.#storageRoot) });
    } catch {
      // The record is missing or unwritable: statfs alone will tell.
    }
  };

  readonly check: HealthCheck = async (): Promise<ComponentHealth> => {
    try {
      await access(this.#dataDir, fsConstants.W_OK);
      const left = Math.min(await available(this.#dataDir), await available(this.#storageRoot));
      if (left === 0) return unhealthy("no space left (ENOSPC)");
      const full = await this.#read();
      if (full) {
        if (left < full.availableAfter + RECOVERY_MARGIN_BYTES) return unhealthy(full.reason);
        await this.#record(undefined);
      }
      return { name: "storage", status: "healthy" };
    } catch (err) {
      return unhealthy((err as NodeJS.ErrnoException).code ?? "unavailable");
    }
  };

  async #read(): Promise<FullRecord | undefined> {
    let handle;
    try {
      handle = await open(this.#marker, "r");
    } catch (error) {
      // Removed by hand: nothing recorded (the next failure writes it again).
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    try {
      const buffer = Buffer.alloc(RECORD_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, RECORD_BYTES, 0);
      const parsed = JSON.parse(buffer.subarray(0, bytesRead).toString("utf8").trim() || "{}") as Partial<FullRecord>;
      return typeof parsed.reason === "string" && typeof parsed.availableAfter === "number"
        ? { reason: parsed.reason, availableAfter: parsed.availableAfter }
        : undefined;
    } catch {
      // Caught halfway through another worker's write: read as nothing recorded, this once.
      return undefined;
    } finally {
      await handle.close();
    }
  }

  /** Overwrites the record in place: no new block, so it works on a full disk. */
  async #record(full: FullRecord | undefined): Promise<void> {
    const handle = await open(this.#marker, "r+").catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return open(this.#marker, "w", 0o600);
      throw error;
    });
    try {
      await handle.write(encode(full), 0, RECORD_BYTES, 0);
    } finally {
      await handle.close();
    }
  }
}

function encode(full: FullRecord | undefined): Buffer {
  const record = Buffer.alloc(RECORD_BYTES, " ");
  record.write(JSON.stringify(full ?? {}).slice(0, RECORD_BYTES - 1), "utf8");
  record[RECORD_BYTES - 1] = 0x0a;
  return record;
}

function unhealthy(error: string): ComponentHealth {
  return { name: "storage", status: "unhealthy", error };
}

/** Bytes a writer without privileges may still use on the filesystem holding `path`. */
async function available(directory: string): Promise<number> {
  const stats = await statfs(directory);
  return stats.bavail * stats.bsize;
}
