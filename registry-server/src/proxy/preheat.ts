// Preheat: pulls a list of images into a proxy-cache project ahead of time, so that the first pull
// by a cluster node is a cache hit and an upstream outage the next day costs nothing. Each image
// is fetched as a client would pull it (the manifest by tag, every platform of an index or the
// ones asked for, then every config and layer), with retries; a job reports progress per image
// and ends with a summary of what was fetched, what was already there and what failed.
//
// Jobs run in the background, a few images at a time, and are kept in memory (the last ones per
// project) for their status to be read.

import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Reference } from "../content/manifest-service.ts";
import { parseReference } from "../content/manifest-service.ts";
import { parseManifest, type Descriptor } from "../content/manifest-parser.ts";
import { isValidRepositoryName } from "../content/names.ts";
import { RegistryError } from "../http/errors.ts";
import type { Logger } from "../logger.ts";
import type { ProxyProjects, ProxyTarget } from "./proxy-projects.ts";
import type { PullThroughBlobs } from "./pull-through-blobs.ts";
import type { PullThroughManifests } from "./pull-through-manifests.ts";

export interface PreheatRequest {
  /** Upstream names: `library/nginx:1.25`, `prometheus/prometheus@sha256:…` (tag `latest` if none). */
  readonly images: readonly string[];
  /** `os/architecture[/variant]` of an index to fetch; all of them when empty. */
  readonly platforms: readonly string[];
}

export type PreheatItemStatus = "pending" | "running" | "fetched" | "present" | "failed";

export interface PreheatItem {
  readonly image: string;
  status: PreheatItemStatus;
  /** The digest the reference resolved to. */
  digest?: string;
  /** Manifests and blobs the image is made of (for the platforms asked). */
  manifests: number;
  blobs: number;
  /** Bytes fetched from the upstream for this image (not those already cached). */
  bytesFetched: number;
  attempts: number;
  error?: string;
}

export interface PreheatJob {
  readonly id: string;
  readonly project: string;
  status: "running" | "succeeded" | "partial" | "failed";
  readonly items: PreheatItem[];
  readonly createdAt: Date;
  finishedAt?: Date;
}

export interface PreheatOptions {
  /** Images fetched at once. */
  readonly concurrency: number;
  /** Attempts per image before it is reported failed. */
  readonly attempts: number;
  /** First wait between attempts; doubled each time. */
  readonly retryDelayMs: number;
  /** Finished jobs kept per project for their status to be read. */
  readonly keepJobs: number;
}

const DEFAULTS: PreheatOptions = { concurrency: 2, attempts: 3, retryDelayMs: 1000, keepJobs: 20 };

/** Splits `name[:tag|@digest]` and validates both parts, with the message a user can act on. */
export function parseImage(image: string): { repository: string; reference: Reference } {
  const at = image.indexOf("@");
  let name = image;
  let reference = "latest";
  if (at >= 0) {
    name = image.slice(0, at);
    reference = image.slice(at + 1);
  } else {
    const colon = image.lastIndexOf(":");
    if (colon > image.lastIndexOf("/")) {
      name = image.slice(0, colon);
      reference = image.slice(colon + 1);
    }
  }
  const first = name.split("/")[0] ?? "";
  if (first.includes(".") || first.includes(":") || first === "localhost") {
    throw new RegistryError(
      "NAME_INVALID",
      `${image}: give the name as the upstream knows it, without a registry host (${first})`,
    );
  }
  if (!isValidRepositoryName(name)) throw new RegistryError("NAME_INVALID", `${image}: invalid repository name`);
  return { repository: name, reference: parseReference(reference) };
}

export class Preheater {
  private readonly projects: ProxyProjects;
  private readonly manifests: PullThroughManifests;
  private readonly blobs: PullThroughBlobs;
  private readonly log: Logger;
  private readonly options: PreheatOptions;
  private readonly jobs = new Map<string, PreheatJob>();
  private readonly running = new Set<Promise<PreheatJob>>();
  private closing = false;

  constructor(
    deps: { projects: ProxyProjects; manifests: PullThroughManifests; blobs: PullThroughBlobs; log: Logger },
    options: Partial<PreheatOptions> = {},
  ) {
    this.projects = deps.projects;
    this.manifests = deps.manifests;
    this.blobs = deps.blobs;
    this.log = deps.log;
    this.options = { ...DEFAULTS, ...options };
  }

  /**
   * Starts a job; images that cannot be parsed are refused before anything runs.
   * @returns the job, running; `done` settles when it has finished
   */
  start(project: string, request: PreheatRequest): { job: PreheatJob; done: Promise<PreheatJob> } {
    const parsed = request.images.map((image) => ({ image, ...parseImage(image) }));
    const job: PreheatJob = {
      id: randomUUID(),
      project,
      status: "running",
      items: parsed.map(({ image }) => ({
        image,
        status: "pending",
        manifests: 0,
        blobs: 0,
        bytesFetched: 0,
        attempts: 0,
      })),
      createdAt: new Date(),
    };
    this.jobs.set(job.id, job);
    this.forgetOldJobs(project);
    if (this.closing) throw new RegistryError("UNAVAILABLE", "the registry is shutting down");
    const done = this.run(job, parsed, request.platforms);
    this.running.add(done);
    void done.finally(() => this.running.delete(done)).catch(() => {});
    done.catch((err: unknown) => {
      job.status = "failed";
      job.finishedAt = new Date();
      this.log.error({ err, job: job.id }, "preheat job crashed");
    });
    return { job, done };
  }

