// Reads artifact configs (small JSON blobs: an image's architecture, OS, history) for the
// management API, which shows what they hold in every artifact listing. A config is addressed by
// its digest, so what was read once is kept, by digest, in a small least-recently-used cache:
// a listing page of images that share configs reads storage once. Reads are bounded: a blob
// posing as a config cannot make the server hold more than `maxBytes` of it.

import type { BlobStore } from "./blob-store.ts";

export interface ConfigReaderOptions {
  /** Configs larger than this are not read (undefined is returned). */
  readonly maxBytes: number;
  /** The cache holds at most this many bytes of configs (as stored). */
  readonly cacheBytes: number;
}

export const DEFAULT_CONFIG_READER_OPTIONS: ConfigReaderOptions = {
  maxBytes: 4 * 1024 * 1024,
  cacheBytes: 32 * 1024 * 1024,
};

interface Entry {
  readonly value: Record<string, unknown>;
  readonly bytes: number;
}

export class ConfigReader {
  private readonly blobs: BlobStore;
  private readonly options: ConfigReaderOptions;
  /** Insertion order is recency: a hit moves its entry to the end. */
  private readonly cache = new Map<string, Entry>();
  private cachedBytes = 0;

  constructor(blobs: BlobStore, options: ConfigReaderOptions = DEFAULT_CONFIG_READER_OPTIONS) {
    this.blobs = blobs;
    this.options = options;
  }

  /**
   * The JSON object a blob of the repository holds; undefined when the repository does not hold
   * the blob, it is too large, or it is not a JSON object.
   */
  async read(repository: string, digest: string): Promise<Record<string, unknown> | undefined> {
    // Checked every time: the cache is shared by every repository, the permission is not.
    const blob = await this.blobs.stat(repository, digest);
    if (!blob || blob.size > this.options.maxBytes) return undefined;
    const cached = this.cache.get(digest);
    if (cached) {
      this.cache.delete(digest);
      this.cache.set(digest, cached);
      return cached.value;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of await this.blobs.open(blob)) {
      size += (chunk as Buffer).length;
      // The record's size is checked above; this guards against storage holding something else.
      if (size > this.options.maxBytes) return undefined;
      chunks.push(chunk as Buffer);
    }
    let value: unknown;
    try {
      value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return undefined;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    this.remember(digest, { value: value as Record<string, unknown>, bytes: size });
    return value as Record<string, unknown>;
  }

  private remember(digest: string, entry: Entry): void {
    if (entry.bytes > this.options.cacheBytes / 4) return;
    this.cache.set(digest, entry);
    this.cachedBytes += entry.bytes;
    for (const [oldest, old] of this.cache) {
      if (this.cachedBytes <= this.options.cacheBytes) break;
      this.cache.delete(oldest);
      this.cachedBytes -= old.bytes;
    }
  }
}
