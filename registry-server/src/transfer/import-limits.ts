// How much an import may make the server read and write, and the refusals when an archive asks
// for more. An archive is a hostile input: a 3 MiB gzip can expand to gigabytes, and a tar header
// can declare a 1 GiB index.json. So:
//   - metadata files (index.json, manifest.json, oci-layout, airlock-bundle.json, `repositories`,
//     a manifest under blobs/ once index.json names it) larger than the manifest limit are
//     refused from their header, before a byte of them is read; `docker save` configs (other
//     top-level *.json) above 16 MiB likewise;
//   - the archive, as decompressed, is at most `maxImportBytes` (limits.maxImportBytes): counted
//     as it streams, and an entry whose header would take it past is refused at the header;
//   - what the import writes to storage (staged parts, stored blobs) is at most what the project's
//     quota has left when the import starts, reserved by each entry's declared size before it is
//     written. Staged parts count although some may be dropped at the end: they are on disk.
// Layers are stored as they come (compressed or not, never expanded): only the archive's own tar
// stream and a gzip wrapper around the whole archive can expand, and both pass through here.

import { quotaExceededMessage } from "../content/quota-policy.ts";
import { INDEX_FILE, OCI_LAYOUT_FILE, BUNDLE_FILE } from "./bundle-format.ts";
import { DOCKER_MANIFEST_FILE } from "./docker-archive.ts";
import { MAX_MANIFEST_BYTES, PlanError } from "./archive-types.ts";

/** `docker save` configs (top-level *.json) larger than this are refused (the planner reads at most this). */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export interface ImportLimits {
  /** Bytes of the archive after decompression, and of the body as sent. */
  readonly maxImportBytes: number;
}

/** A metadata entry larger than any registry or planner takes: the archive is refused (413). */
export class OversizedEntryError extends PlanError {
  override name = "OversizedEntryError";
  constructor(entry: string, size: number, limit: number) {
    super(`${entry} is ${formatBytes(size)}, more than the ${formatBytes(limit)} an image archive's metadata may be`);
  }
}

/** The archive is larger than the server takes in one import (413). */
export class ImportTooLargeError extends Error {
  override name = "ImportTooLargeError";
  constructor(limit: number, what = "the archive") {
    super(
      `${what} is larger than the ${formatBytes(limit)} this registry takes in one import ` +
        "(limits.maxImportBytes): split it into several bundles",
    );
  }
}

/** Storing the archive would take the project over its quota (403, Harbor's wording). */
export class ImportOverQuotaError extends Error {
  override name = "ImportOverQuotaError";
  constructor(adding: number, used: number, limit: number) {
    super(quotaExceededMessage(adding, used, limit));
  }
}

export function formatBytes(bytes: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB"];
  if (bytes < 1024) return `${bytes} bytes`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

const MANIFEST_SIZED = new Set([INDEX_FILE, OCI_LAYOUT_FILE, BUNDLE_FILE, DOCKER_MANIFEST_FILE, "repositories"]);

/** The most a top-level entry of this name may be, or undefined when it is no metadata file. */
export function metadataLimit(name: string): number | undefined {
  if (MANIFEST_SIZED.has(name)) return MAX_MANIFEST_BYTES;
  if (/^[^/]+\.json$/.test(name)) return MAX_CONFIG_BYTES;
  return undefined;
}

/** Refuses an entry larger than `limit`. */
export function checkEntrySize(name: string, size: number, limit: number | undefined): void {
  if (limit !== undefined && size > limit) throw new OversizedEntryError(name, size, limit);
}

/**
 * One import's budget: bytes read from the (decompressed) archive, bytes written to storage.
 * `quota` is undefined when the project has none.
 */
export class ImportBudget {
  private readonly maxRead: number;
  private readonly quota: { limit: number; used: number } | undefined;
  /** Bytes of the archive's stream so far: headers, bodies, padding. */
  read = 0;
  /** Bytes the entries so far declare in their headers. */
  declared = 0;
  written = 0;

  constructor(maxRead: number, quota?: { limit: number; used: number }) {
    this.maxRead = maxRead;
    this.quota = quota;
  }

  /** Counts bytes of the archive as they stream in. */
  count(bytes: number): void {
    this.read += bytes;
    if (this.read > this.maxRead) throw new ImportTooLargeError(this.maxRead);
  }

  /** Adds an entry's declared size: refused, before it is read, when it takes the archive past the limit. */
  declare(bytes: number): void {
    this.declared += bytes;
    if (this.declared > this.maxRead) throw new ImportTooLargeError(this.maxRead);
  }

  /** Reserves room for `bytes` about to be written; refuses beyond the project's quota. */
  reserve(bytes: number): void {
    if (this.quota && this.quota.used + this.written + bytes > this.quota.limit) {
      throw new ImportOverQuotaError(bytes, this.quota.used + this.written, this.quota.limit);
    }
    this.written += bytes;
  }

  /** The archive's bytes, counted; a source that goes past the limit fails. */
  async *meter(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      this.count(chunk.length);
      yield chunk;
    }
  }
}