  /** Starts no more images; resolves when running jobs have stopped (their images in flight end). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.running]);
  }

  get(id: string): PreheatJob | undefined {
    return this.jobs.get(id);
  }

  /** The project's jobs, newest first. */
  list(project: string): PreheatJob[] {
    return [...this.jobs.values()].filter((j) => j.project === project).reverse();
  }

  private async run(
    job: PreheatJob,
    images: ReadonlyArray<{ repository: string; reference: Reference }>,
    platforms: readonly string[],
  ): Promise<PreheatJob> {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let index = next++; index < images.length && !this.closing; index = next++) {
        const item = job.items[index];
        const image = images[index];
        if (item && image) await this.fetchWithRetries(job.project, item, image, platforms);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, images.length) }, worker));
    for (const item of job.items) {
      if (item.status !== "pending") continue;
      item.status = "failed";
      item.error = "not started: the registry shut down";
    }
    const failed = job.items.filter((i) => i.status === "failed").length;
    job.status = failed === 0 ? "succeeded" : failed === job.items.length ? "failed" : "partial";
    job.finishedAt = new Date();
    this.log.info(
      {
        job: job.id,
        project: job.project,
        status: job.status,
        fetched: job.items.filter((i) => i.status === "fetched").length,
        present: job.items.filter((i) => i.status === "present").length,
        failed,
      },
      "preheat finished",
    );
    return job;
  }

  private async fetchWithRetries(
    project: string,
    item: PreheatItem,
    image: { repository: string; reference: Reference },
    platforms: readonly string[],
  ): Promise<void> {
    item.status = "running";
    for (let attempt = 1; attempt <= this.options.attempts; attempt++) {
      item.attempts = attempt;
      try {
        const target = await this.projects.target(`${project}/${image.repository}`);
        if (!target) throw new RegistryError("DENIED", `${project} is not a proxy-cache project`);
        await this.fetchImage(target, `${project}/${image.repository}`, image.reference, platforms, item);
        item.status = item.bytesFetched > 0 ? "fetched" : "present";
        delete item.error;
        return;
      } catch (err) {
        item.error = (err as Error).message;
        // What the upstream says does not exist will not appear by asking again.
        const final =
          err instanceof RegistryError &&
          ["MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_INVALID", "DENIED"].includes(err.code);
        this.log.warn({ project, image: item.image, attempt, error: item.error }, "preheat attempt failed");
        if (final || attempt === this.options.attempts) break;
        await sleep(this.options.retryDelayMs * 2 ** (attempt - 1));
      }
    }
    item.status = "failed";
  }

  /** Pulls an image as a client would: its manifest(s), then every blob, into the cache. */
  private async fetchImage(
    target: ProxyTarget,
    repository: string,
    reference: Reference,
    platforms: readonly string[],
    item: PreheatItem,
  ): Promise<void> {
    const top = await this.manifests.get(target, repository, reference);
    item.digest = top.record.digest;
    item.manifests = 1;
    item.blobs = 0;
    const parsed = parseManifest(top.content, top.record.mediaType);
    const images = [];
    if (parsed.kind === "index") {
      for (const child of parsed.children) {
        if (!wantedPlatform(child, platforms)) continue;
        const digest = parseReference(child.digest);
        if (digest.kind !== "digest") continue;
        const stored = await this.manifests.byDigest(target, repository, digest.digest);
        item.manifests++;
        images.push(parseManifest(stored.content, stored.record.mediaType));
      }
    } else {
      images.push(parsed);
    }
    for (const manifest of images) {
      for (const blob of manifest.blobs) {
        if (blob.urls && blob.urls.length > 0) continue; // foreign layers are not ours to fetch
        const cached = await this.blobs.isCached(repository, blob.digest);
        await this.blobs.get(target, repository, blob.digest, "head");
        item.blobs++;
        if (!cached) item.bytesFetched += blob.size;
      }
    }
  }

  private forgetOldJobs(project: string): void {
    const finished = [...this.jobs.values()].filter((j) => j.project === project && j.status !== "running");
    for (const job of finished.slice(0, Math.max(0, finished.length - this.options.keepJobs))) this.jobs.delete(job.id);
  }
}

function wantedPlatform(child: Descriptor, platforms: readonly string[]): boolean {
  if (platforms.length === 0) return true;
  const platform = child.platform;
  if (!platform) return false;
  const name = [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/");
  return platforms.some((wanted) => wanted === name || wanted === `${platform.os}/${platform.architecture}`);
}
