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

import { constants as fsConstants } from "node:fs";
import { access, statfs } from "node:fs/promises";
import type { ComponentHealth, HealthCheck } from "../health-check.ts";
import type { StorageFullError } from "./storage-driver.ts";

/** Room that must come back, beyond what was left after the failure, before the disk counts as usable. */
export const RECOVERY_MARGIN_BYTES = 1024 * 1024;

interface FullSince {
  readonly reason: string;
  /** Bytes available right after the failed write gave its space back; undefined until measured. */
  availableAfter: number | undefined;
}

export class FilesystemSpace {
  readonly #dataDir: string;
  readonly #storageRoot: string;
  #full: FullSince | undefined;

  /** `dataDir` must stay writable; `storageRoot` is where blobs are written (usually inside it). */
  constructor(dataDir: string, storageRoot: string) {
    this.#dataDir = dataDir;
    this.#storageRoot = storageRoot;
  }

  /** The driver's `onFull`: a write found no room. */
  readonly noteFull = (error: StorageFullError): void => {
    const full: FullSince = { reason: error.reason, availableAfter: undefined };
    this.#full = full;
    void available(this.#storageRoot).then(
      (bytes) => (full.availableAfter = bytes),
      () => undefined,
    );
  };

  readonly check: HealthCheck = async (): Promise<ComponentHealth> => {
    try {
      await access(this.#dataDir, fsConstants.W_OK);
      const left = Math.min(await available(this.#dataDir), await available(this.#storageRoot));
      if (left === 0) return unhealthy("no space left (ENOSPC)");
      const full = this.#full;
      if (full) {
        // Not measured yet (the failure was a moment ago): still full.
        if (full.availableAfter === undefined || left < full.availableAfter + RECOVERY_MARGIN_BYTES) {
          return unhealthy(full.reason);
        }
        if (this.#full === full) this.#full = undefined;
      }
      return { name: "storage", status: "healthy" };
    } catch (err) {
      return unhealthy((err as NodeJS.ErrnoException).code ?? "unavailable");
    }
  };
}

function unhealthy(error: string): ComponentHealth {
  return { name: "storage", status: "unhealthy", error };
}

/** Bytes a writer without privileges may still use on the filesystem holding `path`. */
async function available(path: string): Promise<number> {
  const stats = await statfs(path);
  return stats.bavail * stats.bsize;
}
